"""Configuration from the environment and flags."""
import gwtest
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


def test_dev_tokens_refused_on_non_loopback_listen(gateway, tmp_path):
    """--dev-tokens mints a token for any user: on an address other hosts
    can reach it must be forced explicitly."""
    gw = gateway(dev_tokens=True, wait=False,
                 extra_args=["--listen=0.0.0.0:" + str(gwtest.free_port())])
    gw.expect_failure = True
    rc = gw.wait_exit(10)
    assert rc not in (None, 0), "started --dev-tokens on 0.0.0.0"
    text = gw.log_text()
    assert "--dev-tokens-any-address" in text and "--dev-tokens" in text, \
        gw.log_tail()
    # Forced: it starts (and serves tokens).
    gw = gateway(dev_tokens=True, dev_tokens_any_address=True,
                 extra_args=["--listen=0.0.0.0:" + str(gwtest.free_port())],
                 wait=False)
    gw.port = int(gw.argv()[-1].rsplit(":", 1)[1])
    gw.wait_ready()
    status, _, body = gw.http_get("/dev/token?user=dana")
    assert status == 200 and b"token" in body, (status, body)


def test_dev_tokens_on_loopback_listen(gateway):
    gw = gateway(dev_tokens=True)  # 127.0.0.1
    status, _, _ = gw.http_get("/dev/token?user=dana")
    assert status == 200
