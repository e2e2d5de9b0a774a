"""--user-policy: replace (default), reject, multi (+ --max-per-user)."""
from gwtest import run, subset


def test_replace_is_default(gateway):
    gw = gateway()  # no --user-policy

    async def body():
        a1 = await gw.join("chess", "alice")
        a2 = await gw.join("chess", "alice")
        assert a2.welcome["user"] == "alice"
        await a1.expect_close(4004, "replaced")
        p = await a2.presence()
        assert p["users"] == ["alice"], p
    run(body())


def test_replace_across_lobbies(gateway):
    gw = gateway(user_policy="replace")

    async def body():
        a1 = await gw.join("chess", "alice")
        a2 = await gw.join("go", "alice")
        await a1.expect_close(4004, "replaced")
        assert a2.welcome["lobby"] == "go"
    run(body())


def test_replace_leave_event_reason(gateway):
    gw = gateway(user_policy="replace")

    async def body():
        b = await gw.join("chess", "bob")
        a1 = await gw.join("chess", "alice")
        await gw.join("chess", "alice")
        await a1.expect_close(4004, "replaced")
        lv = await b.recv_json("presence_leave")
        subset(lv, user="alice", connection_id=a1.conn_id, reason="replaced")
    run(body())


def test_replaced_connection_gets_no_more_messages(gateway):
    gw = gateway(user_policy="replace")

    async def body():
        a1 = await gw.join("chess", "alice")
        a2 = await gw.join("chess", "alice")
        b = await gw.join("go", "bob")
        await b.direct("alice", "for-the-new-one")
        assert (await a2.recv_json("direct"))["data"] == "for-the-new-one"
        got = await a1.expect_close(4004, "replaced")
        assert not [m for m in got if m.get("type") == "direct"], got
    run(body())


def test_reject_policy(gateway):
    gw = gateway(user_policy="reject")

    async def body():
        a1 = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await gw.expect_rejected(4003, "already_connected", lobby="chess",
                                 user="alice")
        await gw.expect_rejected(4003, "already_connected", lobby="go",
                                 user="alice")
        await b.broadcast("still yours")
        m = await a1.recv_json("message")
        assert m["data"] == "still yours"
        p = await a1.presence()
        assert sorted(p["users"]) == ["alice", "bob"], p
    run(body())


def test_reject_policy_allows_reconnect_after_leave(gateway):
    gw = gateway(user_policy="reject")

    async def body():
        a1 = await gw.join("chess", "alice")
        await a1.close()
        await gw.join_eventually("chess", "alice")
    run(body())


def test_multi_policy(gateway):
    gw = gateway(user_policy="multi", max_per_user=3)

    async def body():
        a1 = await gw.join("chess", "alice")
        a2 = await gw.join("go", "alice")
        assert a1.conn_id != a2.conn_id
        b = await gw.join("poker", "bob")
        await b.direct("alice", {"n": 1})
        for a in (a1, a2):
            d = await a.recv_json("direct")
            subset(d, data={"n": 1}, **{"from": "bob"})
    run(body())


def test_multi_presence(gateway):
    gw = gateway(user_policy="multi", max_per_user=3)

    async def body():
        b = await gw.join("chess", "bob")
        a1 = await gw.join("chess", "alice")
        a2 = await gw.join("chess", "alice")
        joins = [await b.recv_json("presence_join") for _ in range(2)]
        assert sorted(j["connection_id"] for j in joins) == \
            sorted([a1.conn_id, a2.conn_id]), joins
        p = await b.presence()
        assert sorted(p["users"]) == ["alice", "bob"], \
            f"users must list each user once: {p}"
        # Both of alice's connections receive broadcasts.
        await b.broadcast("hi")
        for a in (a1, a2):
            assert (await a.recv_json("message"))["data"] == "hi"
    run(body())


def test_multi_max_per_user(gateway):
    gw = gateway(user_policy="multi", max_per_user=2)

    async def body():
        a1 = await gw.join("chess", "alice")
        await gw.join("go", "alice")
        await gw.expect_rejected(4003, "already_connected", lobby="poker",
                                 user="alice")
        await gw.join("poker", "bob")  # others unaffected
        await a1.close()
        await gw.join_eventually("poker", "alice")
    run(body())
