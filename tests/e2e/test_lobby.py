"""Lobby names in the URL and the welcome message."""
import pytest
import websockets.exceptions

from gwtest import run

VALID_64 = ("Az09_-.:" * 8)[:64]


@pytest.mark.parametrize("lobby", [
    "x" * 65,
    "",
    "a%20b",
    "a/b",
    "a%2Fb",
    "a*b",
    "%C3%A9t%C3%A9",
    "a+b",
], ids=["65-bytes", "empty", "space", "slash", "encoded-slash", "star",
        "non-ascii", "plus"])
def test_bad_lobby_name_closes_4000(gateway, lobby):
    gw = gateway()
    run(gw.expect_rejected(4000, "bad_lobby", path="/ws/" + lobby))


def test_nul_in_path_is_refused_by_the_http_parser(gateway):
    """libwebsockets refuses a %00 in the path while parsing the request
    (before any callback), so no upgrade happens: the handshake fails, and
    the node keeps serving."""
    gw = gateway()

    async def body():
        with pytest.raises((websockets.exceptions.InvalidHandshake, OSError, EOFError)):
            c = await gw.connect(path="/ws/a%00b")
            await c.wait_close()
        ok = await gw.join("chess", "alice")
        await ok.close()
    run(body())


@pytest.mark.parametrize("path", ["/ws", "/lobby/chess", "/"])
def test_non_ws_path_is_refused(gateway, path):
    """Not /ws/...: an HTTP 4xx refusal, or upgrade + 4000, never a
    welcome."""
    gw = gateway()

    async def body():
        try:
            c = await gw.connect(path=path)
        except websockets.exceptions.InvalidStatusCode as e:
            assert 400 <= e.status_code < 500, \
                f"{path}: HTTP {e.status_code}, want 4xx"
            return
        code, reason, got = await c.wait_close()
        assert (code, reason) == (4000, "bad_lobby"), \
            f"{path}: upgraded then closed {code} {reason!r} after {got}"
    run(body())


def test_longest_valid_lobby_name(gateway):
    gw = gateway()

    async def body():
        c = await gw.join(VALID_64)
        assert c.welcome["lobby"] == VALID_64
    run(body())


def test_welcome_fields(gateway):
    gw = gateway(node_id="node-e2e-7", heartbeat_interval=7,
                 max_message_size=12345)

    async def body():
        a = await gw.join("chess", "alice")
        b = await gw.join("chess", "bob")
        w = a.welcome
        assert w["type"] == "welcome"
        assert w["user"] == "alice"
        assert w["lobby"] == "chess"
        assert w["node"] == "node-e2e-7"
        assert w["heartbeat_interval"] == 7
        assert w["max_message_size"] == 12345
        assert isinstance(w["connection_id"], str) and w["connection_id"]
        assert b.welcome["connection_id"] != w["connection_id"], \
            "two connections share a connection_id"
        assert b.welcome["user"] == "bob"
    run(body())


def test_lobby_name_is_case_sensitive(gateway):
    gw = gateway(presence_events=False)

    async def body():
        a = await gw.join("Chess", "alice")
        await gw.join("chess", "bob")
        p = await a.presence()
        assert p["lobby"] == "Chess"
        assert sorted(p["users"]) == ["alice"], p
    run(body())
