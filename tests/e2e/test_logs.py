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


def test_json_log_format(gateway):
    import json
    gw = gateway(log_format="json")

    async def body():
        a = await gw.join("chess", "alice")
        cid = a.welcome["connection_id"]
        loop_end = 50
        for _ in range(loop_end):
            recs = []
            for line in gw.log_text().splitlines():
                if line.startswith("{"):
                    recs.append(json.loads(line))  # every line valid JSON
            con = [r for r in recs if r.get("event") == "connect"
                   and cid in r.values()]
            if con:
                assert con[0].get("user") == "alice", con[0]
                assert con[0].get("lobby") == "chess", con[0]
                return
            import asyncio
            await asyncio.sleep(0.1)  # polling for the line
        raise AssertionError("no JSON connect line:\n" + gw.log_tail(10))
    run(body())


def test_sighup_reopens_log_file(gateway, tmp_path):
    import os
    import signal
    path = tmp_path / "gw.log"
    gw = gateway(log_file=str(path))

    async def body():
        import asyncio
        await gw.join("chess", "alice")
        os.rename(path, str(path) + ".1")  # logrotate
        gw.send_signal(signal.SIGHUP)
        for _ in range(50):  # SIGHUP handled asynchronously: poll
            if path.exists():
                break
            await asyncio.sleep(0.1)
        assert path.exists(), "log file not recreated after SIGHUP"
        await gw.join("go", "bob")
        for _ in range(50):
            if "user=bob" in path.read_text():
                break
            await asyncio.sleep(0.1)
        assert "user=bob" in path.read_text(), path.read_text()
        assert "user=alice" in open(str(path) + ".1").read()
        assert gw.running(), "gateway died on SIGHUP"
    run(body())
