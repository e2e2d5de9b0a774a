"""The admin listener (docs/api.md): /healthz, /ready, /metrics, /stats, the
server API under /api/* (--api-key), the inbound Redis Stream, and the
extra endpoints of the WebSocket port (/cluster, /dev/token, the embedded
dashboard and JS client).

Standalone nodes first, then clusters on a real redis-server (two nodes,
--lease-ttl 3). Every wait is for an event or a state, bounded by a
deadline; short "nothing else arrives" windows use expect_none.
"""
import asyncio
import json
import os
import signal
import time

import pytest

from api_helpers import (API_KEY, AdminClient, assert_error,
                         start_admin_node, wait_for)
from cluster import (RedisServer, await_until, expect_none, recv_match,
                     wait_nodes_ready, wait_subscribed)
from gwtest import ROOT, run, subset

TTL = 3  # --lease-ttl for the cluster tests (snapshot every TTL/3 s)

# Any JSON value, with the awkward bits: unicode, escapes, big ints, floats,
# booleans vs numbers, null, empty containers, nesting.
TRICKY = {
    "s": "h\u00e9llo \u2603 \U0001F600 \"quoted\" back\\slash\n\ttab/",
    "n": -12, "big": 9007199254740993, "f": 0.5, "neg": -2.25,
    "t": True, "no": False, "z": None, "empty": "",
    "arr": [1, "two", [3, [4]], {}, [], None, False, 0],
    "obj": {"nested": {"deep": {"deeper": [1.25]}}},
}


def same_json(a, b):
    """Equality that also tells 1 from 1.0 from True."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    return a == b


def assert_data(msg, want):
    assert same_json(msg.get("data"), want), \
        f"data not preserved:\n got  {msg.get('data')!r}\n want {want!r}"


def api_node(gateway, **opts):
    opts.setdefault("node_id", "n1")
    return start_admin_node(gateway, key=API_KEY, **opts)


def now_ms():
    return time.time() * 1000


# ==========================================================================
# Standalone: health, readiness, keys
# ==========================================================================

def test_healthz_ready_stats_standalone(gateway):
    gw = api_node(gateway)
    a = gw.admin
    r = a.get("/healthz")
    assert r.status == 200 and r.json() == {"status": "ok"}, r
    assert "application/json" in r.ctype, r
    r = a.get("/ready")
    assert r.status == 200, r
    assert r.json().get("ready") is True, r
    r = a.get("/stats")
    assert r.status == 200, r
    assert r.json().get("node") == "n1", r
    # an unknown admin path: 404 with the error shape
    assert_error(a.get("/nope"), 404, "not_found")


def test_api_disabled_without_key(gateway):
    gw = start_admin_node(gateway, node_id="n1")  # no --api-key
    a = AdminClient(gw.admin_port, API_KEY)       # sends a key anyway
    assert_error(a.get("/api/stats"), 403, "api_disabled")
    assert_error(a.get("/api/users/alice", how=None), 403, "api_disabled")
    assert_error(a.post("/api/publish", {"lobby": "chess", "data": 1}),
                 403, "api_disabled")
    assert_error(a.post("/api/kick", {"user": "alice"}, how="x-api-key"),
                 403, "api_disabled")
    # the rest of the admin listener still works
    assert a.get("/ready").status == 200
    assert a.get("/metrics").status == 200


def test_api_key_checks(gateway):
    gw = api_node(gateway)
    a = gw.admin
    assert_error(a.get("/api/stats", how=None), 401, "unauthorized")
    assert_error(a.get("/api/stats", key="x" * len(API_KEY)), 401,
                 "unauthorized")
    assert_error(a.get("/api/stats", key=API_KEY[:-1]), 401, "unauthorized")
    assert_error(a.get("/api/stats", key=API_KEY + "x"), 401, "unauthorized")
    assert_error(a.get("/api/stats", how="x-api-key", key="wrong-key-wrong"),
                 401, "unauthorized")
    assert_error(a.get("/api/stats", how=None,
                       headers={"Authorization": "Basic " + API_KEY}),
                 401, "unauthorized")
    assert_error(a.post("/api/publish", {"lobby": "chess", "data": 1},
                        how=None), 401, "unauthorized")
    for how in ("bearer", "x-api-key"):
        r = a.get("/api/stats", how=how)
        assert r.status == 200, f"{how}: {r!r}"
        assert isinstance(r.json(), dict)
        r = a.post("/api/publish", {"lobby": "chess", "data": 1}, how=how)
        assert r.status == 200, f"{how}: {r!r}"


# ==========================================================================
# Standalone: deliveries
# ==========================================================================

def test_publish_reaches_lobby_members(gateway):
    gw = api_node(gateway)

    async def body():
        alice = await gw.join("chess", "alice")
        bob = await gw.join("chess", "bob")
        carol = await gw.join("go", "carol")

        gw.admin.ok("POST", "/api/publish", {"lobby": "chess", "data": TRICKY})
        for c in (alice, bob):
            m = await c.recv_json("message")
            subset(m, type="message", lobby="chess", **{"from": "server"})
            assert_data(m, TRICKY)
        await asyncio.gather(expect_none(alice, "message", 0.3),
                             expect_none(bob, "message", 0.3),
                             expect_none(carol, "message", 0.3))

        gw.admin.ok("POST", "/api/publish",
                    {"lobby": "go", "data": "plain", "from": "backend"})
        m = await carol.recv_json("message")
        subset(m, type="message", lobby="go", data="plain",
               **{"from": "backend"})
        assert set(m) == {"type", "lobby", "from", "data"}, m
        # scalars and null are data too
        for data in (None, 0, [], "x" * 1000):
            gw.admin.ok("POST", "/api/publish", {"lobby": "go", "data": data})
            m = await carol.recv_json("message")
            assert_data(m, data)
        await asyncio.gather(expect_none(alice, "message", 0.2),
                             expect_none(bob, "message", 0.2))
        # a lobby nobody is in: accepted, nobody gets it
        gw.admin.ok("POST", "/api/publish", {"lobby": "empty", "data": 1})
        await expect_none(carol, "message", 0.2)
    run(body())


def test_send_reaches_every_connection_of_user(gateway):
    gw = api_node(gateway, user_policy="multi")

    async def body():
        a1 = await gw.join("chess", "alice")
        a2 = await gw.join("go", "alice")
        bob = await gw.join("chess", "bob")

        gw.admin.ok("POST", "/api/send", {"user": "alice", "data": TRICKY})
        for c in (a1, a2):
            m = await c.recv_json("direct")
            subset(m, type="direct", **{"from": "server"})
            assert_data(m, TRICKY)
        gw.admin.ok("POST", "/api/send", {"user": "bob", "data": [1, 2],
                                          "from": "referee"},
                    how="x-api-key")
        m = await bob.recv_json("direct")
        subset(m, type="direct", data=[1, 2], **{"from": "referee"})
        await asyncio.gather(expect_none(a1, "direct", 0.3),
                             expect_none(a2, "direct", 0.3),
                             expect_none(bob, "direct", 0.3))

        assert_error(gw.admin.post("/api/send", {"user": "nobody",
                                                 "data": 1}),
                     404, "not_found")
    run(body())


def test_broadcast_reaches_every_lobby(gateway):
    gw = api_node(gateway)

    async def body():
        alice = await gw.join("chess", "alice")
        bob = await gw.join("go", "bob")
        carol = await gw.join("go", "carol")
        gw.admin.ok("POST", "/api/broadcast", {"data": {"notice": "restart"}})
        for c in (alice, bob, carol):
            m = await c.recv_json("message")
            subset(m, type="message", lobby="*", data={"notice": "restart"},
                   **{"from": "server"})
        gw.admin.ok("POST", "/api/broadcast", {"data": TRICKY, "from": "ops"})
        for c in (alice, bob, carol):
            m = await c.recv_json("message")
            subset(m, lobby="*", **{"from": "ops"})
            assert_data(m, TRICKY)
        await asyncio.gather(*(expect_none(c, "message", 0.3)
                               for c in (alice, bob, carol)))
    run(body())


def test_kick_closes_4009(gateway):
    gw = api_node(gateway)

    async def body():
        alice = await gw.join("chess", "alice")
        bob = await gw.join("chess", "bob")
        gw.admin.ok("POST", "/api/kick", {"user": "alice"})
        await alice.expect_close(4009, "kicked")
        m = await recv_match(bob, "presence_leave",
                             lambda m: m.get("user") == "alice")
        subset(m, lobby="chess", reason="kicked")
        # gone: kicking or looking up again is 404
        assert_error(gw.admin.post("/api/kick", {"user": "alice"}), 404,
                     "not_found")
        assert_error(gw.admin.get("/api/users/alice"), 404, "not_found")
        assert_error(gw.admin.post("/api/kick", {"user": "nobody"}), 404,
                     "not_found")
        # bob untouched
        gw.admin.ok("POST", "/api/send", {"user": "bob", "data": "still"})
        subset(await bob.recv_json("direct"), data="still")
    run(body())


def test_kick_one_connection_id(gateway):
    gw = api_node(gateway, user_policy="multi")

    async def body():
        a1 = await gw.join("chess", "alice")
        a2 = await gw.join("chess", "alice")
        a3 = await gw.join("go", "alice")
        assert len({a1.conn_id, a2.conn_id, a3.conn_id}) == 3
        # A connection id that is not one kicks nobody.
        assert_error(gw.admin.post("/api/kick", {"user": "alice",
                                                 "connection_id": "bogus"}),
                     404, "not_found")
        gw.admin.ok("POST", "/api/kick",
                    {"user": "alice", "connection_id": a2.conn_id})
        await a2.expect_close(4009, "kicked")
        # the others live and still get direct messages
        gw.admin.ok("POST", "/api/send", {"user": "alice", "data": "left"})
        for c in (a1, a3):
            subset(await c.recv_json("direct"), data="left")

        def listed():
            r = gw.admin.get("/api/users/alice")
            return r.status == 200 and sorted(
                c["connection_id"] for c in r.json()["connections"])
        got = wait_for(listed, 3, "alice's connections listed")
        assert got == sorted([a1.conn_id, a3.conn_id]), got
    run(body())


def test_lookup_lobby_and_user(gateway):
    gw = api_node(gateway, user_policy="multi")

    async def body():
        t0 = now_ms()
        a1 = await gw.join("chess", "alice")
        a2 = await gw.join("go", "alice")
        bob = await gw.join("chess", "bob")

        doc = gw.admin.ok("GET", "/api/lobbies/chess")
        subset(doc, lobby="chess", count=2)
        got = sorted((u["user"], u["connection_id"], u["node"])
                     for u in doc["users"])
        assert got == sorted([("alice", a1.conn_id, "n1"),
                              ("bob", bob.conn_id, "n1")]), doc

        doc = gw.admin.ok("GET", "/api/users/alice", how="x-api-key")
        assert doc.get("user") == "alice", doc
        conns = {c["connection_id"]: c for c in doc["connections"]}
        assert set(conns) == {a1.conn_id, a2.conn_id}, doc
        for c, lobby in ((a1, "chess"), (a2, "go")):
            e = conns[c.conn_id]
            subset(e, node="n1", lobby=lobby)
            since = e.get("since")
            assert isinstance(since, int) and \
                t0 - 2000 <= since <= now_ms() + 2000, \
                f"since must be ms since the epoch of the admission: {e}"

        # an empty lobby is a lobby with nobody in it
        doc = gw.admin.ok("GET", "/api/lobbies/empty")
        subset(doc, lobby="empty", count=0, users=[])
        assert_error(gw.admin.get("/api/users/nobody"), 404, "not_found")
    run(body())


def test_unknown_type_standalone(gateway):
    gw = api_node(gateway)

    async def body():
        alice = await gw.join("chess", "alice")
        await alice.send_raw('{"type":"chat.custom","x":1}')
        m = await alice.recv_json("error")
        subset(m, code="unknown_type")
    run(body())


# ==========================================================================
# Standalone: request errors
# ==========================================================================

BAD_POSTS = [
    ("/api/publish", "{not json"),
    ("/api/publish", ""),
    ("/api/publish", "[1, 2]"),
    ("/api/publish", '"a string"'),
    ("/api/publish", '{"lobby":"chess","data":1} trailing'),
    ("/api/publish", {"lobby": "chess"}),                  # no data
    ("/api/publish", {"data": 1}),                         # no lobby
    ("/api/publish", {"lobby": "bad lobby!", "data": 1}),
    ("/api/publish", {"lobby": "a/b", "data": 1}),
    ("/api/publish", {"lobby": "", "data": 1}),
    ("/api/publish", {"lobby": "x" * 65, "data": 1}),
    ("/api/publish", {"lobby": 5, "data": 1}),             # mistyped
    ("/api/publish", {"lobby": "chess", "data": 1, "from": 5}),
    ("/api/send", {"data": 1}),
    ("/api/send", {"user": "alice"}),
    ("/api/send", {"user": 7, "data": 1}),
    ("/api/send", "{\"user\":"),
    ("/api/broadcast", {}),
    ("/api/broadcast", {"from": "ops"}),
    ("/api/broadcast", "nope"),
    ("/api/kick", {}),
    ("/api/kick", {"user": ["alice"]}),
    ("/api/kick", {"user": "alice", "connection_id": 5}),
]


def test_bad_requests_400(gateway):
    gw = api_node(gateway)

    async def body():
        # alice is connected, so a kick that slips through would show
        alice = await gw.join("chess", "alice")
        problems = []
        for path, payload in BAD_POSTS:
            r = gw.admin.post(path, payload)
            try:
                assert_error(r, 400, "bad_request")
            except AssertionError as e:
                problems.append(f"POST {path} {payload!r}: {e}")
        for path in ("/api/lobbies/bad%20lobby", "/api/lobbies/a%2Fb",
                     "/api/lobbies/" + "x" * 65, "/api/lobbies/"):
            r = gw.admin.get(path)
            try:
                assert_error(r, 400, "bad_request")
            except AssertionError as e:
                problems.append(f"GET {path}: {e}")
        # nothing above may have messaged or kicked alice
        try:
            await expect_none(alice, "message", 0.2)
        except AssertionError as e:
            problems.append(f"a refused request was delivered: {e}")
        r = gw.admin.post("/api/send", {"user": "alice", "data": "ok"})
        try:
            assert r.status == 200, f"/api/send to alice: {r!r}"
            subset(await alice.recv_json("direct", timeout=2), data="ok")
        except AssertionError as e:
            problems.append(f"alice after the bad requests: {e}")
        assert not problems, "\n".join(problems)
    run(body())


def test_body_too_large_413(gateway):
    gw = api_node(gateway)

    async def body():
        alice = await gw.join("chess", "alice")
        # just under the limit is fine
        near = json.dumps({"lobby": "chess", "data": "y" * 60000})
        assert len(near) < 64 * 1024
        gw.admin.ok("POST", "/api/publish", near)
        m = await alice.recv_json("message")
        assert m["data"] == "y" * 60000
        problems = []
        for size in (64 * 1024 + 1, 200 * 1024):
            big = json.dumps({"lobby": "chess", "data": "x" * size})
            try:
                r = gw.admin.post("/api/publish", big)
                assert_error(r, 413, "too_large")
            except (AssertionError, OSError) as e:
                problems.append(f"{len(big)}-byte body: {e!r}")
        await expect_none(alice, "message", 0.3)
        assert not problems, "\n".join(problems)
        # the listener survives
        assert gw.admin.get("/ready").status == 200
    run(body())


WRONG_METHODS = [
    ("GET", "/api/publish"), ("GET", "/api/send"), ("GET", "/api/broadcast"),
    ("GET", "/api/kick"), ("PUT", "/api/publish"), ("DELETE", "/api/kick"),
    ("POST", "/api/stats"), ("POST", "/api/nodes"),
    ("POST", "/api/users/alice"), ("DELETE", "/api/users/alice"),
    ("POST", "/api/lobbies/chess"), ("PUT", "/api/lobbies/chess"),
    ("POST", "/ready"), ("POST", "/healthz"), ("POST", "/metrics"),
    ("PUT", "/stats"), ("DELETE", "/healthz"),
]


def test_wrong_method_405(gateway):
    gw = api_node(gateway)
    problems = []
    for method, path in WRONG_METHODS:
        body = "{}" if method in ("POST", "PUT") else None
        r = gw.admin.request(method, path, body)
        try:
            assert_error(r, 405, "method_not_allowed")
        except AssertionError as e:
            problems.append(f"{method} {path}: {e}")
    assert gw.admin.get("/healthz").status == 200
    assert not problems, "\n".join(problems)


# ==========================================================================
# /metrics
# ==========================================================================

STANDALONE_FAMILIES = {
    "gw_connections": "gauge", "gw_connecting": "gauge", "gw_lobbies": "gauge",
    "gw_admissions_total": "counter", "gw_rejections_total": "counter",
    "gw_disconnects_total": "counter", "gw_messages_in_total": "counter",
    "gw_messages_out_total": "counter", "gw_bytes_in_total": "counter",
    "gw_bytes_out_total": "counter", "gw_drops_total": "counter",
    "gw_slow_consumer_disconnects_total": "counter",
    "gw_ping_rtt_ms": "histogram", "gw_pubsub_messages_total": "counter",
    "gw_pubsub_gaps_total": "counter",
}
CLUSTER_FAMILIES = {
    "gw_redis_up": "gauge", "gw_redis_state": "gauge",
    "gw_redis_latency_ms": "gauge", "gw_redis_reconnects_total": "counter",
    "gw_redis_bad_replies_total": "counter", "gw_inbound_total": "counter",
}


def check_families(m, want):
    missing = {f: t for f, t in want.items() if m.types.get(f) != t}
    assert not missing, f"families missing or mistyped (want): {missing}; " \
                        f"have {m.types}"
    for name, labels, value, fam in m.samples:
        assert labels.get("node") == "n1", \
            f"{name}{labels}: every sample carries node=\"n1\""
        if m.types[fam] == "counter" or name.endswith(("_count", "_bucket")):
            assert value >= 0, f"negative {name}{labels} {value}"


def test_metrics_text_format(gateway):
    gw = api_node(gateway)
    r = gw.admin.get("/metrics")
    assert r.status == 200, r
    assert r.ctype.startswith("text/plain"), r.ctype
    m = gw.admin.metrics()
    check_families(m, STANDALONE_FAMILIES)
    for fam in m.types:
        assert fam in m.helps, f"{fam}: # TYPE without # HELP"
    for fam in m.helps:
        assert fam in m.types, f"{fam}: # HELP without # TYPE"
    assert m.get("gw_connections", node="n1") == 0, m.text
    assert m.get("gw_admissions_total", node="n1") == 0, m.text
    for name, labels, _, _ in m.samples:
        if name == "gw_pubsub_messages_total":
            assert labels.get("direction") in ("in", "out"), labels
        if name in ("gw_rejections_total", "gw_disconnects_total",
                    "gw_drops_total"):
            assert labels.get("reason"), f"{name} without a reason: {labels}"


def test_metrics_connections_and_rejections(gateway):
    gw = api_node(gateway)
    N = 3

    def gauge():
        return gw.admin.metrics().get("gw_connections", node="n1")

    async def body():
        m0 = gw.admin.metrics()
        adm0 = m0.value("gw_admissions_total", node="n1")
        clients = [await gw.join("chess", f"u{i}") for i in range(N - 1)]
        clients.append(await gw.join("go", "solo"))
        await await_until(lambda: gauge() == N, 3,
                          f"gw_connections == {N}")
        m = gw.admin.metrics()
        assert m.value("gw_admissions_total", node="n1") - adm0 == N, m.text
        assert m.get("gw_lobbies", node="n1") == 2, m.text
        assert m.get("gw_connecting", node="n1") == 0, m.text

        await clients[0].close()
        await await_until(lambda: gauge() == N - 1, 3,
                          f"gw_connections == {N - 1} after a close")
        await await_until(
            lambda: gw.admin.metrics().value(
                "gw_disconnects_total", node="n1", reason="normal") >= 1,
            3, "gw_disconnects_total{reason=normal} counted")

        def rej(reason):
            return gw.admin.metrics().value("gw_rejections_total",
                                            node="n1", reason=reason)
        u0, b0 = rej("unauthorized"), rej("bad_lobby")
        await gw.expect_rejected(4001, "unauthorized", token="not.a.jwt")
        await gw.expect_rejected(4001, "unauthorized",
                                 token=gw.token("eve", secret="w" * 40))
        await await_until(lambda: rej("unauthorized") == u0 + 2, 3,
                          "gw_rejections_total{reason=unauthorized} += 2")
        await gw.expect_rejected(4000, "bad_lobby", lobby="x" * 65)
        await await_until(lambda: rej("bad_lobby") == b0 + 1, 3,
                          "gw_rejections_total{reason=bad_lobby} += 1")
        assert rej("unauthorized") == u0 + 2
        assert gauge() == N - 1, "rejections must not count as connections"
    run(body())


def test_metrics_message_counters(gateway):
    gw = api_node(gateway)

    async def body():
        alice = await gw.join("chess", "alice")
        bob = await gw.join("chess", "bob")
        await recv_match(alice, "presence_join",
                         lambda m: m.get("user") == "bob")
        m0 = gw.admin.metrics()

        def v(m, name):
            return m.value(name, node="n1")
        await alice.broadcast({"move": "e4"})
        await bob.recv_json("message")
        m1 = await await_until(
            lambda: (lambda m: m if v(m, "gw_messages_out_total") >
                     v(m0, "gw_messages_out_total") else None)(
                gw.admin.metrics()),
            3, "gw_messages_out_total increases after a broadcast")
        assert v(m1, "gw_messages_in_total") >= \
            v(m0, "gw_messages_in_total") + 1, m1.text
        assert v(m1, "gw_bytes_in_total") > v(m0, "gw_bytes_in_total")
        assert v(m1, "gw_bytes_out_total") > v(m0, "gw_bytes_out_total")

        gw.admin.ok("POST", "/api/broadcast", {"data": "all"})
        await alice.recv_json("message")
        await bob.recv_json("message")
        await await_until(
            lambda: v(gw.admin.metrics(), "gw_messages_out_total") >=
            v(m1, "gw_messages_out_total") + 2, 3,
            "gw_messages_out_total += 2 after /api/broadcast to 2 clients")
    run(body())


def test_metrics_histogram_cumulative(gateway):
    gw = api_node(gateway, heartbeat_interval=1)

    def count_ok():
        m = gw.admin.metrics()
        return m if m.value("gw_ping_rtt_ms_count", node="n1") >= 1 else None

    async def body():
        alice = await gw.join("chess", "alice")
        alice.answer_health = True
        await alice.recv_json("health_ping", timeout=4)
        m = await await_until(count_ok, 3, "gw_ping_rtt_ms_count >= 1")
        buckets = [(l["le"], v) for l, v in m.all("gw_ping_rtt_ms_bucket")]
        assert buckets, m.text
        assert buckets[-1][0] == "+Inf", f"last bucket {buckets[-1]}"
        les = [float(le) for le, _ in buckets]
        assert les == sorted(les) and len(set(les)) == len(les), \
            f"bucket bounds not increasing: {les}"
        vals = [v for _, v in buckets]
        assert all(a <= b for a, b in zip(vals, vals[1:])), \
            f"buckets not cumulative: {buckets}"
        count = m.get("gw_ping_rtt_ms_count", node="n1")
        assert buckets[-1][1] == count, \
            f"le=+Inf {buckets[-1][1]} != _count {count}"
        assert m.get("gw_ping_rtt_ms_sum", node="n1") is not None, m.text
    run(body())


# ==========================================================================
# /ready while draining
# ==========================================================================

def test_ready_503_while_draining(gateway):
    gw = api_node(gateway, shutdown_timeout=8)

    async def body():
        # A raw peer that never reads nor answers the close keeps the node
        # draining.
        zombie = await gw.raw("chess", "zombie", rcvbuf=4096)
        assert gw.admin.get("/ready").status == 200
        gw.send_signal(signal.SIGTERM)

        def draining():
            r = gw.admin.get("/ready", timeout=1)
            return r if r.status != 200 else None
        r = await await_until(draining, 3, "/ready leaves 200 after SIGTERM",
                              interval=0.01)
        assert gw.running(), "the node exited before /ready said draining"
        assert r.status == 503, r
        assert r.json() == {"ready": False, "why": "draining"}, r
        h = gw.admin.get("/healthz")
        assert h.status == 200 and h.json() == {"status": "ok"}, \
            f"/healthz while draining: {h!r}"
        r = gw.admin.get("/ready")
        assert r.status == 503 and r.json().get("why") == "draining", r
        assert gw.running()
        # the last connection goes: the node exits promptly, with 0
        zombie.abort()
    run(body())
    rc = gw.wait_exit(5)
    assert rc == 0, f"exit code {rc} after the drain"


# ==========================================================================
# /dev/token and the embedded files (WebSocket port)
# ==========================================================================

def test_dev_token_disabled_by_default(gateway):
    gw = api_node(gateway)
    status, _, body = gw.http_get("/dev/token?user=alice")
    assert status == 404, (status, body)


def test_dev_token_connects_as_user(gateway):
    gw = api_node(gateway, dev_tokens=True)
    status, headers, body = gw.http_get("/dev/token?user=dana")
    assert status == 200, (status, body)
    assert "application/json" in headers.get("content-type", ""), headers
    doc = json.loads(body)
    tok = doc.get("token")
    assert isinstance(tok, str) and tok.count(".") == 2, doc

    async def run_it():
        c = await gw.join("chess", None, token=tok)
        subset(c.welcome, user="dana", lobby="chess")
        doc = gw.admin.ok("GET", "/api/users/dana")
        assert [e["connection_id"] for e in doc["connections"]] == \
            [c.conn_id], doc
    run(run_it())


def test_client_js_served(gateway):
    # A shipped file: missing is a failure, not a reason to skip.
    assert os.path.exists(os.path.join(ROOT, "clients/js/gateway.js"))
    gw = api_node(gateway)
    status, headers, body = gw.http_get("/client/gateway.js")
    assert status == 200, status
    assert headers.get("content-type", "").startswith("text/javascript"), \
        headers
    assert len(body) > 100, body


def test_dashboard_served(gateway):
    assert os.path.exists(os.path.join(ROOT, "dashboard/index.html"))
    gw = api_node(gateway)
    for path in ("/", "/dashboard/index.html"):
        status, headers, body = gw.http_get(path)
        assert status == 200, (path, status)
        assert headers.get("content-type", "").startswith("text/html"), \
            (path, headers)
        assert b"<" in body[:200].lower(), body[:200]


def test_cluster_endpoint_standalone(gateway):
    gw = api_node(gateway, public_cluster_info=True)
    doc = gw.http_json("/cluster")
    assert [n.get("id") for n in doc.get("nodes", [])] == ["n1"], doc
    assert doc.get("total") == 0, doc


def test_cluster_endpoint_not_public_by_default(gateway):
    """/cluster lists every node's address and admin address: without
    --public-cluster-info the public port does not serve it; the admin
    listener does, with the API key (/api/stats)."""
    gw = api_node(gateway)
    status, _, body = gw.http_get("/cluster")
    assert status == 404, (status, body)
    assert b"addr" not in body, body
    doc = gw.admin.ok("GET", "/api/stats")
    assert [n.get("id") for n in doc.get("nodes", [])] == ["n1"], doc


# ==========================================================================
# Cluster (a real redis-server, two nodes)
# ==========================================================================

@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


def ready_status(gw):
    try:
        r = gw.admin.get("/ready", timeout=1)
    except OSError as e:
        return e
    return r


def wait_ready(gw, timeout=8):
    return wait_for(lambda: (lambda r: r if getattr(r, "status", 0) == 200
                             else None)(ready_status(gw)),
                    timeout, f"{gw.node_id} /ready 200")


def cluster_nodes(gateway, redis, ids=("n1", "n2"), **opts):
    nodes = [start_admin_node(gateway, key=API_KEY, redis=redis.url,
                              node_id=i, lease_ttl=TTL, **opts) for i in ids]
    wait_nodes_ready(redis, list(ids), 10)
    for n in nodes:
        wait_ready(n)
    return nodes


def test_cluster_ready_follows_redis(gateway, redis):
    (a,) = cluster_nodes(gateway, redis, ids=("n1",))
    r = a.admin.get("/ready")
    assert r.status == 200 and r.json().get("ready") is True, r
    m = a.admin.metrics()
    check_families(m, {**STANDALONE_FAMILIES, **CLUSTER_FAMILIES})
    assert m.get("gw_redis_up", node="n1") == 1, m.text
    assert m.get("gw_redis_state", node="n1", state="ready") == 1, m.text
    assert sum(v for _, v in m.all("gw_redis_state")) == 1, m.text

    redis.kill9()
    t0 = time.monotonic()
    r = wait_for(lambda: (lambda r: r if getattr(r, "status", 0) == 503
                          else None)(ready_status(a)),
                 6, "/ready 503 after redis was killed")
    doc = r.json()
    assert doc.get("ready") is False and \
        doc.get("why") in ("redis_not_ready", "pubsub_probe_stale"), doc
    assert set(doc) == {"ready", "why"}, doc
    assert a.admin.get("/healthz").status == 200, "/healthz must stay 200"
    wait_for(lambda: a.admin.metrics().get("gw_redis_up", node="n1") == 0,
             3, "gw_redis_up 0 while redis is down")
    down_for = time.monotonic() - t0

    redis.restart()
    wait_ready(a, timeout=12)
    m = a.admin.metrics()
    assert m.get("gw_redis_up", node="n1") == 1, m.text
    assert m.value("gw_redis_reconnects_total", node="n1") >= 1, m.text
    assert down_for < 6


def test_cluster_api_across_nodes(gateway, redis):
    na, nb = cluster_nodes(gateway, redis, public_cluster_info=True)
    A = na.admin

    async def body():
        alice = await na.join("chess", "alice")
        bob = await nb.join("chess", "bob")
        carol = await nb.join("go", "carol")
        await wait_subscribed(redis, "chess", 2)
        await wait_subscribed(redis, "go", 1)

        # publish on A reaches B's members (and A's), exactly once
        A.ok("POST", "/api/publish", {"lobby": "go", "data": TRICKY})
        m = await carol.recv_json("message")
        subset(m, type="message", lobby="go", **{"from": "server"})
        assert_data(m, TRICKY)
        A.ok("POST", "/api/publish",
             {"lobby": "chess", "data": {"k": 1}, "from": "backend"})
        for c in (alice, bob):
            m = await c.recv_json("message")
            subset(m, lobby="chess", data={"k": 1}, **{"from": "backend"})
        await asyncio.gather(*(expect_none(c, "message", 0.4)
                               for c in (alice, bob, carol)))

        # send on A to a user on B
        A.ok("POST", "/api/send", {"user": "bob", "data": "psst"})
        subset(await bob.recv_json("direct"), type="direct", data="psst",
               **{"from": "server"})
        await expect_none(bob, "direct", 0.3)
        assert_error(A.post("/api/send", {"user": "nobody", "data": 1}),
                     404, "not_found")

        # lookups on A see B's connections
        doc = A.ok("GET", "/api/users/bob")
        assert doc.get("user") == "bob", doc
        assert len(doc["connections"]) == 1, doc
        subset(doc["connections"][0], connection_id=bob.conn_id, node="n2",
               lobby="chess")
        assert abs(doc["connections"][0]["since"] - now_ms()) < 60000, doc
        doc = A.ok("GET", "/api/lobbies/chess")
        subset(doc, lobby="chess", count=2)
        assert sorted((u["user"], u["connection_id"], u["node"])
                      for u in doc["users"]) == sorted(
            [("alice", alice.conn_id, "n1"), ("bob", bob.conn_id, "n2")]), doc

        # stats and /cluster show both nodes (snapshot every TTL/3 s)
        # (each node's conns is refreshed with its lease: wait for it too)
        def stats_ok(doc):
            conns = {n.get("id"): n.get("conns") for n in doc.get("nodes", [])}
            return doc if conns == {"n1": 1, "n2": 2} and \
                doc.get("total") == 3 else None
        doc = await await_until(lambda: stats_ok(A.ok("GET", "/api/stats")),
                                TTL + 2, "/api/stats: n1 1 conn, n2 2, total 3")
        for key in ("max_connections", "capacity_percent", "active_lobbies"):
            assert key in doc, f"/api/stats lacks {key}: {doc}"
        assert doc["active_lobbies"] == 2, doc
        doc = A.ok("GET", "/api/nodes")
        assert {n.get("id") for n in doc.get("nodes", doc
                                             if isinstance(doc, list)
                                             else [])} >= {"n1", "n2"}, doc
        await await_until(lambda: stats_ok(na.http_json("/cluster")),
                          TTL + 2, "GET /cluster: nodes n1,n2, total 3")

        # broadcast on A reaches every connection in the cluster once
        A.ok("POST", "/api/broadcast", {"data": "all", "from": "ops"})
        for c in (alice, bob, carol):
            m = await c.recv_json("message")
            subset(m, lobby="*", data="all", **{"from": "ops"})
        await asyncio.gather(*(expect_none(c, "message", 0.4)
                               for c in (alice, bob, carol)))

        # kick on A closes bob on B
        A.ok("POST", "/api/kick", {"user": "bob"})
        await bob.expect_close(4009, "kicked")
        m = await recv_match(alice, "presence_leave",
                             lambda m: m.get("user") == "bob", timeout=5)
        subset(m, reason="kicked")

        def bob_gone():
            r = A.get("/api/users/bob")
            return r if r.status == 404 else None
        assert_error(await await_until(bob_gone, 3, "bob gone from /api"),
                     404, "not_found")
        assert_error(A.post("/api/kick", {"user": "bob"}), 404, "not_found")
        assert_error(A.post("/api/kick", {"user": "nobody"}), 404,
                     "not_found")
    run(body())


def test_cluster_kick_connection_id_across_nodes(gateway, redis):
    na, nb = cluster_nodes(gateway, redis, user_policy="multi")

    async def body():
        d1 = await nb.join("chess", "dave")
        d2 = await nb.join("go", "dave")
        d3 = await na.join("chess", "dave")
        na.admin.ok("POST", "/api/kick",
                    {"user": "dave", "connection_id": d1.conn_id})
        await d1.expect_close(4009, "kicked")
        na.admin.ok("POST", "/api/send", {"user": "dave", "data": "still"})
        for c in (d2, d3):
            subset(await c.recv_json("direct"), data="still")

        def listed():
            r = na.admin.get("/api/users/dave")
            ids = sorted(c["connection_id"] for c in r.json()["connections"]) \
                if r.status == 200 else r
            return ids if ids == sorted([d2.conn_id, d3.conn_id]) else None
        await await_until(listed, 3, "dave's two remaining connections")
    run(body())


def xrange(redis, key="{gw}:inbound"):
    out = []
    for entry_id, flat in redis.cmd("XRANGE", key, "-", "+") or []:
        out.append((entry_id, dict(zip(flat[0::2], flat[1::2]))))
    return out


def test_inbound_stream(gateway, redis):
    (na,) = cluster_nodes(gateway, redis, ids=("n1",))

    async def body():
        alice = await na.join("chess", "alice")
        sent = ['{"type":"chat.custom","x":1}',
                '{ "type" : "game.move", "move": {"from":"e2","to":"e4"},'
                ' "n": [1, 2.5, null], "s": "caf\\u00e9 \u2603" }']
        t0 = now_ms()
        for s in sent:
            await alice.send_raw(s)
        entries = await await_until(
            lambda: (lambda e: e if len(e) >= 2 else None)(xrange(redis)),
            3, "two entries in {gw}:inbound")
        assert len(entries) == 2, entries
        for (eid, f), s in zip(entries, sent):
            assert set(f) == {"lobby", "user", "node", "connection_id",
                              "type", "payload", "time"}, f
            subset(f, lobby="chess", user="alice", node="n1",
                   connection_id=alice.conn_id, type=json.loads(s)["type"])
            assert f["payload"] == s, \
                f"payload must be the exact JSON sent:\n got  " \
                f"{f['payload']!r}\n want {s!r}"
            assert t0 - 2000 <= int(f["time"]) <= now_ms() + 2000, f
        await expect_none(alice, "error", 0.3)
        await await_until(
            lambda: na.admin.metrics().get("gw_inbound_total",
                                           node="n1") == 2,
            2, "gw_inbound_total == 2")
        # the cli view a backend would use agrees
        assert redis.cli("XLEN", "{gw}:inbound") == "2"
    run(body())


def test_inbound_disabled_refuses_unknown_type(gateway, redis):
    (na,) = cluster_nodes(gateway, redis, ids=("n1",), inbound_maxlen=0)

    async def body():
        alice = await na.join("chess", "alice")
        await alice.send_raw('{"type":"chat.custom","x":1}')
        subset(await alice.recv_json("error"), code="unknown_type")
        assert redis.cmd("EXISTS", "{gw}:inbound") == 0, xrange(redis)
        assert na.admin.metrics().value("gw_inbound_total", node="n1") == 0
    run(body())


def test_inbound_message_filling_its_buffer_exactly(gateway, redis):
    # A message reassembled from fragments sits in a buffer exactly as long
    # as the message (1,024 bytes), with no NUL after it. The node used to
    # strlen() it: a heap over-read that the ASan build reports and aborts on.
    (na,) = cluster_nodes(gateway, redis, ids=("n1",))

    async def body():
        alice = await na.raw("chess", "alice")
        head, tail = '{"type":"chat.custom","pad":"', '"}'
        msg = head + "x" * (1024 - len(head) - len(tail)) + tail
        assert len(msg) == 1024
        await alice.send_fragments([msg[:512].encode(), msg[512:].encode()])
        entries = await await_until(
            lambda: xrange(redis) or None, 3, "an entry in {gw}:inbound")
        assert [f["payload"] for _, f in entries] == [msg]
    run(body())
    assert na.running(), na.log_tail()


def test_inbound_bounded_per_message_and_per_user(gateway, redis):
    # Any logged-in client can write to Redis through the inbound stream:
    # each entry is capped in bytes (--inbound-max-message) and each user in
    # rate (--inbound-rate per second, on each node); what is over is
    # dropped, counted and answered with an error frame.
    (na,) = cluster_nodes(gateway, redis, ids=("n1",), inbound_max_message=256,
                          inbound_rate=1, user_policy="multi")

    async def body():
        alice = await na.join("chess", "alice")
        alice2 = await na.join("go", "alice")
        big = json.dumps({"type": "chat.custom", "pad": "x" * 300})
        await alice.send_raw(big)
        subset(await alice.recv_json("error"), code="inbound_too_big")
        assert redis.cmd("EXISTS", "{gw}:inbound") == 0, xrange(redis)

        # One message a second per user, shared by the user's connections
        # (the second comes well within the second).
        await alice.send_raw(json.dumps({"type": "chat.custom", "i": 0}))
        await alice2.send_raw(json.dumps({"type": "chat.custom", "i": 1}))
        subset(await alice2.recv_json("error"), code="inbound_rate_limited")
        await expect_none(alice, "error", 0.3)
        # another user has a budget of their own
        bob = await na.join("chess", "bob")
        await bob.send_raw(json.dumps({"type": "chat.custom", "i": 2}))
        entries = await await_until(
            lambda: (lambda e: e if len(e) >= 2 else None)(xrange(redis)),
            3, "two entries in {gw}:inbound")
        assert sorted(json.loads(f["payload"])["i"] for _, f in entries) == \
            [0, 2], entries
        m = na.admin.metrics()
        assert m.get("gw_inbound_total", node="n1") == 2, m.text
        assert m.get("gw_drops_total", node="n1",
                     reason="inbound_too_big") == 1, m.text
        assert m.get("gw_drops_total", node="n1",
                     reason="inbound_rate_limited") == 1, m.text
        # the connections stay open
        await alice.send_raw('{"type":"presence"}')
        await alice.recv_json("presence")
    run(body())


def test_kick_other_nodes_connection_id_spares_ours(gateway):
    # "n9.<hex>" names connection <hex> of node n9, not of this node: a
    # local kick must compare the node part too.
    gw = api_node(gateway, user_policy="multi")

    async def body():
        a1 = await gw.join("chess", "alice")
        counter = a1.conn_id.rsplit(".", 1)[1]
        assert a1.conn_id == "n1." + counter
        assert_error(gw.admin.post("/api/kick", {
            "user": "alice", "connection_id": "n9." + counter}),
            404, "not_found")
        await expect_none(a1, "error", 0.3)
        await a1.send_raw('{"type":"presence"}')
        subset(await a1.recv_json("presence"), users=["alice"])
        gw.admin.ok("POST", "/api/kick",
                    {"user": "alice", "connection_id": a1.conn_id})
        await a1.expect_close(4009, "kicked")
    run(body())


def test_malformed_sweep_reply_drops_the_link(gateway, redis):
    # A dead node's entry planted with an empty lobby makes sweep.lua return
    # a triple cut short by "". The node must refuse the reply (log, count,
    # drop and re-establish the link), not guess at what it means.
    (na,) = cluster_nodes(gateway, redis, ids=("n1",))
    redis.cmd("ZADD", "{gw}:nodes", 1, "ghost")
    redis.cmd("HSET", "{gw}:node:ghost:conns", "ghost.1", "bob\t")
    wait_for(lambda: redis.cmd("EXISTS", "{gw}:node:ghost:conns") == 0,
             3 * TTL, "the ghost node swept")
    wait_for(lambda: na.admin.metrics().get("gw_redis_bad_replies_total",
                                            node="n1") == 1,
             3, "gw_redis_bad_replies_total == 1")
    assert [r for r in na.log_records("redis_bad_reply")
            if r.get("reply") == "sweep"], na.log_tail()
    # the link comes back and the node serves
    wait_ready(na, 10)

    async def body():
        alice = await na.join("chess", "alice")
        await alice.send_raw('{"type":"presence"}')
        subset(await alice.recv_json("presence"), users=["alice"])
    run(body())
