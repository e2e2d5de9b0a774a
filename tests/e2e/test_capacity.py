"""Admission limits: node, cluster and lobby capacity, and slots freeing
up again."""
from gwtest import run


def test_node_max_connections(gateway):
    gw = gateway(node_max_connections=2)

    async def body():
        await gw.join("chess", "alice")
        await gw.join("go", "bob")
        await gw.expect_rejected(4002, "server_full", lobby="poker",
                                 user="carol")
    run(body())


def test_max_connections(gateway):
    gw = gateway(max_connections=2)

    async def body():
        await gw.join("chess", "alice")
        await gw.join("go", "bob")
        await gw.expect_rejected(4002, "server_full", lobby="poker",
                                 user="carol")
    run(body())


def test_max_per_lobby(gateway):
    gw = gateway(max_per_lobby=2)

    async def body():
        await gw.join("chess", "alice")
        await gw.join("chess", "bob")
        await gw.expect_rejected(4002, "lobby_full", lobby="chess",
                                 user="carol")
        d = await gw.join("go", "dave")
        assert d.welcome["lobby"] == "go"
    run(body())


def test_node_slot_frees_after_leave(gateway):
    gw = gateway(node_max_connections=2)

    async def body():
        a = await gw.join("chess", "alice")
        await gw.join("chess", "bob")
        await gw.expect_rejected(4002, "server_full", user="carol")
        await a.close()
        c = await gw.join_eventually("chess", "carol")
        assert c.welcome["user"] == "carol"
        await gw.expect_rejected(4002, "server_full", user="dave")
    run(body())


def test_lobby_slot_frees_after_leave(gateway):
    gw = gateway(max_per_lobby=2)

    async def body():
        a = await gw.join("chess", "alice")
        await gw.join("chess", "bob")
        await gw.expect_rejected(4002, "lobby_full", user="carol")
        await a.close()
        await gw.join_eventually("chess", "carol")
        await gw.expect_rejected(4002, "lobby_full", user="dave")
    run(body())


def test_rejections_do_not_leak_slots(gateway):
    """Refused connections (bad token, bad lobby, lobby full) must not keep
    a node or lobby slot."""
    gw = gateway(node_max_connections=3, max_per_lobby=2)

    async def body():
        a = await gw.join("chess", "alice")
        await gw.join("chess", "bob")
        for i in range(4):
            await gw.expect_rejected(4002, "lobby_full", user=f"x{i}")
            await gw.expect_rejected(4001, "unauthorized", lobby="go",
                                     token="bogus")
            await gw.expect_rejected(4000, "bad_lobby", path="/ws/a*b",
                                     user=f"y{i}")
        # One node slot is still free, in another lobby.
        await gw.join("go", "carol")
        await gw.expect_rejected(4002, "server_full", lobby="poker",
                                 user="dave")
        await a.close()
        await gw.join_eventually("chess", "erin")
    run(body())


def test_abrupt_disconnect_frees_slot(gateway):
    gw = gateway(node_max_connections=1)

    async def body():
        r = await gw.raw("chess", "alice")
        await gw.expect_rejected(4002, "server_full", user="bob")
        r.abort()  # TCP reset, no close frame
        await gw.join_eventually("chess", "bob")
    run(body())
