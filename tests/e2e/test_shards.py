"""Lobby-sharded Redis: one cluster on three real redis-server shards.

`--redis` lists the shards (whitespace-separated). A lobby's keys and
channel live on the shard its name hashes to, a user's entries on the
user's shard, and every node leases on every shard (docs/redis-schema.md,
Shards). These tests compute the documented placement function in Python
(a second implementation of common/gw_shard.c) and check that every key is
where it says, that the cluster scenarios of test_cluster.py (broadcast,
direct, presence, capacity, kill -9 cleanup) work across shards, and that
losing one shard affects only what is placed on it.
"""
import asyncio
import http.client

import pytest

from cluster import (RedisServer, await_until, expect_none, gatewayctl_bin,
                     node_defaults, recv_match, wait_until)
from gwtest import Closed, run, subset

import subprocess
import json

TTL = 3
M64 = (1 << 64) - 1


def shard_hash(name):
    """fmix64(fnv1a64(name)), as documented in common/gw_shard.h."""
    x = 0xcbf29ce484222325
    for b in name.encode():
        x = ((x ^ b) * 0x100000001b3) & M64
    x ^= x >> 33
    x = (x * 0xff51afd7ed558ccd) & M64
    x ^= x >> 33
    x = (x * 0xc4ceb9fe1a85ec53) & M64
    return x ^ (x >> 33)


def shard_of(name, n):
    """Jump consistent hash (Lamping and Veach) of shard_hash(name)."""
    if n <= 1:
        return 0
    key, b, j = shard_hash(name), -1, 0
    while j < n:
        b = j
        key = (key * 2862933555777941757 + 1) & M64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def test_placement_function_known_values():
    # The same values as tests/unit/test_shard.c: both copies agree.
    assert shard_hash("chess") == 0xa559d824135e9720
    assert [shard_of("chess", n) for n in (1, 2, 3, 4, 16)] == [0, 0, 2, 3, 9]
    moved = sum(shard_of(f"lobby-{i}", 3) != shard_of(f"lobby-{i}", 4)
                for i in range(1000))
    assert 200 <= moved <= 300, moved


@pytest.fixture
def shards(tmp_path):
    rs = [RedisServer(tmp_path / f"s{i}").start() for i in range(3)]
    yield rs
    for r in rs:
        r.stop()


def spec(shards):
    return " ".join(r.url for r in shards)


def names(prefix, shard, n, count, start=0):
    """`count` names `prefix`N placed on `shard` of n."""
    out, i = [], start
    while len(out) < count:
        if shard_of(f"{prefix}{i}", n) == shard:
            out.append(f"{prefix}{i}")
        i += 1
    return out


def start_sharded(gateway, shards, n=3, **opts):
    ids = [f"n{i + 1}" for i in range(n)]
    nodes = []
    for i in ids:
        o = node_defaults()
        o.update(opts)
        nodes.append(gateway(redis=spec(shards), node_id=i, **o))
    for r in shards:  # every node leases on every shard
        wait_until(lambda: set(ids) <= set(r.nodes()), 10,
                   f"nodes in {{gw}}:nodes on :{r.port}")
    return nodes


def where(shards, key):
    return [i for i, r in enumerate(shards) if r.cmd("EXISTS", key)]


async def subscribed(shards, lobby, n):
    r = shards[shard_of(lobby, len(shards))]
    ch = f"{{gw}}:ch:lobby:{lobby}"
    await await_until(lambda: r.numsub(ch) == n, 5, f"NUMSUB {ch} == {n}")


def ctl(shards, *args):
    r = subprocess.run([gatewayctl_bin(), "--redis", spec(shards), "--json"]
                       + list(args), capture_output=True, text=True,
                       timeout=10)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = None
    return r.returncode, doc, r.stderr


def admin_get(gw, path):
    host, port = gw.opts["admin_listen"].rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=3)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def ready(gw):
    return admin_get(gw, "/ready")[0] == 200


def test_keys_spread_and_broadcast(gateway, shards):
    n1, n2, n3 = start_sharded(gateway, shards, public_cluster_info=True)
    # two lobbies per shard, users spread independently of lobbies
    lobbies = [l for s in range(3) for l in names("room", s, 3, 2)]

    async def body():
        pairs = []
        for i, lobby in enumerate(lobbies):
            a = await n1.join(lobby, f"ua{i}")
            b = await n2.join(lobby, f"ub{i}")
            pairs.append((lobby, a, b))
        for lobby, _, _ in pairs:
            await subscribed(shards, lobby, 2)
        for lobby, a, b in pairs:
            await a.broadcast({"in": lobby})
            m = await recv_match(b, "message", lambda m: m.get("data") == {"in": lobby})
            subset(m, lobby=lobby)
        # every key where the documented function puts it, and only there
        for i, lobby in enumerate(lobbies):
            assert where(shards, f"{{gw}}:lobby:{lobby}") == \
                [shard_of(lobby, 3)], lobby
            for u in (f"ua{i}", f"ub{i}"):
                assert where(shards, f"{{gw}}:user:{u}") == [shard_of(u, 3)], u
        # each shard holds some lobbies; the totals add up
        per = [r.cmd("HLEN", "{gw}:lobbies") for r in shards]
        assert per == [2, 2, 2], per
        assert sum(r.total() or 0 for r in shards) == 2 * len(lobbies)
        p = await pairs[0][1].presence()
        assert sorted(p["users"]) == ["ua0", "ub0"], p
        # the admin API and the dashboard's overview: summed over shards
        await await_until(lambda: n3.http_json("/cluster").get("total")
                          == 2 * len(lobbies), 10, "/cluster total")
        st = n3.http_json("/cluster")
        assert st.get("active_lobbies") == len(lobbies), st
        assert sorted(x.get("id") for x in st["nodes"]) == ["n1", "n2", "n3"]
        if gatewayctl_bin():
            rc, doc, err = ctl(shards, "stats")
            assert rc == 0 and doc["total"] == 2 * len(lobbies) and \
                doc["lobbies"] == len(lobbies) and doc["live_nodes"] == 3, (doc, err)
            rc, doc, err = ctl(shards, "lobby", lobbies[5])
            assert rc == 0 and sorted(c["user"] for c in doc["connections"]) \
                == ["ua5", "ub5"], (doc, err)
            rc, doc, err = ctl(shards, "user", "ub3")
            assert rc == 0 and [(c["node"], c["lobby"]) for c in
                                doc["connections"]] == [("n2", lobbies[3])], doc
            rc, doc, err = ctl(shards, "send", "ub3", '{"x":1}')
            assert rc == 0, (doc, err)
            m = await pairs[3][2].recv_json("direct")
            subset(m, data={"x": 1})
    run(body())


def test_direct_presence_and_replace_across_shards(gateway, shards):
    n1, n2, n3 = start_sharded(gateway, shards, user_policy="replace")
    # a lobby and a user on different shards
    lobby = names("hall", 0, 3, 1)[0]
    bob = names("bob", 1, 3, 1)[0]

    async def body():
        a = await n1.join(lobby, "alice")
        b = await n2.join(lobby, bob)
        await a.direct(bob, {"hi": 1})
        m = await b.recv_json("direct")
        subset(m, data={"hi": 1})
        p = await b.presence()
        assert sorted(p["users"]) == sorted(["alice", bob]), p
        # the user's entry on the user's shard, the lobby's on the lobby's
        assert list(shards[1].user_entries(bob)) == [b.conn_id]
        assert shards[0].hgetall(f"{{gw}}:lobby:{lobby}")[b.conn_id] == bob
        # replace across nodes and shards: the old connection is closed
        b2 = await n3.join(lobby, bob)
        await b.expect_close(4004, "replaced")
        await await_until(lambda: list(shards[1].user_entries(bob)) ==
                          [b2.conn_id] and shards[0].cmd(
                              "HLEN", f"{{gw}}:lobby:{lobby}") == 2,
                          5, "the replaced connection released")
        assert shards[1].cmd("HLEN", "{gw}:node:n2:users") == 0
    run(body())


def test_lobby_cap_never_over_admitted(gateway, shards):
    K, N = 3, 18
    nodes = start_sharded(gateway, shards, max_per_lobby=K)
    lobby = names("storm", 2, 3, 1)[0]

    async def outcome(gw, user):
        c = await gw.connect(lobby, user)
        try:
            m = await c._recv_one(8)
        except Closed as e:
            return "close", (e.code, e.reason)
        assert m.get("type") == "welcome", m
        return "welcome", c

    async def body():
        res = await asyncio.gather(*(outcome(nodes[i % 3], f"u{i}")
                                     for i in range(N)))
        welcomed = [c for k, c in res if k == "welcome"]
        closes = [c for k, c in res if k == "close"]
        assert len(welcomed) == K, closes
        assert closes == [(4002, "lobby_full")] * (N - K), closes
        assert shards[2].cmd("HLEN", f"{{gw}}:lobby:{lobby}") == K
        assert sum(r.total() or 0 for r in shards) == K
        # no user entry left behind by a refused connection
        users = sum(len(r.cmd("KEYS", "{gw}:user:*")) for r in shards)
        assert users == K, users
    run(body())


def test_node_kill_swept_on_every_shard(gateway, shards):
    n1, n2, n3 = start_sharded(gateway, shards, lease_ttl=TTL)
    lobby = names("arena", 1, 3, 1)[0]
    bob = names("bob", 2, 3, 1)[0]   # the user's part on another shard

    async def body():
        alice = await n1.join(lobby, "alice")
        b = await n2.join(lobby, bob)
        n2.expect_failure = True
        n2.kill()

        def gone():
            return not shards[2].user_entries(bob) and \
                all("n2" not in r.nodes() for r in shards) and \
                shards[1].cmd("HLEN", f"{{gw}}:lobby:{lobby}") == 1 and \
                not any(r.cmd("EXISTS", "{gw}:node:n2:conns", "{gw}:node:n2:users")
                        for r in shards)
        await await_until(gone, 3 * TTL, "n2's entries swept from every shard")
        m = await recv_match(alice, "presence_leave",
                             lambda m: m.get("user") == bob, timeout=3)
        subset(m, reason="node_lost", connection_id=b.conn_id)
    run(body())


def test_one_shard_down(gateway, shards):
    n1, n2 = start_sharded(gateway, shards, n=2, redis_fail_mode="closed")
    live = names("live", 0, 3, 1)[0]
    dead = names("dead", 1, 3, 1)[0]
    # users placed with their lobby's shard, or on the third one
    u_live = names("ul", 0, 3, 2) + names("uz", 2, 3, 2)

    async def body():
        a = await n1.join(live, u_live[0])
        b = await n2.join(live, u_live[2])
        x = await n1.join(dead, names("ud", 1, 3, 1)[0])
        y = await n2.join(dead, names("ud", 1, 3, 2)[1])
        await subscribed(shards, live, 2)
        await subscribed(shards, dead, 2)
        shards[1].kill9()
        await n1.wait_log(lambda r: r.get("event") == "cluster_degraded"
                          and str(r.get("shard")) == "1", 10, "shard 1 down")
        # lobbies on the other shards keep broadcasting across nodes
        await a.broadcast({"still": 1})
        m = await recv_match(b, "message", lambda m: m.get("data") == {"still": 1})
        subset(m, lobby=live)
        # new members of a live lobby are admitted; of the dead shard's not
        c = await n2.join(live, u_live[1])
        await n1.expect_rejected(4002, "unavailable", dead, "newcomer")
        # users placed on the dead shard cannot be admitted either (closed)
        await n1.expect_rejected(4002, "unavailable", live,
                                 names("ux", 1, 3, 1)[0])
        assert ready(n1) and ready(n2), "one shard of three down: still ready"
        metrics = admin_get(n1, "/metrics")[1].decode()
        assert 'gw_redis_shards_up{node="n1"} 2' in metrics, metrics
        # members of the dead shard's lobby stay connected
        await expect_none(x, "error", 0.3)
        # restart empty: the nodes restore what is placed on it
        shards[1].restart()
        await await_until(lambda: shards[1].cmd(
            "HLEN", f"{{gw}}:lobby:{dead}") == 2, 10, "dead lobby restored")
        await x.recv_json("gap", timeout=5)
        await subscribed(shards, dead, 2)
        await x.broadcast({"back": 1})
        m = await recv_match(y, "message", lambda m: m.get("data") == {"back": 1})
        subset(m, lobby=dead)
        assert sum(r.total() or 0 for r in shards) == 5
        del c
    run(body())
