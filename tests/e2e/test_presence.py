"""presence_join / presence_leave events."""
from gwtest import run, subset

NOPING = ("health_ping",)


def test_join_and_leave_events(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        j = await a.recv_json("presence_join")
        subset(j, lobby="chess", user="bob", connection_id=b.conn_id)
        # The joiner gets no event about itself (nor, per the contract,
        # about members already there): its next message is the reply.
        await b.send_json({"type": "presence"})
        nxt = await b.recv_json(skip=NOPING)
        assert nxt["type"] == "presence", f"bob got {nxt} first"
        await b.close()
        lv = await a.recv_json("presence_leave")
        subset(lv, lobby="chess", user="bob", connection_id=b.conn_id,
               reason="closed")
    run(body())


def test_events_stay_in_lobby(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        c = await gw.join("go", "carol")
        b = await gw.join("chess", "bob")
        await b.close()
        await a.recv_json("presence_leave")  # bob's leave reached chess
        await a.direct("carol", "marker")
        nxt = await c.recv_json(skip=NOPING)
        assert nxt["type"] == "direct", f"carol (go) received {nxt}"
    run(body())


def test_abrupt_disconnect_leave_reason_closed(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        r = await gw.raw("chess", "bob")
        await a.recv_json("presence_join")
        r.abort()
        lv = await a.recv_json("presence_leave")
        subset(lv, user="bob", connection_id=r.welcome["connection_id"],
               reason="closed")
    run(body())


def test_presence_events_disabled(gateway):
    gw = gateway(presence_events=False)

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await b.broadcast("hello")
        nxt = await a.recv_json(skip=NOPING)
        assert nxt["type"] == "message", f"alice got {nxt} (join event?)"
        await b.close()
        c = await gw.join("chess", "carol")
        await c.broadcast("hi")
        nxt = await a.recv_json(skip=NOPING)
        assert nxt["type"] == "message" and nxt["from"] == "carol", \
            f"alice got {nxt} (leave/join event?)"
        # presence requests still work
        p = await a.presence()
        assert sorted(p["users"]) == ["alice", "carol"], p
    run(body())


def test_presence_list_drops_leaver(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await b.close()
        await a.recv_json("presence_leave")
        p = await a.presence()
        assert p["users"] == ["alice"] and p["count"] == 1, p
    run(body())
