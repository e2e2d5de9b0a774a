"""Configuration from the environment and flags."""
from gwtest import SECRET, run


def test_environment_settings(gateway):
    gw = gateway(env={"GW_NODE_ID": "env-node", "GW_HEARTBEAT_INTERVAL": "9"},
                 node_id=None)

    async def body():
        a = await gw.join("chess", "alice")
        assert a.welcome["node"] == "env-node", a.welcome
        assert a.welcome["heartbeat_interval"] == 9, a.welcome
    run(body())


def test_flags_override_environment(gateway):
    gw = gateway(env={"GW_HEARTBEAT_INTERVAL": "9"}, heartbeat_interval=4)

    async def body():
        a = await gw.join("chess", "alice")
        assert a.welcome["heartbeat_interval"] == 4, a.welcome
    run(body())


def test_secret_from_environment(gateway):
    gw = gateway(env={"GW_JWT_SECRET": SECRET}, jwt_secret=None)

    async def body():
        await gw.join("chess", "alice")
    run(body())


def test_bad_value_stops_startup(gateway):
    gw = gateway(max_per_lobby="lots", wait=False)
    gw.expect_failure = True
    rc = gw.wait_exit(10)
    assert rc not in (None, 0), f"started with --max-per-lobby=lots ({rc})"
    assert "max-per-lobby" in gw.log_text() or \
        "max_per_lobby" in gw.log_text(), gw.log_tail()
