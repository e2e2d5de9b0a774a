"""Server-Sent Events: GET /sse/LOBBY, a receive-only member.

An SSE member is admitted, counted and announced like a WebSocket member,
receives the same frames (one `data:` line each), gets `: ping` comments,
is closed as a slow consumer by the same queue bounds, and is refused with
the WebSocket close code and reason as an HTTP status and a JSON body
(docs/protocol.md).
"""
import asyncio
import signal

import pytest

from cluster import RedisServer, start_nodes
from gwtest import run, subset
from sse_client import SSE


@pytest.fixture
def redis(request, tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


def test_sse_receives_and_is_a_member(gateway):
    gw = gateway()

    async def body():
        alice = await gw.join("chess", "alice")
        sse = await SSE.open(gw, "chess", "bob", via="header")
        assert sse.status == 200
        assert sse.headers["content-type"] == "text/event-stream"
        subset(sse.welcome, user="bob", lobby="chess")
        bob_id = sse.welcome["connection_id"]
        j = await alice.recv_json("presence_join")
        subset(j, user="bob", connection_id=bob_id)
        # Counted like any member.
        assert gw.http_json("/stats")["total"] == 2
        await alice.broadcast({"hello": "line\nbreak"})
        m = await sse.recv_json("message")
        subset(m, lobby="chess", data={"hello": "line\nbreak"})
        # Gone when the client goes.
        sse.writer.close()
        lv = await alice.recv_json("presence_leave")
        subset(lv, user="bob", connection_id=bob_id)
    run(body())


def test_sse_refusals_match_websocket(gateway):
    gw = gateway(max_per_lobby=1)

    async def body():
        r = await SSE.open(gw, "chess", None, token="not.a.jwt")
        assert (r.status, r.body) == (401, {"code": 4001, "reason": "unauthorized"})
        assert r.headers.get("www-authenticate") == "Bearer"
        r = await SSE.open(gw, "chess", None)
        assert (r.status, r.body) == (401, {"code": 4001, "reason": "unauthorized"})
        r = await SSE.open(gw, "bad lobby!", "bob", path="/sse/bad%20lobby")
        assert (r.status, r.body) == (400, {"code": 4000, "reason": "bad_lobby"})
        r = await SSE.open(gw, "chess", "bob", headers=[("Last-Event-ID", "12x")])
        assert (r.status, r.body) == (400, {"code": 4010, "reason": "bad_request"})
        await gw.join("chess", "alice")
        r = await SSE.open(gw, "chess", "bob")
        assert (r.status, r.body) == (503, {"code": 4002, "reason": "lobby_full"})
        # The same verdict a WebSocket gets.
        await gw.expect_rejected(4002, "lobby_full", "chess", "carol")
        # A readable Last-Event-ID is accepted (history resumes from it).
        ok = await SSE.open(gw, "other", "dave",
                            headers=[("Last-Event-ID", "18446744073709551615")])
        assert ok.status == 200
    run(body())


def test_sse_heartbeat_comment(gateway):
    gw = gateway(heartbeat_interval=1)

    async def body():
        sse = await SSE.open(gw, "chess", "bob")
        while True:
            kind, ev = await sse.next(timeout=5)
            assert kind != "eof"
            if kind == "comment":
                assert ev == "ping"
                break
        # No JSON health_ping for a member that cannot answer it.
        assert kind == "comment"
    run(body())


def test_sse_slow_consumer_closed(gateway):
    gw = gateway(send_queue_max=50, send_queue_bytes=200000,
                 rate_limit=100000, rate_burst=100000,
                 rate_bytes=1 << 30, rate_bytes_burst=1 << 30)
    pad = "x" * 3000

    async def body():
        alice = await gw.join("flood", "alice")
        slow = await SSE.open(gw, "flood", "slow", rcvbuf=4096)
        slow_id = slow.welcome["connection_id"]
        await alice.recv_json("presence_join")
        dropped = asyncio.get_running_loop().create_future()

        async def watch():
            while True:
                m = await alice.recv_json(type=None, timeout=60)
                if m.get("type") == "presence_leave" and \
                        m.get("connection_id") == slow_id:
                    dropped.set_result(m)
                    return

        task = asyncio.ensure_future(watch())
        sent = 0
        while sent < 5000 and not dropped.done():
            await alice.broadcast({"i": sent, "pad": pad})
            sent += 1
            await asyncio.sleep(0)
        lv = await asyncio.wait_for(asyncio.shield(dropped), 10)
        subset(lv, user="slow", reason="slow_consumer")
        task.cancel()
        assert gw.http_json("/stats")["slow_consumer_closes"] == 1
        # The stream ends (after what the socket held), saying why.
        closing = await slow.until_close(timeout=20)
        assert closing in (None, {"code": 4007, "reason": "slow_consumer"})
    run(body(), timeout=60)


def test_sse_stream_ends_on_drain(gateway):
    gw = gateway()

    async def body():
        sse = await SSE.open(gw, "chess", "bob")
        gw.send_signal(signal.SIGTERM)
        closing = await sse.until_close(timeout=10)
        assert closing == {"code": 1001, "reason": "going_away"}
    run(body())
    assert gw.wait_exit(10) == 0


def test_sse_cluster_receives_from_other_node(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2)

    async def body():
        sse = await SSE.open(n1, "chess", "bob")
        alice = await n2.join("chess", "alice")
        # Admitted through Redis: the cluster counts it.
        assert redis.cmd("HLEN", "{gw}:lobby:chess") == 2
        await alice.broadcast("from n2")
        m = await sse.recv_json("message")
        subset(m, data="from n2", **{"from": "alice"})
        # Cluster admission refuses it as it refuses a WebSocket.
    run(body())
