"""The direct-write fast path (gateway/core/gw_ws.c: ws_direct, and gw_session.c:
flush_direct at the end of each loop turn).

The frames a session got in one loop turn go straight to the socket at the
turn's end, in one write; a
short write hands the rest to lws, which must send it before anything else
(pongs, pings, the close frame). These tests make the socket fill up on
purpose — a receiver with a tiny SO_RCVBUF that stops reading — and then
read everything back with a bare RFC 6455 client that checks every frame:
a byte out of place anywhere would show as a bad opcode, broken UTF-8 or
broken JSON, or a sequence number out of order.
"""
import asyncio
import http.client
import json
import re
import signal

from gwtest import run

N = 120
BIG = "x" * 60000

OPTS = dict(rate_limit=100000, rate_burst=100000, send_queue_max=100000,
            send_queue_bytes=64 * 1024 * 1024, heartbeat_interval=1,
            rate_bytes=1 << 30, rate_bytes_burst=1 << 30)


def metric(gw, name):
    host, port = gw.opts["admin_listen"].rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    m = re.search(rf"^{name}{{[^}}]*}} (\d+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return int(m.group(1))


async def read_all(rx, until, timeout=20.0):
    """Every event up to `until(events)`, checking each text frame."""
    events, seqs = [], []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not until(events, seqs):
        ev = await rx.recv_event(max(0.1, deadline - loop.time()))
        events.append(ev)
        if ev[0] == "text":
            m = json.loads(ev[1])          # a torn frame would not parse
            if m.get("type") == "message":
                seqs.append(m["data"]["seq"])
                assert m["data"]["pad"] in (BIG, "y")
        elif ev[0] == "eof":
            break
    return events, seqs


def test_short_writes_and_eagain_keep_every_frame_whole(gateway):
    gw = gateway(**OPTS)

    async def body():
        rx = await gw.raw("big", "rx", rcvbuf=4096)
        rx.auto_pong = True
        tx = await gw.join("big", "tx")
        before = metric(gw, "gw_partial_writes_total")
        # rx does not read while N frames of 3 KB are sent to it: the
        # socket fills, the fast path meets short writes and EAGAIN.
        for i in range(N):
            await tx.broadcast({"seq": i, "pad": BIG})
        await asyncio.sleep(1.5)   # let heartbeats (pings) fall in between
        events, seqs = await read_all(rx, lambda e, s: len(s) == N)
        assert seqs == list(range(N)), seqs[:20]
        assert metric(gw, "gw_partial_writes_total") > before, \
            "the test never made the fast path write short"
        assert metric(gw, "gw_direct_writes_total") > 0
    run(body())


def test_close_during_a_partial_write_is_well_formed(gateway):
    """SIGTERM while lws holds the rest of a frame: the client reads every
    frame whole, then a proper close frame (1001)."""
    gw = gateway(**OPTS)

    async def body():
        rx = await gw.raw("big", "rx", rcvbuf=4096)
        tx = await gw.join("big", "tx")
        before = metric(gw, "gw_partial_writes_total")
        for i in range(N):
            await tx.broadcast({"seq": i, "pad": BIG})
        await asyncio.sleep(0.5)
        assert metric(gw, "gw_partial_writes_total") > before
        gw.send_signal(signal.SIGTERM)
        events, seqs = await read_all(
            rx, lambda e, s: e and e[-1][0] in ("close", "eof"), timeout=20)
        assert events[-1][0] == "close" and events[-1][1] == 1001, events[-3:]
        assert seqs == list(range(len(seqs))), "frames out of order"
        await rx.send_close(1000)
        assert gw.wait_exit(15) == 0
    run(body())


def test_peer_close_stops_the_fast_path(gateway):
    """The client closes while a member keeps broadcasting to it: after the
    server's close frame nothing else arrives."""
    gw = gateway(**OPTS)

    async def body():
        rx = await gw.raw("room", "rx")
        tx = await gw.join("room", "tx")

        async def flood():
            for i in range(200):
                await tx.broadcast({"seq": i, "pad": "y"})
                await asyncio.sleep(0.002)
        f = asyncio.ensure_future(flood())
        await asyncio.sleep(0.1)
        await rx.send_close(1000)
        events, _ = await read_all(
            rx, lambda e, s: e and e[-1][0] in ("close", "eof"), timeout=10)
        assert events[-1][0] == "close", events[-3:]
        tail = await rx.recv_event(2)
        assert tail[0] == "eof", f"after the close frame: {tail}"
        await f
    run(body())


def test_write_delay_coalesces_frames(gateway):
    """--write-delay-ms: frames wait for the window and leave together (one
    write for many), in order; with the window off they go one by one."""
    async def burst(gw):
        rx = await gw.raw("room", "rx")
        tx = await gw.join("room", "tx")
        for i in range(40):
            await tx.broadcast({"seq": i, "pad": "y"})
        _, seqs = await read_all(rx, lambda e, s: len(s) == 40)
        assert seqs == list(range(40))
        return (metric(gw, "gw_write_batches_total"),
                metric(gw, "gw_batched_frames_total"),
                metric(gw, "gw_direct_writes_total"))

    on = gateway(write_delay_ms=200, **OPTS)
    batches, frames, direct = run(burst(on))
    # The 40 broadcasts arrive over a few ms, well inside the window: all
    # but the odd lone frame (the welcome, a presence event) leave batched.
    assert frames >= 36 and frames / batches >= 4, (batches, frames, direct)


def test_frames_of_one_loop_turn_leave_in_one_write(gateway):
    """The default (--write-delay-ms 0) adds no delay, but what one loop
    turn produces for a receiver leaves in one write: 40 broadcasts sent in
    one TCP segment reach the receiver in order and in far fewer writes
    than 40 (lws reads a member's input a receive buffer at a time, 256
    bytes, so the ~2.6 KB take about ten turns: ~4 frames a write)."""
    gw = gateway(**OPTS)

    async def body():
        rx = await gw.raw("room", "rx")
        tx = await gw.raw("room", "tx")
        await rx.recv_json("presence_join")
        before = (metric(gw, "gw_write_batches_total"),
                  metric(gw, "gw_batched_frames_total"))
        msgs = [json.dumps({"type": "broadcast", "data": {"seq": i, "pad": "y"}})
                for i in range(40)]
        tx.writer.write(b"".join(tx.frame(0x1, m) for m in msgs))
        await tx.writer.drain()
        _, seqs = await read_all(rx, lambda e, s: len(s) == 40)
        assert seqs == list(range(40))
        batches = metric(gw, "gw_write_batches_total") - before[0]
        frames = metric(gw, "gw_batched_frames_total") - before[1]
        assert frames >= 40 and 1 <= batches <= 20, (batches, frames)
    run(body())
