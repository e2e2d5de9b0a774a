"""HTTP endpoints on the same port: /healthz, /stats, 404."""
import asyncio
import json

from gwtest import run


def field(stats, key):
    """`key` at the top level or in a nested object (e.g. "counters")."""
    if key in stats:
        return stats[key]
    for v in stats.values():
        if isinstance(v, dict) and key in v:
            return v[key]
    raise AssertionError(f"/stats has no {key!r}: {stats}")


def count(v):
    return len(v) if isinstance(v, (list, dict)) else v


def test_healthz(gateway):
    gw = gateway()
    status, headers, body = gw.http_get("/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok"}, body


def test_json_content_type(gateway):
    gw = gateway()
    for path in ("/healthz", "/stats"):
        status, headers, _ = gw.http_get(path)
        assert status == 200
        assert "application/json" in headers.get("content-type", ""), \
            f"{path}: Content-Type {headers.get('content-type')!r}"


def test_unknown_path_404(gateway):
    gw = gateway()
    for path in ("/nope", "/healthz/extra", "/statsx", "/favicon.ico"):
        status, _, _ = gw.http_get(path)
        assert status == 404, f"GET {path}: {status}"
    # still serving
    assert gw.http_get("/healthz")[0] == 200


def test_stats_consistent(gateway):
    gw = gateway(node_max_connections=10, node_id="stats-node")

    async def wait_stats(pred, what, timeout=5):
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            s = gw.http_json("/stats")
            if pred(s):
                return s
            if loop.time() > end:
                raise AssertionError(f"/stats never showed {what}: {s}")
            await asyncio.sleep(0.05)

    async def body():
        s0 = gw.http_json("/stats")
        assert s0["node"] == "stats-node", s0
        assert s0["total"] == 0 and s0["max"] == 10, s0
        assert count(s0["active_lobbies"]) == 0, s0
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await gw.join("go", "carol")
        await gw.expect_rejected(4001, "unauthorized", token="bad")
        s = gw.http_json("/stats")
        assert s["total"] == 3, s
        assert s["max"] == 10, s
        assert abs(float(s["capacity_percent"]) - 30.0) < 1.0, s
        assert count(s["active_lobbies"]) == 2, s
        assert count(s["users"]) == 3, s
        assert field(s, "admitted") >= 3, s
        assert field(s, "rejected") >= 1, s
        m_in, m_out = field(s, "messages_in"), field(s, "messages_out")
        await a.broadcast("hi")
        await b.recv_json("message")
        s2 = await wait_stats(lambda x: field(x, "messages_in") > m_in,
                              "messages_in growing")
        assert field(s2, "messages_out") > m_out, s2
        await b.close()
        await gw.join("chess", "dave")
        await a.close()
        s3 = await wait_stats(lambda x: x["total"] == 2, "total 2")
        assert count(s3["active_lobbies"]) == 2, s3
        assert abs(float(s3["capacity_percent"]) - 20.0) < 1.0, s3
    run(body())


def test_ws_path_without_upgrade(gateway):
    """A plain GET on /ws/chess is not a crash and not a 200."""
    gw = gateway()
    status, _, _ = gw.http_get("/ws/chess")
    assert status != 200 and 400 <= status < 500, status
    assert gw.http_get("/healthz")[0] == 200
