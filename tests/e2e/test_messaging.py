"""Broadcasts, directs, presence requests and client errors.

Negative checks ("X did not receive Y") rely on per-connection ordering:
the gateway handles one client's messages in order, so a marker sent
after Y arrives after Y would have.
"""
import json

import pytest

from gwtest import run, subset

PRES = ("health_ping", "presence_join", "presence_leave")


def test_broadcast_reaches_others_not_sender(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        c = await gw.join("chess", "carol")
        await a.broadcast({"move": "e4"})
        for peer in (b, c):
            m = await peer.recv_json("message")
            subset(m, type="message", lobby="chess", data={"move": "e4"},
                   **{"from": "alice"})
        # The sender gets nothing of its own broadcast: its next message
        # is the answer to a later request.
        await a.send_json({"type": "presence"})
        nxt = await a.recv_json(skip=PRES)
        assert nxt["type"] == "presence", \
            f"sender received {nxt} before its presence reply"
    run(body())


def test_broadcast_echo(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await a.broadcast([1, 2], echo=True)
        for peer in (a, b):
            m = await peer.recv_json("message")
            assert (m["from"], m["lobby"], m["data"]) == \
                ("alice", "chess", [1, 2]), m
    run(body())


def test_broadcast_echo_false_explicit(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await a.broadcast("x", echo=False)
        assert (await b.recv_json("message"))["data"] == "x"
        await a.send_json({"type": "presence"})
        assert (await a.recv_json(skip=PRES))["type"] == "presence"
    run(body())


DATA = {
    "object": {"move": "e4", "nested": {"a": [1, {"b": None}], "t": True}},
    "string": "h\u00e9llo \"w\u00f6rld\" \\ \u2713 \U0001F600 \n\t",
    "empty-string": "",
    "int": 42,
    "negative": -7,
    "zero": 0,
    "float": 3.25,
    "int64-max": 9223372036854775807,
    "array": [1, "two", None, True, False, {"k": []}],
    "empty-array": [],
    "empty-object": {},
    "null": None,
    "true": True,
    "false": False,
}


@pytest.mark.parametrize("key", list(DATA))
def test_data_preserved(gateway, key):
    gw = gateway()
    data = DATA[key]

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await a.broadcast(data)
        m = await b.recv_json("message")
        assert "data" in m, f"no data field in {m}"
        assert m["data"] == data and type(m["data"]) is type(data), \
            f"sent {data!r}, got {m['data']!r}"
        await a.direct("bob", data)
        d = await b.recv_json("direct")
        assert d["data"] == data and type(d["data"]) is type(data), \
            f"direct: sent {data!r}, got {d['data']!r}"
    run(body())


def test_other_lobby_does_not_receive(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        c = await gw.join("go", "carol")
        await a.broadcast("secret-move")
        assert (await b.recv_json("message"))["data"] == "secret-move"
        await a.direct("carol", "marker")
        nxt = await c.recv_json(skip=PRES)
        assert nxt["type"] == "direct" and nxt["data"] == "marker", \
            f"carol (other lobby) received {nxt} before the marker"
    run(body())


def test_direct_to_user_in_other_lobby(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("go", "bob")
        await a.direct("bob", "psst")
        d = await b.recv_json("direct")
        subset(d, type="direct", data="psst", **{"from": "alice"})
    run(body())


def test_direct_to_offline_user(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        await a.direct("nobody", {"x": 1})
        e = await a.recv_json(skip=PRES)
        assert e["type"] == "error" and e["code"] == "user_offline", e
        assert isinstance(e.get("message"), str), e
        p = await a.presence()  # still connected
        assert p["users"] == ["alice"]
    run(body())


def test_direct_after_target_left_is_offline(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("go", "bob")
        await b.close()
        # Bob's departure is processed asynchronously: wait until the
        # gateway says so rather than guessing.
        for _ in range(50):
            await a.direct("bob", "hi")
            e = await a.recv_json(skip=PRES)
            if e.get("code") == "user_offline":
                return
            assert e["type"] == "error", e
        raise AssertionError("direct to a departed user never user_offline")
    run(body())


def test_presence_request(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        await gw.join("chess", "bob")
        await gw.join("go", "carol")
        p = await a.presence()
        assert p["lobby"] == "chess"
        assert sorted(p["users"]) == ["alice", "bob"], p
        assert p["count"] == 2, p
    run(body())


def expect_error(code):
    async def check(c):
        e = await c.recv_json(skip=PRES)
        assert e["type"] == "error" and e.get("code") == code, \
            f"want error {code}, got {e}"
        assert isinstance(e.get("message"), str), e
    return check


@pytest.mark.parametrize("frame,code", [
    ("{not json", "bad_json"),
    ("", "bad_json"),
    ('{"type":"broadcast","data":1', "bad_json"),
    ("[1,2,3]", "bad_json"),
    ('"broadcast"', "bad_json"),
    ("42", "bad_json"),
    ('{"type":"dance"}', "unknown_type"),
    ('{"type":"BROADCAST","data":1}', "unknown_type"),
    ('{"type":"broadcast"}', "bad_message"),
    ('{"type":"direct","data":1}', "bad_message"),
    ('{"type":"direct","to":"bob"}', "bad_message"),
    ('{"type":"direct","to":5,"data":1}', "bad_message"),
], ids=["truncated", "empty", "unterminated", "array", "string", "number",
        "unknown", "wrong-case", "broadcast-no-data", "direct-no-to",
        "direct-no-data", "direct-to-not-string"])
def test_bad_client_message_gets_error_and_stays_up(gateway, frame, code):
    gw = gateway(abuse_limit=10)

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await a.send_raw(frame)
        await expect_error(code)(a)
        await a.broadcast("still here")
        assert (await b.recv_json("message"))["data"] == "still here"
    run(body())


def test_binary_frame_refused(gateway):
    gw = gateway(abuse_limit=10)

    async def body():
        a = await gw.join("chess", "alice")
        await a.send_raw(b'{"type":"presence"}')
        await expect_error("binary_not_supported")(a)
        p = await a.presence()
        assert p["users"] == ["alice"]
    run(body())


def test_abuse_limit_closes_4008(gateway):
    gw = gateway(abuse_limit=3)

    async def body():
        a = await gw.join("chess", "alice")
        await a.send_raw("{oops")
        await expect_error("bad_json")(a)
        await a.send_json({"type": "nope"})
        await expect_error("unknown_type")(a)
        p = await a.presence()  # two strikes: still up
        assert p["lobby"] == "chess"
        await a.send_raw(b"\x00")
        await a.expect_close(4008, "protocol_abuse")
    run(body())


def test_valid_messages_do_not_count_as_abuse(gateway):
    gw = gateway(abuse_limit=2, rate_limit=1000, rate_burst=1000)

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await a.send_raw("{oops")
        await expect_error("bad_json")(a)
        for i in range(5):
            await a.broadcast(i)
            await a.presence()
            await a.direct("ghost", 0)
            await expect_error("user_offline")(a)  # not an abuse code
        for i in range(5):
            assert (await b.recv_json("message"))["data"] == i
    run(body())


def test_extra_fields_are_ignored(gateway):
    gw = gateway()

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        await a.send_raw(json.dumps({"type": "broadcast", "data": 1,
                                     "id": "abc", "from": "mallory",
                                     "lobby": "other"}))
        m = await b.recv_json("message")
        assert (m["from"], m["lobby"], m["data"]) == ("alice", "chess", 1), \
            f"client-supplied fields leaked into the message: {m}"
    run(body())
