"""Presence without flapping across nodes: --leave-grace-ms with --redis.

A member whose connection to node A is lost (or who says 1001) has its
presence_leave held; its Redis entries stay and {P}:held:LOBBY records the
pending leave. If the same user joins the same lobby in time on ANY node,
the admission script takes the record and the others (on A and on B) see
neither the leave nor the join. Otherwise A settles it at the deadline and
announces the leave. A close 1000 or a kick is announced at once; a holder
killed with -9 is swept and its held leave announced as node_lost; a
holder that drains (SIGTERM) announces its held leaves before it goes.
docs/protocol.md (Leave grace), docs/redis-schema.md (Held leaves).
"""
import asyncio
import signal
import time

import pytest

from cluster import (RedisServer, await_until, expect_none, gatewayctl,
                     node_defaults,
                     gatewayctl_bin, recv_match, start_nodes, wait_subscribed,
                     wait_until)
from gwtest import run, subset

GRACE_MS = 2000
TTL = 3


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


def about_bob(m):
    return m.get("type") in ("presence_join", "presence_leave") and \
        m.get("user") == "bob"


def held(redis, lobby="chess"):
    return redis.hgetall(f"{{gw}}:held:{lobby}")


def lobby_users(redis, lobby="chess"):
    return sorted(redis.cmd("HVALS", f"{{gw}}:lobby:{lobby}"))


async def members(n1, n2):
    """alice on n1 and carol on n2, both subscribed; returns them."""
    alice = await n1.join("chess", "alice")
    carol = await n2.join("chess", "carol")
    subset(await alice.recv_json("presence_join"), user="carol")
    return alice, carol


async def bob_joins(n, alice, carol):
    bob = await n.raw("chess", "bob")
    for c in (alice, carol):
        await recv_match(c, "presence_join", lambda m: m.get("user") == "bob")
    return bob


def test_rejoin_on_another_node_is_silent(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2, leave_grace_ms=GRACE_MS)

    async def body():
        alice, carol = await members(n1, n2)
        await wait_subscribed(redis, "chess", 2)
        bob = await bob_joins(n1, alice, carol)
        bob_id = bob.welcome["connection_id"]
        bob.abort()  # the network went away: no close frame
        # Redis presence during the grace: bob is still there, and his
        # pending leave is recorded on the lobby's shard.
        h = await await_until(lambda: held(redis), 3, "held:chess recorded")
        assert list(h) == [bob_id], h
        assert h[bob_id].split("\t")[0] == "bob", h
        assert lobby_users(redis) == ["alice", "bob", "carol"]
        assert list(redis.user_entries("bob")) == [bob_id]
        p = await carol.presence()
        assert sorted(p["users"]) == ["alice", "bob", "carol"], p
        # Back on the other node, within the grace.
        bob2 = await n2.join_eventually("chess", "bob")
        assert bob2.conn_id.startswith("n2."), bob2.conn_id
        await asyncio.gather(
            expect_none(alice, None, window=GRACE_MS / 1000 + 1.0, pred=about_bob),
            expect_none(carol, None, window=GRACE_MS / 1000 + 1.0, pred=about_bob))
        # Redis holds bob2 only, nothing pending, the counts are right.
        assert held(redis) == {}
        assert lobby_users(redis) == ["alice", "bob", "carol"]
        assert list(redis.user_entries("bob")) == [bob2.conn_id]
        assert redis.total() == 3
        await alice.broadcast("hi")
        subset(await bob2.recv_json("message"), data="hi")
    run(body())


def test_reload_1001_then_rejoin_on_first_node(gateway, redis):
    # A page reload: close 1001 on n2, back on n1.
    n1, n2 = start_nodes(gateway, redis, n=2, leave_grace_ms=GRACE_MS)

    async def body():
        alice, carol = await members(n1, n2)
        await wait_subscribed(redis, "chess", 2)
        bob = await n2.join("chess", "bob")
        for c in (alice, carol):
            await recv_match(c, "presence_join", lambda m: m.get("user") == "bob")
        await bob.close(code=1001)
        await await_until(lambda: held(redis), 3, "held:chess recorded")
        await n1.join_eventually("chess", "bob")
        await asyncio.gather(
            expect_none(alice, None, window=GRACE_MS / 1000 + 1.0, pred=about_bob),
            expect_none(carol, None, window=GRACE_MS / 1000 + 1.0, pred=about_bob))
        assert held(redis) == {}
        assert redis.total() == 3
    run(body())


def test_rejoin_after_grace_is_leave_then_join(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2, leave_grace_ms=GRACE_MS)

    async def body():
        alice, carol = await members(n1, n2)
        await wait_subscribed(redis, "chess", 2)
        bob = await bob_joins(n1, alice, carol)
        bob_id = bob.welcome["connection_id"]
        t0 = time.monotonic()
        bob.abort()
        for c in (alice, carol):
            lv = await recv_match(c, "presence_leave",
                                  lambda m: m.get("user") == "bob",
                                  timeout=GRACE_MS / 1000 + 5)
            subset(lv, connection_id=bob_id, reason="closed")
        assert time.monotonic() - t0 >= GRACE_MS / 1000 - 0.2
        # Settled: the entries and the record are gone.
        assert held(redis) == {}
        assert lobby_users(redis) == ["alice", "carol"]
        assert redis.user_entries("bob") == {}
        assert redis.total() == 2
        bob2 = await n2.join("chess", "bob")
        for c in (alice, carol):
            subset(await recv_match(c, "presence_join",
                                    lambda m: m.get("user") == "bob"),
                   connection_id=bob2.conn_id)
    run(body())


def test_close_1000_and_kick_are_told_at_once(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2, leave_grace_ms=10000)

    async def body():
        alice, carol = await members(n1, n2)
        await wait_subscribed(redis, "chess", 2)
        bob = await n1.join("chess", "bob")
        for c in (alice, carol):
            await recv_match(c, "presence_join", lambda m: m.get("user") == "bob")
        t0 = time.monotonic()
        await bob.close(code=1000)
        for c in (alice, carol):
            subset(await recv_match(c, "presence_leave",
                                    lambda m: m.get("user") == "bob", timeout=3),
                   reason="closed")
        assert time.monotonic() - t0 < 3
        assert held(redis) == {}
        if gatewayctl_bin():
            await n2.join("chess", "bob")
            for c in (alice, carol):
                await recv_match(c, "presence_join", lambda m: m.get("user") == "bob")
            t0 = time.monotonic()
            rc, _, out, err = gatewayctl(redis, "kick", "bob")
            assert rc == 0, (out, err)
            for c in (alice, carol):
                subset(await recv_match(c, "presence_leave",
                                        lambda m: m.get("user") == "bob",
                                        timeout=3),
                       reason="kicked")
            assert time.monotonic() - t0 < 3
            assert held(redis) == {}
    run(body())


def test_holder_killed_during_grace_is_node_lost(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2, leave_grace_ms=30000,
                         lease_ttl=TTL)

    async def body():
        alice, carol = await members(n1, n2)
        await wait_subscribed(redis, "chess", 2)
        bob = await bob_joins(n1, alice, carol)
        bob_id = bob.welcome["connection_id"]
        bob.abort()
        await await_until(lambda: held(redis), 3, "held:chess recorded")
        n1.expect_failure = True  # killed on purpose
        n1.kill()
        lv = await recv_match(carol, "presence_leave",
                              lambda m: m.get("user") == "bob",
                              timeout=3 * TTL + 2)
        subset(lv, connection_id=bob_id, reason="node_lost")
        await await_until(lambda: held(redis) == {}, 3, "held:chess swept")
        assert lobby_users(redis) == ["carol"]
        assert redis.user_entries("bob") == {}
        # A later join is an ordinary one.
        await n2.join("chess", "bob")
        subset(await recv_match(carol, "presence_join",
                                lambda m: m.get("user") == "bob"), user="bob")
    run(body())


def test_drain_tells_held_leaves(gateway, redis):
    # SIGTERM on the holder: its held leaves are settled and told before
    # it goes (the grace is far longer than the test).
    n1, n2 = start_nodes(gateway, redis, n=2, leave_grace_ms=30000)

    async def body():
        alice, carol = await members(n1, n2)
        await wait_subscribed(redis, "chess", 2)
        bob = await bob_joins(n1, alice, carol)
        bob_id = bob.welcome["connection_id"]
        bob.abort()
        await await_until(lambda: held(redis), 3, "held:chess recorded")
        t0 = time.monotonic()
        n1.proc.send_signal(signal.SIGTERM)
        lv = await recv_match(carol, "presence_leave",
                              lambda m: m.get("user") == "bob", timeout=5)
        subset(lv, connection_id=bob_id, reason="closed")
        assert time.monotonic() - t0 < 5
        await await_until(lambda: n1.proc.poll() is not None, 15, "n1 exits")
        assert held(redis) == {}
        assert lobby_users(redis) == ["carol"]
    run(body())


def test_sharded_rejoin_on_another_node_is_silent(gateway, tmp_path):
    # Two shards, the lobby on one and the user on the other: the record
    # lives on the lobby's shard (admit_lobby.lua takes it), the held
    # connection's user part goes on the user's (admit_user.lua).
    from test_shards import names, shard_of
    rs = [RedisServer(tmp_path / f"s{i}").start() for i in range(2)]
    try:
        lobby = names("room", 0, 2, 1)[0]
        user = names("u", 1, 2, 1)[0]
        assert shard_of(lobby, 2) != shard_of(user, 2)
        spec = " ".join(r.url for r in rs)
        nodes = []
        for i in ("n1", "n2"):
            nodes.append(gateway(redis=spec, node_id=i, leave_grace_ms=GRACE_MS,
                                 **node_defaults()))
        for r in rs:
            wait_until(lambda: {"n1", "n2"} <= set(r.nodes()), 10, "leases")
        n1, n2 = nodes
        lobby_r, user_r = rs[0], rs[1]

        def about(m):
            return m.get("type") in ("presence_join", "presence_leave") and \
                m.get("user") == user

        async def body():
            alice = await n1.join(lobby, "alice")
            carol = await n2.join(lobby, "carol")
            subset(await alice.recv_json("presence_join"), user="carol")
            await await_until(lambda: lobby_r.numsub(f"{{gw}}:ch:lobby:{lobby}") == 2,
                              5, "both nodes subscribed")
            bob = await n1.raw(lobby, user)
            bob_id = bob.welcome["connection_id"]
            for c in (alice, carol):
                await recv_match(c, "presence_join", lambda m: m.get("user") == user)
            bob.abort()
            await await_until(lambda: held(lobby_r, lobby), 3, "record on the lobby's shard")
            assert held(user_r, lobby) == {}
            assert list(user_r.user_entries(user)) == [bob_id]
            bob2 = await n2.join_eventually(lobby, user)
            await asyncio.gather(
                expect_none(alice, None, window=GRACE_MS / 1000 + 1.0, pred=about),
                expect_none(carol, None, window=GRACE_MS / 1000 + 1.0, pred=about))
            assert held(lobby_r, lobby) == {}
            assert list(user_r.user_entries(user)) == [bob2.conn_id]
            assert user_r.hgetall("{gw}:node:n1:users") == {}
            assert sorted(lobby_r.cmd("HVALS", f"{{gw}}:lobby:{lobby}")) == \
                sorted(["alice", "carol", user])
        run(body())
    finally:
        for r in rs:
            r.stop()
