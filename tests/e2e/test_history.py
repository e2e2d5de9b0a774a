"""Lobby history and resume (--history-size): offsets, epochs, replay on
another node, the honest recovered:false, refusals and gap repair.

Real redis-server, several gateway processes, real WebSocket clients
(docs/protocol.md, "Resume"; docs/redis-schema.md, "Lobby history").
"""
import asyncio
import json
import urllib.request

import pytest

from cluster import (RedisServer, expect_none, recv_match, start_nodes,
                     wait_nodes_ready, wait_subscribed)
from api_helpers import start_admin_node
from gwtest import run, subset
from sse_client import SSE

HIST = {"history_size": 100, "history_ttl": 60}


@pytest.fixture
def redis(request, tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


def is_msg(data):
    return lambda m: m.get("data") == data


def resume_path(lobby, since, epoch):
    return f"/ws/{lobby}?since={since}&epoch={epoch}"


async def messages(client, n, timeout=5.0):
    """The next n message frames, in order."""
    return [await client.recv_json("message", timeout=timeout) for _ in range(n)]


def test_offsets_and_epoch_in_frames(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2, **HIST)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        w = alice.welcome
        assert isinstance(w.get("epoch"), str) and w["epoch"], w
        assert w.get("offset") == 0 and w.get("recovered") is False, w
        assert bob.welcome["epoch"] == w["epoch"], bob.welcome
        await wait_subscribed(redis, "chess", 2)

        await alice.broadcast({"i": 1})
        m1 = await recv_match(bob, "message", is_msg({"i": 1}))
        assert m1["offset"] == 1, m1
        await bob.broadcast({"i": 2}, echo=True)
        m2 = await recv_match(bob, "message", is_msg({"i": 2}))
        assert m2["offset"] == 2, m2
        m2a = await recv_match(alice, "message", is_msg({"i": 2}))
        assert m2a == m2
        # the sender without echo does not get its own message back
        await expect_none(alice, "message", 0.5, pred=is_msg({"i": 1}))
        # the history in Redis: a stream with offsets as ids
        assert redis.cmd("XLEN", "{gw}:hist:chess") == 2
        assert redis.cmd("HGET", "{gw}:hmeta:chess", "offset") == "2"
        assert redis.cmd("HGET", "{gw}:hmeta:chess", "epoch") == w["epoch"]
        assert 0 < redis.cmd("TTL", "{gw}:hist:chess") <= 60
    run(body())


def test_resume_on_another_node_replays_exactly_the_missed(gateway, redis):
    n1, n2, n3 = start_nodes(gateway, redis, n=3, **HIST)

    async def body():
        carol = await n1.join("chess", "carol")
        alice = await n2.join("chess", "alice")
        bob = await n3.join("chess", "bob")
        dave = await n1.join("chess", "dave")  # stays: the cluster's order
        await wait_subscribed(redis, "chess", 3)
        await alice.broadcast({"before": 1})
        last = await recv_match(carol, "message", is_msg({"before": 1}))
        await recv_match(dave, "message", is_msg({"before": 1}))
        epoch = carol.welcome["epoch"]
        await carol.close()

        # 20 messages from two nodes while carol is away
        for i in range(20):
            await (alice if i % 2 else bob).broadcast({"i": i})
        seen = await messages(dave, 20)
        assert sorted(m["data"]["i"] for m in seen) == list(range(20))

        back = await n3.join("chess", "carol",
                             path=resume_path("chess", last["offset"], epoch))
        w = back.welcome
        assert w["recovered"] is True, w
        assert w["epoch"] == epoch and w["offset"] == last["offset"] + 20, w
        got = await messages(back, 20)
        assert got == seen, (got, seen)
        assert [m["offset"] for m in got] == \
            list(range(last["offset"] + 1, last["offset"] + 21))
        # then live, with no duplicate at the seam
        await alice.broadcast({"live": 1})
        m = await back.recv_json("message")
        assert m["data"] == {"live": 1} and m["offset"] == w["offset"] + 1, m
        await expect_none(back, "message", 0.5)
    run(body())


def test_resume_with_live_traffic_has_no_seam(gateway, redis):
    """Messages keep flowing while a client drops and resumes, again and
    again, on alternating nodes: across all its sessions it sees every
    offset exactly once, in order."""
    n1, n2 = start_nodes(gateway, redis, n=2, rate_limit=100000,
                         rate_burst=100000, history_size=2000, history_ttl=60)
    N = 400  # below the replay bound (--send-queue-max / 2)

    async def body():
        carol = await n1.join("chess", "carol")
        alice = await n2.join("chess", "alice")
        await wait_subscribed(redis, "chess", 2)
        await alice.broadcast({"k": -1})
        first = await recv_match(carol, "message", is_msg({"k": -1}))
        epoch = carol.welcome["epoch"]
        got = []

        async def talk():
            for i in range(N):
                await alice.broadcast({"k": i})
                await asyncio.sleep(0.001)  # a stream, interleaved with the joins

        sender = asyncio.ensure_future(talk())
        last = first["offset"]
        for rnd in range(16):
            await carol.close()
            gw = (n1, n2)[rnd % 2]
            carol = await gw.join("chess", "carol",
                                  path=resume_path("chess", last, epoch))
            assert carol.welcome["recovered"] is True, carol.welcome
            for _ in range(20):
                m = await carol.recv_json("message")
                got.append(m)
                last = m["offset"]
        await sender
        while len(got) < N:
            got.append(await carol.recv_json("message"))
        assert [m["offset"] for m in got] == \
            list(range(first["offset"] + 1, first["offset"] + N + 1)), \
            [m["offset"] for m in got]
        assert [m["data"]["k"] for m in got] == list(range(N))
        await expect_none(carol, "message", 0.5)
    run(body())


def test_resume_after_overflow_is_not_recovered(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2, history_size=10, history_ttl=60,
                         rate_limit=100000, rate_burst=100000)

    async def body():
        carol = await n1.join("chess", "carol")
        alice = await n2.join("chess", "alice")
        await wait_subscribed(redis, "chess", 2)
        await alice.broadcast({"x": 0})
        last = await recv_match(carol, "message", is_msg({"x": 0}))
        epoch = carol.welcome["epoch"]
        await carol.close()
        for i in range(300):  # far past MAXLEN ~ 10
            await alice.broadcast({"x": i + 1}, echo=True)
        await recv_match(alice, "message", is_msg({"x": 300}), timeout=10)
        back = await n2.join("chess", "carol",
                             path=resume_path("chess", last["offset"], epoch))
        w = back.welcome
        assert w["recovered"] is False and w["offset"] == last["offset"] + 300, w
        await expect_none(back, "message", 0.5)
        await alice.broadcast({"after": 1})
        m = await back.recv_json("message")
        assert m["data"] == {"after": 1} and m["offset"] == w["offset"] + 1
    run(body())


def test_resume_after_redis_restart_is_not_recovered(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2, **HIST)

    async def body():
        carol = await n1.join("chess", "carol")
        alice = await n2.join("chess", "alice")
        await wait_subscribed(redis, "chess", 2)
        await alice.broadcast({"y": 1})
        last = await recv_match(carol, "message", is_msg({"y": 1}))
        epoch = carol.welcome["epoch"]
        await carol.close()
        await alice.aclose_quiet()

        redis.restart()  # empty: the history and its epoch are gone
        wait_nodes_ready(redis, ["n1", "n2"], 15)
        back = await n1.join_eventually(
            "chess", "carol", timeout=10,
            path=resume_path("chess", last["offset"], epoch))
        w = back.welcome
        assert w["recovered"] is False, w
        assert w["epoch"] != epoch and w["offset"] == 0, w
    run(body())


@pytest.mark.parametrize("query", [
    "since=abc&epoch=e1",
    "since=-1&epoch=e1",
    "since=5",                      # one without the other
    "epoch=e1",
    "since=12345678901234567890&epoch=e1",   # past 19 digits / int64
    "since=5&epoch=" + "e" * 33,    # too long
    "since=5&epoch=a%20b",          # not [A-Za-z0-9_-]
])
def test_malformed_resume_is_refused(gateway, redis, query):
    (n1,) = start_nodes(gateway, redis, n=1, **HIST)

    async def body():
        await n1.expect_rejected(4010, "bad_request", "chess", "alice",
                                 path="/ws/chess?" + query)
    run(body())


def test_history_off_ignores_resume_and_keeps_frames(gateway, redis):
    """--history-size 0: frames exactly as before, no history keys."""
    n1, n2 = start_nodes(gateway, redis, n=2)

    async def body():
        alice = await n1.join("chess", "alice",
                              path="/ws/chess?since=abc&epoch=x")
        assert set(alice.welcome) == {"type", "connection_id", "user", "lobby",
                                      "node", "heartbeat_interval",
                                      "max_message_size"}, alice.welcome
        bob = await n2.join("chess", "bob")
        await wait_subscribed(redis, "chess", 2)
        await alice.broadcast({"z": 1})
        m = await recv_match(bob, "message", is_msg({"z": 1}))
        assert set(m) == {"type", "lobby", "from", "data"}, m
        assert redis.cmd("EXISTS", "{gw}:hist:chess", "{gw}:hmeta:chess") == 0
    run(body())


def test_gap_on_pubsub_is_repaired_from_history(gateway, redis):
    """Offsets 1..3 are in the stream but only 3 is published (a pub/sub
    loss): the node fetches 1 and 2 and delivers 1, 2, 3 in order, with no
    gap event."""
    (n1,) = start_nodes(gateway, redis, n=1, **HIST)

    async def body():
        alice = await n1.join("chess", "alice")
        await wait_subscribed(redis, "chess", 1)
        frames = []
        for off in (1, 2, 3):
            f = {"type": "message", "lobby": "chess", "from": "bk",
                 "data": {"n": off}, "offset": off}
            frames.append(f)
            redis.cmd("HINCRBY", "{gw}:hmeta:chess", "offset", 1)
            redis.cmd("XADD", "{gw}:hist:chess", "0-%d" % off, "f",
                      json.dumps(f, separators=(",", ":")), "x", "")
        # a backend's JSON envelope: p is re-serialised in key order
        env = json.dumps({"v": 1, "t": "msg", "o": "backend", "l": "chess",
                          "p": frames[2]})
        redis.cmd("PUBLISH", "{gw}:ch:lobby:chess", env)
        got = await messages(alice, 3)
        assert [m["offset"] for m in got] == [1, 2, 3], got
        assert [m["data"] for m in got] == [{"n": 1}, {"n": 2}, {"n": 3}]
        await expect_none(alice, "gap", 0.3)

        # offsets the stream no longer holds: a gap event, then the message
        f = dict(frames[2], offset=9)
        redis.cmd("PUBLISH", "{gw}:ch:lobby:chess",
                  json.dumps({"v": 1, "t": "msg", "o": "backend",
                              "l": "chess", "p": f}))
        gap = await alice.recv_json("gap")
        subset(gap, lobby="chess", missed=5)
        m = await alice.recv_json("message")
        assert m["offset"] == 9, m
    run(body())
    text = urllib.request.urlopen(
        f"http://{n1.opts['admin_listen']}/metrics", timeout=5).read().decode()
    assert 'gw_history_repairs_total{node="n1",outcome="repaired"} 2' in text, text
    assert 'gw_history_repairs_total{node="n1",outcome="lost"} 5' in text, text


def test_history_needs_redis(gateway):
    gw = gateway(history_size=10, wait=False)
    gw.expect_failure = True
    rc = gw.wait_exit(10)
    assert rc not in (None, 0), "started --history-size without --redis"
    assert "--history-size 10 needs --redis" in gw.log_text(), gw.log_tail()


def test_api_publish_goes_through_the_history(gateway, redis):
    """POST /api/publish with history on: the message gets the lobby's next
    offset and a resuming client gets it replayed like a client's."""
    key = "history-api-key-0123456789abcdef"
    n1 = start_admin_node(gateway, key=key, redis=redis.url, node_id="n1", **HIST)
    wait_nodes_ready(redis, ["n1"], 10)

    async def body():
        alice = await n1.join("chess", "alice")
        await wait_subscribed(redis, "chess", 1)
        await alice.broadcast({"c": 1}, echo=True)
        m1 = await recv_match(alice, "message", is_msg({"c": 1}))
        n1.admin.ok("POST", "/api/publish", {"lobby": "chess", "data": {"s": 1}})
        m2 = await recv_match(alice, "message", is_msg({"s": 1}))
        assert m2["offset"] == m1["offset"] + 1 and m2["from"] == "server", m2
        epoch = alice.welcome["epoch"]
        await alice.close()
        back = await n1.join_eventually("chess", "alice",
                                        path=resume_path("chess", m1["offset"], epoch))
        assert back.welcome["recovered"] is True, back.welcome
        assert await back.recv_json("message") == m2
    run(body())


def test_sse_ids_are_offsets_and_last_event_id_resumes(gateway, redis):
    """An SSE member gets `id:` = offset; reconnecting with Last-Event-ID
    (on another node) replays what it missed, like ?since=."""
    n1, n2 = start_nodes(gateway, redis, n=2, **HIST)

    async def body():
        sse = await SSE.open(n1, "chess", "bob")
        assert sse.welcome["recovered"] is False and "epoch" in sse.welcome
        alice = await n2.join("chess", "alice")
        await wait_subscribed(redis, "chess", 2)
        await alice.broadcast({"e": 0})
        kind, ev = await sse.next()
        while kind != "event" or json.loads(ev["data"]).get("type") != "message":
            kind, ev = await sse.next()
        m = json.loads(ev["data"])
        assert ev["id"] == str(m["offset"]), ev
        await sse.aclose_quiet()
        for i in range(1, 4):
            await alice.broadcast({"e": i}, echo=True)
        await recv_match(alice, "message", is_msg({"e": 3}))
        back = await SSE.open(n2, "chess", "bob",
                              headers=[("Last-Event-ID", ev["id"])])
        assert back.welcome["recovered"] is True, back.welcome
        got = [await back.recv_json("message") for _ in range(3)]
        assert [g["data"] for g in got] == [{"e": 1}, {"e": 2}, {"e": 3}]
        assert [g["offset"] for g in got] == [m["offset"] + k for k in (1, 2, 3)]
    run(body())
