"""Heartbeats: health_ping, health_pong, protocol pongs and stale closes.

--heartbeat-interval 1, --heartbeat-misses 2 throughout.
"""
import asyncio
import json
import time

from gwtest import OP_PONG, run, subset

INTERVAL = 1
MISSES = 2


def hb_gateway(gateway, **kw):
    return gateway(heartbeat_interval=INTERVAL, heartbeat_misses=MISSES,
                   rate_limit=100, rate_burst=100, **kw)


def test_health_ping_has_timestamp(gateway):
    gw = hb_gateway(gateway)

    async def body():
        a = await gw.join("chess", "alice")
        assert a.welcome["heartbeat_interval"] == INTERVAL
        p = await a.recv_json("health_ping", timeout=INTERVAL * 3 + 1)
        ts = p.get("timestamp")
        assert isinstance(ts, int), f"timestamp not an integer: {p}"
        now_ms = time.time() * 1000
        assert abs(now_ms - ts) < 5000, \
            f"timestamp {ts} is not the wall clock in ms (now {now_ms:.0f})"
    run(body())


async def hold_raw(r, seconds, answer_json, answer_protocol):
    """Reads a raw connection for `seconds`, answering health_ping with
    health_pong and/or protocol pings with pongs. Fails on a close.
    Returns (health_pings, protocol_pings) seen."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    hp = pp = 0
    while True:
        remaining = end - loop.time()
        if remaining <= 0:
            return hp, pp
        try:
            ev = await r.recv_event(remaining)
        except asyncio.TimeoutError:
            continue
        if ev[0] in ("close", "eof"):
            raise AssertionError(
                f"closed after {hp} health_pings/{pp} pings: {ev}")
        if ev[0] == "ping":
            pp += 1
            if answer_protocol:
                await r.send_frame(OP_PONG, ev[1])
        elif ev[0] == "text":
            m = json.loads(ev[1])
            if m.get("type") == "health_ping":
                hp += 1
                if answer_json:
                    await r.send_json({"type": "health_pong",
                                       "timestamp": m.get("timestamp")})


def test_health_pong_keeps_connection(gateway):
    """A raw client answering only health_pong (never protocol pongs)."""
    gw = hb_gateway(gateway)

    async def body():
        r = await gw.raw("chess", "alice")
        hp, _ = await hold_raw(r, (MISSES + 2) * INTERVAL + 0.5,
                               answer_json=True, answer_protocol=False)
        assert hp >= MISSES + 1, f"only {hp} health_pings in the window"
        await r.send_json({"type": "presence"})
        p = await r.recv_json("presence")
        assert p["users"] == ["alice"]
    run(body())


def test_protocol_pong_keeps_connection(gateway):
    """A raw client answering only protocol pings (like a browser that
    never speaks JSON)."""
    gw = hb_gateway(gateway)

    async def body():
        r = await gw.raw("chess", "alice")
        hp, pp = await hold_raw(r, (MISSES + 2) * INTERVAL + 0.5,
                                answer_json=False, answer_protocol=True)
        assert pp >= MISSES + 1, f"only {pp} protocol pings in the window"
        await r.send_json({"type": "presence"})
        await r.recv_json("presence")
    run(body())


def test_websockets_client_without_health_pong_stays(gateway):
    """The websockets library answers protocol pings by itself; it never
    sends health_pong."""
    gw = hb_gateway(gateway)

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        loop = asyncio.get_running_loop()
        end = loop.time() + (MISSES + 2) * INTERVAL + 0.5
        pings = 0
        while loop.time() < end:
            try:
                await a.recv_json("health_ping", timeout=end - loop.time())
                pings += 1
            except AssertionError as e:
                if "close" in str(e):
                    raise
        assert pings >= MISSES + 1, f"only {pings} health_pings"
        await b.broadcast("still there?")
        assert (await a.recv_json("message"))["data"] == "still there?"
    run(body())


def test_silent_client_closed_stale(gateway):
    gw = hb_gateway(gateway)

    async def body():
        obs = await gw.join("chess", "bob")
        obs.answer_health = True  # the observer must not go stale itself
        r = await gw.raw("chess", "alice")  # answers nothing, ever
        await obs.recv_json("presence_join")
        # The observer keeps reading (and answering) meanwhile.
        leave = asyncio.ensure_future(
            obs.recv_json("presence_leave", timeout=(MISSES + 1) * INTERVAL
                          + 5))
        t0 = time.monotonic()
        await r.expect_close(4005, "stale",
                             timeout=(MISSES + 1) * INTERVAL + 2.5)
        elapsed = time.monotonic() - t0
        assert elapsed >= (MISSES - 1) * INTERVAL, \
            f"closed stale after {elapsed:.2f}s, before {MISSES} pings"
        lv = await leave
        subset(lv, user="alice", connection_id=r.welcome["connection_id"],
               reason="stale")
        await obs.presence()  # the observer, answering pongs, lives on
    run(body())


def test_any_message_counts_as_life(gateway):
    """A raw client that answers no pings but keeps sending messages."""
    gw = hb_gateway(gateway)

    async def body():
        r = await gw.raw("chess", "alice")
        loop = asyncio.get_running_loop()
        end = loop.time() + (MISSES + 2) * INTERVAL + 0.5
        sent = 0
        while loop.time() < end:
            await r.send_json({"type": "presence"})
            sent += 1
            tick = loop.time() + 0.3  # ~3 messages a second
            while loop.time() < min(tick, end):
                try:
                    ev = await r.recv_event(min(tick, end) - loop.time())
                except asyncio.TimeoutError:
                    break
                assert ev[0] not in ("close", "eof"), \
                    f"closed after {sent} messages: {ev}"
    run(body())
