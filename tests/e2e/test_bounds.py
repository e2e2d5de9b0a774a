"""Size limits, rate limits, slow consumers and fragmentation."""
import asyncio
import json

from api_helpers import start_admin_node
from gwtest import OP_PING, OP_TEXT, Closed, run, subset


def sized(n):
    """A broadcast frame of exactly n bytes."""
    base = '{"type":"broadcast","data":"%s"}'
    pad = n - len(base % "")
    s = base % ("x" * pad)
    assert len(s) == n
    return s


def test_message_too_big_closes_1009(gateway):
    gw = gateway(max_message_size=1024)

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await a.send_raw(sized(1024))  # exactly the limit: fine
        m = await b.recv_json("message")
        assert len(m["data"]) == 1024 - len('{"type":"broadcast","data":""}')
        await a.send_raw(sized(1025))
        await a.expect_close(1009, "message_too_big")
        # The node itself is fine.
        await b.presence()
    run(body())


def test_huge_message_closes_1009(gateway):
    gw = gateway(max_message_size=4096)

    async def body():
        a = await gw.join("chess", "alice")
        try:
            await a.send_raw(sized(300000))
        except Exception:
            pass  # the server may close while we are still writing
        await a.expect_close(1009, "message_too_big")
    run(body())


def test_fragmented_message_reassembled(gateway):
    gw = gateway()

    async def body():
        b = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        await r.send_fragments(['{"type":"broadcast",',
                                '"data":{"parts":[1,',
                                '2,3],"s":"caf\u00e9"}}'])
        m = await b.recv_json("message")
        subset(m, data={"parts": [1, 2, 3], "s": "caf\u00e9"},
               **{"from": "alice"})
    run(body())


def test_fragment_splitting_utf8_sequence(gateway):
    gw = gateway()
    payload = '{"type":"broadcast","data":"\u00e9\u00e9"}'.encode()
    cut = payload.index(b"\xc3") + 1  # inside the first two-byte sequence

    async def body():
        b = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        await r.send_fragments([payload[:cut], payload[cut:]])
        m = await b.recv_json("message")
        assert m["data"] == "\u00e9\u00e9", m
    run(body())


def test_fragments_with_interleaved_ping(gateway):
    gw = gateway()

    async def body():
        b = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        ping = r.frame(OP_PING, b"mid")
        await r.send_fragments(['{"type":"broadcast",', '"data":', '"ok"}'],
                               between=lambda i: ping)
        m = await b.recv_json("message")
        assert m["data"] == "ok", m
    run(body())


def test_largest_ping_answered_whole_and_long_frames_reassembled(gateway):
    """lws hands frames over in pieces of the gateway's rx buffer
    (GW_RX_BUFFER, 128 bytes) and answers a ping from that buffer: a
    125-byte ping (the most RFC 6455 allows) comes back whole in one pong,
    and single frames many times the buffer arrive intact."""
    gw = gateway()

    async def body():
        b = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        payload = bytes(range(125))
        await r.send_frame(OP_PING, payload)
        ev = await r.recv_event()
        while ev[0] == "text":
            ev = await r.recv_event()
        assert ev == ("pong", payload), ev[:1]
        for n in (129, 1000, 4000):
            await r.send_frame(OP_TEXT, sized(n).encode())
            m = await b.recv_json("message")
            assert m["data"] == "x" * (n - 30), n  # sized() wraps 30 bytes
    run(body())


def test_fragmented_message_too_big_closes_1009(gateway):
    gw = gateway(max_message_size=1024)

    async def body():
        r = await gw.raw("chess", "alice")
        big = sized(1500)
        await r.send_fragments([big[:500], big[500:1000], big[1000:]])
        await r.expect_close(1009, "message_too_big")
    run(body())


def test_flood_rate_limited_then_1008(gateway):
    """Sending at ~100 msg/s against --rate-limit 5: the burst passes,
    each drop is answered with error rate_limited, and the third drop
    closes with 1008."""
    gw = gateway(rate_limit=5, rate_burst=5, rate_violations=3)

    async def body():
        b = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        errors, close = [], None
        loop = asyncio.get_running_loop()
        for i in range(60):
            await r.send_json({"type": "broadcast", "data": i})
            tick = loop.time() + 0.01  # pacing, ~100 messages a second
            while close is None and loop.time() < tick:
                try:
                    ev = await r.recv_event(max(tick - loop.time(), 0.001))
                except asyncio.TimeoutError:
                    break
                if ev[0] == "text":
                    m = json.loads(ev[1])
                    if m.get("type") == "error":
                        errors.append(m)
                elif ev[0] in ("close", "eof"):
                    close = ev
            if close:
                break
        if close is None:
            close = ("timeout",)
            try:
                await r.expect_close(1008, "rate_limited", timeout=3)
                close = ("close", 1008, "rate_limited")
            except AssertionError as e:
                close = ("none", str(e))
        assert close == ("close", 1008, "rate_limited"), \
            f"want close 1008 rate_limited, got {close} after {errors}"
        assert errors, "no error rate_limited before the 1008 close"
        assert {e.get("code") for e in errors} == {"rate_limited"}, errors
        assert len(errors) <= 3, \
            f"{len(errors)} rate_limited errors with --rate-violations 3"
        seen = []
        while len(seen) < 5:
            seen.append((await b.recv_json("message"))["data"])
        assert seen == [0, 1, 2, 3, 4], seen
    run(body())


def test_flood_burst_gets_errors_and_1008_frame(gateway):
    """200 messages written at once: the server closes while the client
    is still writing. The rate_limited errors and the 1008 close frame
    must still reach the client, not be discarded or lost to a TCP reset
    (the server must wait for the client's close, RFC 6455 7.1.1)."""
    gw = gateway(rate_limit=5, rate_burst=5, rate_violations=3)

    async def body():
        a = await gw.join("chess", "alice")
        for i in range(200):  # still writing when the server closes
            try:
                await a.broadcast(i)
            except Exception:
                break  # closed under us: fine
        code, reason, got = await a.wait_close()
        errors = [m for m in got if m.get("type") == "error"]
        assert (code, reason) == (1008, "rate_limited"), \
            f"close {code} {reason!r} (1006: no close frame received)"
        assert errors and {e["code"] for e in errors} == {"rate_limited"}, \
            f"errors received before the close: {errors}"
    run(body())


def test_burst_within_rate_limit_delivered(gateway):
    gw = gateway(rate_limit=5, rate_burst=5, rate_violations=1)

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        for i in range(5):
            await a.broadcast(i)
        for i in range(5):
            assert (await b.recv_json("message"))["data"] == i
        errs = [m for m in a.backlog if m.get("type") == "error"]
        assert not errs, errs
    run(body())


def test_byte_budget_protects_lobby_members(gateway):
    """Few messages, many bytes: 64 KiB broadcasts well inside --rate-limit
    but past --rate-bytes-burst are dropped with error rate_limited, then
    closed 1008 -- and the lobby's other members, whose send queue is 1 MiB,
    are not closed as slow consumers (they used to be, at the default
    rate of 50 x 64 KiB a second). Counted in gw_drops_total."""
    gw = start_admin_node(gateway, rate_limit=50, rate_burst=100,
                          rate_violations=3, rate_bytes=65536,
                          rate_bytes_burst=262144, max_message_size=65536)
    big = sized(65536)

    async def body():
        b = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        errors, close = [], None
        for _ in range(20):  # 1.3 MB at once: the old limit let it all in
            try:
                await r.send_text(big)
            except (ConnectionError, RuntimeError):
                break
        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while close is None and loop.time() < end:
            ev = await r.recv_event(end - loop.time())
            if ev[0] == "text":
                m = json.loads(ev[1])
                if m.get("type") == "error":
                    errors.append(m)
            elif ev[0] in ("close", "eof"):
                close = ev
        assert close and close[:3] == ("close", 1008, "rate_limited"), \
            f"want close 1008 rate_limited, got {close} after {errors}"
        assert [e["code"] for e in errors] == ["rate_limited"] * 2, errors
        assert "bytes" in errors[0]["message"], errors[0]
        # Bob got the four that fit in the 256 KiB burst, and is fine.
        for _ in range(4):
            m = await b.recv_json("message")
            assert len(m["data"]) == len(json.loads(big)["data"])
        await b.presence()
        m = gw.admin.metrics()
        assert m.get("gw_drops_total", node=gw.node_id,
                     reason="rate_limited_bytes") == 3, m.text
        assert m.get("gw_drops_total", node=gw.node_id,
                     reason="rate_limited") == 0, m.text
    run(body())


def test_byte_budget_refills(gateway):
    """The byte bucket refills at --rate-bytes: after a pause, a client
    that emptied it may send again, and small messages keep flowing."""
    gw = gateway(rate_limit=1000, rate_burst=1000, rate_violations=100,
                 rate_bytes=20000, rate_bytes_burst=20000,
                 max_message_size=10000)
    m10k = sized(10000)

    async def body():
        b = await gw.join("chess", "bob")
        a = await gw.join("chess", "alice")
        await a.send_raw(m10k)
        await a.send_raw(m10k)
        await a.send_raw(m10k)  # the bucket is empty: dropped
        e = await a.recv_json("error")
        assert e["code"] == "rate_limited" and "bytes" in e["message"], e
        await asyncio.sleep(0.6)  # refills 12,000 bytes
        await a.send_raw(m10k)
        for _ in range(3):
            await b.recv_json("message")
    run(body())


def test_rate_bytes_burst_below_message_size_refused(gateway):
    gw = gateway(rate_bytes_burst=1000, max_message_size=2000, wait=False)
    gw.expect_failure = True
    rc = gw.wait_exit(10)
    assert rc not in (None, 0), "started with a byte burst below a message"
    log = gw.log_text()
    assert "--rate-bytes-burst" in log and "GW_RATE_BYTES_BURST" in log, log


async def _flood_and_count(r, frames, code, reason, timeout=60):
    """Writes `frames` (already encoded) while reading; returns how many
    error frames arrived before the close, which must be code/reason."""
    errors = 0
    close = None

    async def writer():
        for i in range(0, len(frames), 2000):
            try:
                r.writer.write(b"".join(frames[i:i + 2000]))
                await r.writer.drain()
            except (ConnectionError, RuntimeError):
                return
            if close is not None:
                return

    w = asyncio.ensure_future(writer())
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while close is None:
        assert loop.time() < end, f"no close after {errors} errors"
        ev = await r.recv_event(end - loop.time())
        if ev[0] == "text":
            if '"error"' in ev[1]:
                errors += 1
        elif ev[0] in ("close", "eof"):
            close = ev
    w.cancel()
    assert close[:3] == ("close", code, reason), (close, errors)
    return errors


def test_rate_violations_above_65535(gateway):
    """--rate-violations accepts up to 100,000; the counter used to be 16
    bits, so a limit above 65,535 never closed the connection."""
    limit = 65537
    gw = gateway(rate_limit=1, rate_burst=1, rate_violations=limit,
                 send_queue_max=1000000, send_queue_bytes=1 << 30)

    async def body():
        r = await gw.raw("chess", "alice", limit=1 << 20)
        msg = r.frame(OP_TEXT, '{"type":"presence"}')
        # One token, plus a few refilled while the flood is written.
        errors = await _flood_and_count(r, [msg] * (limit + 50),
                                        1008, "rate_limited")
        assert errors == limit - 1, errors
    run(body(), timeout=90)


def test_abuse_limit_above_65535(gateway):
    limit = 65537
    gw = gateway(abuse_limit=limit, rate_limit=1000000, rate_burst=1000000,
                 rate_bytes=1 << 30, rate_bytes_burst=1 << 30,
                 send_queue_max=1000000, send_queue_bytes=1 << 30)

    async def body():
        r = await gw.raw("chess", "alice", limit=1 << 20)
        bad = r.frame(OP_TEXT, "not json")
        errors = await _flood_and_count(r, [bad] * (limit + 10),
                                        4008, "protocol_abuse")
        # Each bad frame is answered; the limit-th also closes.
        assert errors == limit, errors
    run(body(), timeout=90)


def test_slow_consumer_dropped(gateway):
    gw = gateway(send_queue_max=50, send_queue_bytes=200000,
                 rate_limit=100000, rate_burst=100000,
                 rate_bytes=1 << 30, rate_bytes_burst=1 << 30,
                 max_message_size=65536)
    pad = "x" * 10000

    async def body():
        alice = await gw.join("flood", "alice")  # sender
        bob = await gw.join("flood", "bob")      # reads everything
        slow = await gw.raw("flood", "slow", rcvbuf=4096, limit=8192)
        slow_id = slow.welcome["connection_id"]
        # From here on nobody reads `slow`.

        dropped = asyncio.get_running_loop().create_future()
        bob_msgs = []

        async def drain(c, sink):
            while True:
                m = await c.recv_json(type=None, timeout=60)
                sink.append(m)
                if m.get("type") == "presence_leave" and \
                        m.get("connection_id") == slow_id and \
                        not dropped.done():
                    dropped.set_result(m)
                if m.get("type") == "message" and m["data"] == "after":
                    return m

        bob_task = asyncio.ensure_future(drain(bob, bob_msgs))
        alice_task = asyncio.ensure_future(drain(alice, []))
        sent = 0
        while sent < 3000 and not dropped.done():
            await alice.broadcast({"i": sent, "pad": pad})
            sent += 1
            await asyncio.sleep(0)  # let the readers run
        lv = await asyncio.wait_for(asyncio.shield(dropped), 10)
        subset(lv, user="slow", reason="slow_consumer")
        # The others are still served.
        await alice.broadcast("after")
        last = await asyncio.wait_for(bob_task, 10)
        assert last["data"] == "after"
        n = sum(1 for m in bob_msgs if m.get("type") == "message")
        assert n == sent + 1, f"bob got {n} of {sent + 1} broadcasts"
        alice_task.cancel()
        status, _, _ = gw.http_get("/healthz")
        assert status == 200
        # The slow connection really is gone: after what was buffered,
        # a 4007 close frame or end of stream.
        loop = asyncio.get_running_loop()
        end = loop.time() + 15
        while True:
            assert loop.time() < end, "slow connection still open"
            ev = await slow.recv_event(end - loop.time())
            if ev[0] == "close":
                assert (ev[1], ev[2]) == (4007, "slow_consumer"), ev
                break
            if ev[0] == "eof":
                break
        return sent
    run(body(), timeout=60)


def test_binary_fragmented_refused(gateway):
    gw = gateway(abuse_limit=10)

    async def body():
        r = await gw.raw("chess", "alice")
        await r.send_fragments([b"\x01\x02", b"\x03"], opcode=2)
        e = await r.recv_json("error")
        assert e["code"] == "binary_not_supported", e
        await r.send_json({"type": "presence"})
        await r.recv_json("presence")
    run(body())


def test_text_frame_invalid_utf8(gateway):
    """RFC 6455: invalid UTF-8 in a text frame fails the connection (1007);
    answering bad_json is tolerable. It must never be relayed."""
    gw = gateway(abuse_limit=10)

    async def body():
        b = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        await r.send_frame(OP_TEXT,
                           b'{"type":"broadcast","data":"\xff\xfe"}')
        try:
            m = await r.recv_json(skip=("health_ping",))
            assert m["type"] == "error" and m["code"] == "bad_json", m
        except Closed as e:
            assert e.code == 1007, f"closed {e.code} {e.reason!r}, want 1007"
        await b.send_json({"type": "presence"})
        p = await b.recv_json(skip=("health_ping", "presence_leave",
                                    "presence_join"))
        assert p["type"] == "presence", \
            f"bob got {p}: invalid UTF-8 was relayed?"
    run(body())


def test_abuse_burst_errors_delivered(gateway):
    """Three bad frames written at once with --abuse-limit 3: the errors
    for the first ones must reach the client before the 4008 close."""
    gw = gateway(abuse_limit=3)

    async def body():
        r = await gw.raw("chess", "alice")
        r.writer.write(r.frame(OP_TEXT, "{bad") + r.frame(OP_TEXT, "{bad")
                       + r.frame(OP_TEXT, "{bad"))
        got = await r.expect_close(4008, "protocol_abuse")
        errors = [json.loads(g[1]) for g in got if g[0] == "text"]
        assert len([e for e in errors if e.get("code") == "bad_json"]) >= 2, \
            f"bad_json errors before 4008: {errors}"
    run(body())


def test_handshake_timeout(gateway):
    """A client that opens TCP and never finishes its request is dropped
    after --handshake-timeout."""
    gw = gateway(handshake_timeout=1)

    async def body():
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(b"GET /ws/chess HTTP/1.1\r\nHost: x\r\n")  # unfinished
        await writer.drain()
        try:
            data = await asyncio.wait_for(reader.read(), 5)
        except asyncio.TimeoutError:
            raise AssertionError("half-open handshake still open after 5s "
                                 "with --handshake-timeout 1")
        except ConnectionError:
            data = b""
        assert b"101" not in data[:20], data[:100]
        writer.close()
        assert gw.http_get("/healthz")[0] == 200
    run(body())
