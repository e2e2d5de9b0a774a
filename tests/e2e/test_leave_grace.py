"""Presence without flapping: --leave-grace-ms (docs/protocol.md).

A member whose connection is lost (no close frame), who says 1001 (a page
reload) or who goes stale has its presence_leave held for the grace; if
the same user rejoins the same lobby in time, the others see neither the
leave nor the new join. After the grace the leave is announced as before;
an explicit close (1000) or a kick is announced at once.
"""
import asyncio
import time

from cluster import expect_none
from gwtest import run, subset

GRACE_MS = 1500


def about_bob(m):
    return m.get("type") in ("presence_join", "presence_leave") and \
        m.get("user") == "bob"


def test_refresh_within_grace_is_silent(gateway):
    gw = gateway(leave_grace_ms=GRACE_MS)

    async def body():
        alice = await gw.join("chess", "alice")
        bob = await gw.raw("chess", "bob")
        subset(await alice.recv_json("presence_join"), user="bob")
        bob.abort()  # the network went away: no close frame
        # A reload: close 1001 from the second connection too.
        bob2 = await gw.join_eventually("chess", "bob")
        await bob2.close(code=1001)
        bob3 = await gw.join_eventually("chess", "bob")
        await expect_none(alice, None, window=GRACE_MS / 1000 + 1.0,
                          pred=about_bob)
        # Bob is really back.
        await alice.broadcast("hi")
        subset(await bob3.recv_json("message"), data="hi")
        # Presence still lists him.
        p = await alice.presence()
        assert "bob" in p["users"], p
    run(body())


def test_leave_announced_after_grace(gateway):
    gw = gateway(leave_grace_ms=GRACE_MS)

    async def body():
        alice = await gw.join("chess", "alice")
        bob = await gw.raw("chess", "bob")
        bob_id = bob.welcome["connection_id"]
        subset(await alice.recv_json("presence_join"), user="bob")
        t0 = time.monotonic()
        bob.abort()
        lv = await alice.recv_json("presence_leave", timeout=GRACE_MS / 1000 + 5)
        waited = time.monotonic() - t0
        subset(lv, user="bob", connection_id=bob_id, reason="closed")
        assert waited >= GRACE_MS / 1000 - 0.2, waited
        # Rejoining later is an ordinary join.
        await gw.join("chess", "bob")
        subset(await alice.recv_json("presence_join"), user="bob")
    run(body())


def test_explicit_close_is_not_held(gateway):
    gw = gateway(leave_grace_ms=5000)

    async def body():
        alice = await gw.join("chess", "alice")
        bob = await gw.join("chess", "bob")
        subset(await alice.recv_json("presence_join"), user="bob")
        t0 = time.monotonic()
        await bob.close(code=1000)
        lv = await alice.recv_json("presence_leave", timeout=3)
        subset(lv, user="bob", reason="closed")
        assert time.monotonic() - t0 < 3
    run(body())


def test_default_is_today(gateway):
    gw = gateway()

    async def body():
        alice = await gw.join("chess", "alice")
        bob = await gw.raw("chess", "bob")
        subset(await alice.recv_json("presence_join"), user="bob")
        bob.abort()
        subset(await alice.recv_json("presence_leave", timeout=3), user="bob")
        await gw.join("chess", "bob")
        subset(await alice.recv_json("presence_join"), user="bob")
    run(body())
