"""Structured logs: connect / disconnect / reject lines (logfmt)."""
from gwtest import run


def test_connect_disconnect_reject_lines(gateway):
    gw = gateway(log_format="logfmt", max_per_lobby=1)

    async def body():
        a = await gw.join("chess", "alice")
        cid = a.welcome["connection_id"]
        con = await gw.wait_log(
            lambda r: r.get("event") == "connect" and cid in r.values(),
            what=f"event=connect line with {cid}")
        assert con.get("user") == "alice", con["_line"]
        assert con.get("lobby") == "chess", con["_line"]
        id_key = next(k for k, v in con.items() if v == cid)

        await gw.expect_rejected(4002, "lobby_full", lobby="chess",
                                 user="bob")
        rej = await gw.wait_log(
            lambda r: r.get("event") == "reject" and r.get("user") == "bob",
            what="event=reject line with user=bob")
        assert rej.get("lobby") == "chess", rej["_line"]
        assert rej.get(id_key), \
            f"reject line has no {id_key}=: {rej['_line']}"

        await a.close()
        dis = await gw.wait_log(
            lambda r: r.get("event") == "disconnect" and cid in r.values(),
            what=f"event=disconnect line with {cid}")
        assert dis.get("user") == "alice", dis["_line"]
        assert dis.get("lobby") == "chess", dis["_line"]
        assert dis.get(id_key) == cid, dis["_line"]
    run(body())


def test_user_value_cannot_forge_log_fields(gateway):
    """A user id with spaces and '=' is quoted, not split into fields."""
    gw = gateway(log_format="logfmt")
    user = "eve lobby=admin event=forged"

    async def body():
        a = await gw.join("chess", user)
        cid = a.welcome["connection_id"]
        con = await gw.wait_log(
            lambda r: r.get("event") == "connect" and cid in r.values(),
            what="the connect line")
        assert con.get("user") == user and con.get("lobby") == "chess", \
            con["_line"]
    run(body())
