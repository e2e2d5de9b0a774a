"""Cluster end-to-end: several gateway nodes on one real redis-server.

Nodes keep presence in Redis (docs/redis-schema.md, the contract these
tests read directly) and fan out over Redis pub/sub. Every wait is for an
event or a Redis state, bounded by a deadline.
"""
import asyncio
import signal
import time

import pytest

from cluster import (HAProxy, RedisServer, await_until, expect_none,
                     gatewayctl, gatewayctl_bin, recv_match, start_nodes,
                     wait_subscribed)
from gwtest import Closed, run, subset

TTL = 3  # --lease-ttl for tests where timing matters


@pytest.fixture
def redis(request, tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


def is_msg(data):
    return lambda m: m.get("data") == data


async def outcome(gw, lobby, user, timeout=8.0):
    """Connects and returns ("welcome", client) or ("close", (code,
    reason))."""
    c = await gw.connect(lobby, user)
    try:
        m = await c._recv_one(timeout)
    except Closed as e:
        return "close", (e.code, e.reason)
    assert m.get("type") == "welcome", f"{user}: first message {m}"
    c.welcome = m
    return "welcome", c


# --------------------------------------------------------------------------
# 1. broadcast
# --------------------------------------------------------------------------

def test_broadcast_across_nodes(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        carol = await n3.join("chess", "carol")
        dave = await n2.join("go", "dave")
        await wait_subscribed(redis, "chess", 3)

        await alice.broadcast({"move": "e4"})
        for c in (bob, carol):
            m = await recv_match(c, "message", is_msg({"move": "e4"}))
            subset(m, lobby="chess", data={"move": "e4"}, **{"from": "alice"})
        # exactly once, and not to the sender nor another lobby
        await asyncio.gather(
            expect_none(bob, "message", 0.5),
            expect_none(carol, "message", 0.5),
            expect_none(alice, "message", 0.5),
            expect_none(dave, "message", 0.5))

        await alice.broadcast({"move": "e5"}, echo=True)
        for c in (alice, bob, carol):
            m = await recv_match(c, "message", is_msg({"move": "e5"}))
            subset(m, lobby="chess", data={"move": "e5"})
            assert m.get("from") == "alice", m
        await asyncio.gather(
            expect_none(alice, "message", 0.5),
            expect_none(bob, "message", 0.5),
            expect_none(carol, "message", 0.5),
            expect_none(dave, "message", 0.5))
    run(body())


# --------------------------------------------------------------------------
# 2. direct
# --------------------------------------------------------------------------

def test_direct_across_nodes_and_offline(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("go", "bob")
        carol = await n3.join("chess", "carol")
        await alice.direct("bob", {"hi": 1})
        m = await bob.recv_json("direct")
        subset(m, type="direct", data={"hi": 1})
        assert m.get("from") == "alice", m
        await asyncio.gather(expect_none(bob, "direct", 0.5),
                             expect_none(carol, "direct", 0.5),
                             expect_none(alice, "error", 0.5))

        await alice.direct("nobody", "psst")
        e = await alice.recv_json("error")
        subset(e, code="user_offline")
    run(body())


# --------------------------------------------------------------------------
# 3. presence in Redis, presence request, gatewayctl
# --------------------------------------------------------------------------

def test_presence_visible_in_redis(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis)

    async def body():
        t0 = time.time() * 1000
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        carol = await n3.join("chess", "carol")
        await n3.join("go", "dave")
        t1 = time.time() * 1000

        ent = redis.user_entries("alice")
        assert list(ent) == [alice.conn_id], ent
        info = ent[alice.conn_id]
        assert info.get("node") == "n1" and info.get("lobby") == "chess", info
        assert isinstance(info.get("since"), int) and \
            t0 - 1000 <= info["since"] <= t1 + 1000, (info, t0, t1)
        # redis-cli shows the same
        raw = redis.cli("HGETALL", "{gw}:user:alice").splitlines()
        assert raw[0] == alice.conn_id, raw

        assert redis.cmd("HLEN", "{gw}:lobby:chess") == 3
        assert set(redis.cmd("HVALS", "{gw}:lobby:chess")) == \
            {"alice", "bob", "carol"}
        assert redis.cmd("HLEN", "{gw}:lobby:go") == 1
        assert redis.total() == 4
        assert set(redis.nodes()) == {"n1", "n2", "n3"}

        p = await alice.presence()
        assert p.get("count") == 3 and \
            sorted(p.get("users", [])) == ["alice", "bob", "carol"], p
        p = await carol.presence()
        assert sorted(p.get("users", [])) == ["alice", "bob", "carol"], p

        if gatewayctl_bin() is None:
            return
        rc, doc, out, err = gatewayctl(redis, "user", "alice")
        assert rc == 0 and doc, (rc, out, err)
        conns = doc.get("connections") or []
        assert [(c.get("conn"), c.get("node"), c.get("lobby")) for c in
                conns] == [(alice.conn_id, "n1", "chess")], doc
        rc, doc, out, err = gatewayctl(redis, "lobby", "chess")
        assert rc == 0 and doc and doc.get("count") == 3, (rc, out, err)
        assert sorted((c.get("user"), c.get("node")) for c in
                      doc.get("connections", [])) == \
            [("alice", "n1"), ("bob", "n2"), ("carol", "n3")], doc
        rc, doc, out, err = gatewayctl(redis, "nodes")
        assert rc == 0 and doc, (rc, out, err)
        assert sorted(n.get("id") for n in doc.get("nodes", [])) == \
            ["n1", "n2", "n3"], doc
        assert doc.get("live_nodes") == 3, doc
        rc, doc, out, err = gatewayctl(redis, "stats")
        assert rc == 0 and doc, (rc, out, err)
        assert doc.get("total") == 4 and doc.get("lobbies") == 2 and \
            doc.get("live_nodes") == 3, doc
        rc, doc, out, err = gatewayctl(redis, "user", "nobody")
        assert rc == 1, (rc, out, err)
        del bob
    run(body())


# --------------------------------------------------------------------------
# 4. capacity across nodes
# --------------------------------------------------------------------------

def test_lobby_full_across_nodes(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis, max_per_lobby=2)

    async def body():
        await n1.join("chess", "alice")
        await n2.join("chess", "bob")
        await n3.expect_rejected(4002, "lobby_full", "chess", "carol")
        await n3.join("go", "carol")  # only that lobby is full
        assert redis.cmd("HLEN", "{gw}:lobby:chess") == 2
    run(body())


def test_server_full_across_nodes(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis, max_connections=2)

    async def body():
        await n1.join("chess", "alice")
        await n2.join("go", "bob")
        await n3.expect_rejected(4002, "server_full", "poker", "carol")
        assert redis.total() == 2
    run(body())


# --------------------------------------------------------------------------
# 5. replace across nodes
# --------------------------------------------------------------------------

def test_replace_across_nodes(gateway, redis):
    n1, n2, _ = start_nodes(gateway, redis)

    async def body():
        old = await n1.join("chess", "alice")
        new = await n2.join("chess", "alice")
        await old.expect_close(4004, "replaced")
        assert new.welcome["node"] == "n2"
        ent = redis.user_entries("alice")
        assert list(ent) == [new.conn_id], ent
        assert ent[new.conn_id].get("node") == "n2", ent
        # the old node's later release must not remove the new entry
        await n1.wait_log(lambda r: r.get("event") == "disconnect" and
                          r.get("conn") == old.conn_id, 5,
                          "n1 disconnect of the replaced connection")
        await await_until(lambda: redis.cmd("HLEN", "{gw}:node:n1:conns")
                          == 0, 3, "n1 conns index empty")
        assert list(redis.user_entries("alice")) == [new.conn_id]
        assert redis.cmd("HLEN", "{gw}:lobby:chess") == 1
        assert redis.total() == 1
        await new.presence()  # still served
    run(body())


# --------------------------------------------------------------------------
# 6. connect storm
# --------------------------------------------------------------------------

def test_connect_storm_never_over_admits(gateway, redis):
    K, N = 5, 30
    nodes = start_nodes(gateway, redis, max_per_lobby=K)

    async def body():
        res = await asyncio.gather(*(outcome(nodes[i % 3], "storm", f"u{i}")
                                     for i in range(N)))
        welcomed = [c for kind, c in res if kind == "welcome"]
        closes = [c for kind, c in res if kind == "close"]
        assert len(welcomed) == K, \
            f"{len(welcomed)} welcomed, closes: {closes}"
        assert closes == [(4002, "lobby_full")] * (N - K), closes
        assert redis.cmd("HLEN", "{gw}:lobby:storm") == K
        assert redis.total() == K
    run(body())


# --------------------------------------------------------------------------
# 7. kill -9 one node
# --------------------------------------------------------------------------

def test_node_killed_is_swept(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis, lease_ttl=TTL, max_per_lobby=2)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        assert redis.cmd("HLEN", "{gw}:lobby:chess") == 2
        n2.expect_failure = True  # killed on purpose: no exit 0 expected
        n2.kill()
        t0 = time.monotonic()

        def gone():
            return not redis.user_entries("bob") and \
                "n2" not in redis.nodes() and \
                redis.cmd("HLEN", "{gw}:lobby:chess") == 1 and \
                redis.cmd("EXISTS", "{gw}:node:n2:conns") == 0
        await await_until(gone, 3 * TTL, "n2's entries swept from Redis")
        swept_after = time.monotonic() - t0
        assert redis.total() == 1
        assert set(redis.nodes()) == {"n1", "n3"}

        m = await recv_match(alice, "presence_leave",
                             lambda m: m.get("user") == "bob", timeout=3)
        subset(m, lobby="chess", reason="node_lost",
               connection_id=bob.conn_id)
        # no capacity leaked: a new member fits
        carol = await n3.join("chess", "carol")
        p = await carol.presence()
        assert sorted(p["users"]) == ["alice", "carol"], p
        assert swept_after <= 3 * TTL
    run(body())
    assert n1.running() and n3.running()


@pytest.mark.parametrize("events", [True, False])
def test_node_lost_follows_presence_events(gateway, redis, events):
    # The survivors' presence_leave (reason node_lost) is a presence event
    # like any other: --presence-events=false silences it too.
    n1, n2 = start_nodes(gateway, redis, n=2, lease_ttl=TTL,
                         presence_events=events)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        await wait_subscribed(redis, "chess", 2)
        n2.expect_failure = True  # killed on purpose: no exit 0 expected
        n2.kill()
        await await_until(lambda: not redis.user_entries("bob") and
                          "n2" not in redis.nodes(), 3 * TTL,
                          "n2 swept from Redis")
        if events:
            m = await recv_match(alice, "presence_leave",
                                 lambda m: m.get("user") == "bob", timeout=3)
            subset(m, lobby="chess", reason="node_lost",
                   connection_id=bob.conn_id)
        else:
            await expect_none(alice, "presence_leave", 1.0)
        # the lobby itself is intact
        p = await alice.presence()
        assert p["users"] == ["alice"], p
    run(body())
    assert n1.running()


# --------------------------------------------------------------------------
# 8. Redis crash and empty restart
# --------------------------------------------------------------------------

def test_redis_restart_restores_presence(gateway, redis):
    nodes = n1, n2, n3 = start_nodes(gateway, redis, lease_ttl=TTL)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        carol = await n3.join("chess", "carol")
        dave = await n1.join("go", "dave")
        clients = [alice, bob, carol, dave]
        await wait_subscribed(redis, "chess", 3)

        redis.kill9()
        await asyncio.gather(*(g.wait_log(
            lambda r: r.get("event") == "redis_down", 5,
            f"{g.node_id} redis_down") for g in nodes))
        await asyncio.sleep(5)  # the outage (not an assertion)
        for g in nodes:
            assert g.running(), f"{g.node_id} died with Redis down:\n" + \
                g.log_tail()
        # sockets still open and served (a local broadcast)
        await dave.broadcast("alone", echo=True)
        await recv_match(dave, "message", is_msg("alone"), timeout=3)
        # churn during the outage: bob leaves, erin joins n2 (fail open)
        await bob.close()
        erin = await n2.join("chess", "erin")
        clients = [alice, carol, dave, erin]

        redis.restart()

        def restored():
            want = {c.welcome["user"]: c.conn_id for c in clients}
            for user, conn in want.items():
                ent = redis.user_entries(user)
                if list(ent) != [conn]:
                    return False
            return redis.total() == len(clients) and \
                set(redis.nodes()) == {"n1", "n2", "n3"} and \
                redis.cmd("HLEN", "{gw}:lobby:chess") == 3
        await await_until(restored, 15, "presence restored in Redis")
        for c in clients:
            ent = redis.user_entries(c.welcome["user"])[c.conn_id]
            assert ent.get("node") == c.welcome["node"] and \
                ent.get("lobby") == c.welcome["lobby"], ent

        for c in clients:
            g = await c.recv_json("gap", timeout=10)
            subset(g, type="gap", lobby=c.welcome["lobby"])

        # cross-node broadcast again (retry until the links are back)
        await wait_subscribed(redis, "chess", 3, timeout=10)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        i = 0
        got = None
        while got is None:
            i += 1
            await alice.broadcast({"after": i})
            try:
                got = await recv_match(erin, "message",
                                       lambda m: "after" in
                                       (m.get("data") or {}), timeout=0.5)
            except AssertionError:
                if loop.time() > deadline:
                    raise AssertionError("no cross-node broadcast within "
                                         "10 s of Redis restart")
        await recv_match(carol, "message",
                         is_msg(got["data"]), timeout=3)
        assert not redis.user_entries("bob")
        for g in nodes:
            assert g.running()
    run(body(), timeout=60)


# --------------------------------------------------------------------------
# 9. SIGTERM
# --------------------------------------------------------------------------

def test_sigterm_removes_presence_at_once(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis, lease_ttl=30)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        bob2 = await n2.join("go", "bob2")
        await wait_subscribed(redis, "chess", 2)
        await alice.recv_json("presence_join")  # bob's
        n2.send_signal(signal.SIGTERM)

        def gone():
            return not redis.user_entries("bob") and \
                not redis.user_entries("bob2") and \
                "n2" not in redis.nodes() and \
                redis.cmd("EXISTS", "{gw}:node:n2:conns") == 0
        await await_until(gone, 2, "n2's presence removed after SIGTERM")
        assert redis.total() == 1
        assert redis.cmd("HLEN", "{gw}:lobby:chess") == 1
        await asyncio.gather(bob.expect_close(1001, "going_away"),
                             bob2.expect_close(1001, "going_away"))
        m = await recv_match(alice, "presence_leave",
                             lambda m: m.get("user") == "bob", timeout=3)
        subset(m, reason="going_away", connection_id=bob.conn_id)
    run(body())
    rc = n2.wait_exit(10)
    assert rc == 0, f"n2 exit code {rc}"


# --------------------------------------------------------------------------
# 10. Redis down: fail closed / fail open
# --------------------------------------------------------------------------

def test_fail_closed_refuses_when_redis_down(gateway, redis):
    (n1,) = start_nodes(gateway, redis, n=1, redis_fail_mode="closed")

    async def body():
        await n1.join("chess", "alice")
        redis.kill9()
        await n1.wait_log(lambda r: r.get("event") == "cluster_degraded",
                          5, "cluster_degraded")
        await n1.expect_rejected(4002, "unavailable", "chess", "bob")
        assert n1.running()
    run(body())


def test_fail_open_admits_against_local_caps(gateway, redis):
    (n1,) = start_nodes(gateway, redis, n=1, max_per_lobby=1)

    async def body():
        redis.kill9()
        await n1.wait_log(lambda r: r.get("event") == "cluster_degraded",
                          5, "cluster_degraded")
        alice = await n1.join("chess", "alice")
        await n1.expect_rejected(4002, "lobby_full", "chess", "bob")
        # once Redis is back, the fail-open admission is restored there
        redis.restart()
        await await_until(lambda: list(redis.user_entries("alice")) ==
                          [alice.conn_id] and redis.total() == 1, 15,
                          "alice restored in Redis")
    run(body(), timeout=40)


# --------------------------------------------------------------------------
# 11. through haproxy
# --------------------------------------------------------------------------

@pytest.fixture
def haproxy_factory(tmp_path):
    started = []

    def make(nodes):
        h = HAProxy(tmp_path, [(g.node_id, g.port) for g in nodes])
        started.append(h)
        return h.start()
    yield make
    for h in started:
        h.stop()


def test_through_haproxy_roundrobin(gateway, redis, haproxy_factory):
    nodes = start_nodes(gateway, redis)
    lb = haproxy_factory(nodes).endpoint()

    async def body():
        clients = [await lb.join("chess", f"u{i}") for i in range(6)]
        seen = {c.welcome["node"] for c in clients}
        assert len(seen) >= 2, f"all clients on {seen}"
        await wait_subscribed(redis, "chess", len(seen))
        await clients[0].broadcast({"lb": 1})
        await asyncio.gather(*(recv_match(c, "message", is_msg({"lb": 1}))
                               for c in clients[1:]))
        await asyncio.gather(*(expect_none(c, "message", 0.5)
                               for c in clients))
    run(body())


# --------------------------------------------------------------------------
# 12. backend publishes a JSON envelope
# --------------------------------------------------------------------------

def test_backend_json_envelope_reaches_all_nodes(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis)

    async def body():
        members = [await n1.join("chess", "alice"),
                   await n2.join("chess", "bob"),
                   await n3.join("chess", "carol")]
        other = await n2.join("go", "dave")
        await wait_subscribed(redis, "chess", 3)
        env = ('{"t":"msg","l":"chess","p":{"type":"message","lobby":"chess",'
               '"from":"backend","data":{"move":"e4"}}}')
        receivers = redis.cli("PUBLISH", "{gw}:ch:lobby:chess", env)
        assert receivers == "3", receivers
        for c in members:
            m = await recv_match(c, "message", is_msg({"move": "e4"}))
            subset(m, type="message", lobby="chess", data={"move": "e4"})
            assert m.get("from") == "backend", m
        await asyncio.gather(*(expect_none(c, "message", 0.5)
                               for c in members + [other]))
    run(body())
