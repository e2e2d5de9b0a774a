"""RFC 6455 conformance from outside: hand-built frames on a raw socket.

Each test opens a TCP connection, does the HTTP upgrade itself with a valid
token (gwtest.RawWS), waits for `welcome`, then writes bytes no well-behaved
client library would produce and asserts what the server does: the close
code it sends, or that it drops the connection, and that nothing of the
offending frame reached the application. Sizes and the peak RSS of the
gateway (VmHWM) show that announced lengths are never allocated up front.

The three cases marked "lws patch NN" failed before the local lws patches in
deploy/lws-patches/ (an unmasked frame and RSV1 were processed; a 1-byte
close body was echoed back); the others pass with stock lws 4.3 and are here
so they stay passing. The HTTP-level refusals (before any upgrade) are at the
end; docs/protocol.md lists which refusals are HTTP-level and why.
"""
import asyncio
import os
import socket
import struct

import pytest

from api_helpers import AdminClient
from gwtest import HOST, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, _mask, run

FIN, RSV1, RSV2, RSV3 = 0x80, 0x40, 0x20, 0x10
MIB = 1 << 20


def frame(b0, payload=b"", masked=True):
    """One frame with the first byte `b0` exactly as given (FIN, RSV bits and
    opcode), masked or not."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        hdr = bytes([b0, m | n])
    elif n < 65536:
        hdr = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        hdr = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if not masked:
        return hdr + payload
    key = os.urandom(4)
    return hdr + key + _mask(payload, key)


def masked_stream(key, offset, data):
    """`data` masked with `key` as if it started at byte `offset` of a
    frame's payload (for writing one long frame in pieces)."""
    rot = offset % 4
    return _mask(data, key[rot:] + key[:rot])


def rss_kib(gw, field="VmHWM"):
    """The gateway's peak (VmHWM) or current (VmRSS) resident set, KiB."""
    with open(f"/proc/{gw.proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{gw.proc.pid}/status")


async def send(r, data):
    r.writer.write(data)
    await r.writer.drain()


async def send_quietly(r, data, chunk=64 * 1024):
    """Writes `data` in pieces, stopping when the server has gone: it may
    close while we are still writing."""
    try:
        for i in range(0, len(data), chunk):
            r.writer.write(data[i:i + chunk])
            await r.writer.drain()
    except (ConnectionError, RuntimeError):
        pass


async def expect_dropped(r, codes, timeout=5.0):
    """The server closes (a close frame with one of `codes`) or drops the
    connection (1006 is in `codes` when dropping is acceptable)."""
    while True:
        ev = await r.recv_event(timeout)
        if ev[0] == "close":
            assert ev[1] in codes, \
                f"closed with {ev[1]} {ev[2]!r}, want one of {codes}"
            return ev[1]
        if ev[0] == "eof":
            assert 1006 in codes, f"dropped without a close frame, want {codes}"
            return 1006
        if ev[0] == "text" and '"health_ping"' in ev[1]:
            continue
        raise AssertionError(f"got {ev} before the close, want one of {codes}")


async def assert_not_relayed(bob):
    """`bob` shares the lobby with the offender: nothing the offender sent
    reached him, and the node still answers him."""
    await bob.send_json({"type": "presence"})
    await bob.recv_json("presence")
    relayed = [m for m in bob.backlog if m.get("type") == "message"]
    assert not relayed, f"the refused frame was relayed: {relayed}"


def broadcast(data="x"):
    return '{"type":"broadcast","data":"%s"}' % data


# --- the three violations (lws patches 02, 03, 04) --------------------------

@pytest.mark.parametrize("what", ["text", "ping", "close"])
def test_unmasked_frame_closes_1002(gateway, what):
    """RFC 6455 5.1 (lws patch 02): a server MUST close on an unmasked
    client frame; before the patch `81 13 {"type":"presence"}` got a
    presence reply and an unmasked broadcast reached the lobby."""
    gw = gateway()
    b0, payload = {"text": (FIN | OP_TEXT, broadcast("unmasked")),
                   "ping": (FIN | OP_PING, b"hi"),
                   "close": (FIN | OP_CLOSE, struct.pack("!H", 1000))}[what]

    async def body():
        bob = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        await send(r, frame(b0, payload, masked=False))
        await r.expect_close(1002, timeout=3)
        await assert_not_relayed(bob)
    run(body())


@pytest.mark.parametrize("b0", [FIN | RSV1 | OP_TEXT, FIN | RSV1 | OP_PING,
                                "cont"], ids=["text", "ping", "cont"])
def test_rsv1_without_extension_closes_1002(gateway, b0):
    """RFC 6455 5.2 (lws patch 03): no extension is negotiated, so RSV1 must
    fail the connection; before the patch `C1 ...` was processed and
    broadcast. Also on a ping and on a continuation frame."""
    gw = gateway()

    async def body():
        bob = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        if b0 == "cont":
            m = broadcast("rsv1-cont")
            data = frame(OP_TEXT, m[:10]) + frame(FIN | RSV1 | OP_CONT, m[10:])
        else:
            data = frame(b0, broadcast("rsv1") if b0 & 0x0F == OP_TEXT
                         else b"hi")
        await send(r, data)
        await r.expect_close(1002, timeout=3)
        await assert_not_relayed(bob)
    run(body())


@pytest.mark.parametrize("b0", [FIN | RSV2 | OP_TEXT, FIN | RSV3 | OP_TEXT],
                         ids=["rsv2", "rsv3"])
def test_rsv2_rsv3_close_1002(gateway, b0):
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(b0, broadcast()))
        await r.expect_close(1002, timeout=3)
    run(body())


def test_close_with_one_byte_body_closes_1002(gateway):
    """RFC 6455 5.5.1 (lws patch 04): a close body, if present, starts with
    a 2-byte code. Before the patch `88 81 ..` was echoed as `88 01 03`."""
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(FIN | OP_CLOSE, b"\x03"))
        await r.expect_close(1002, timeout=3)
    run(body())


# --- cases that already pass, kept passing -----------------------------------

def test_close_without_body_is_answered(gateway):
    """An empty close body is legal (no status): the close is answered."""
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(FIN | OP_CLOSE, b""))
        assert await expect_dropped(r, (1000, 1005, 1006)) in (1000, 1005,
                                                                 1006)
    run(body())


def test_pings_answered_with_their_payload_also_between_fragments(gateway):
    """Each ping (0, 1, 125 bytes of payload) is answered by a pong carrying
    the same payload, also between the fragments of a message, which still
    arrives whole; then a close with a code and reason is answered with that
    code. lws patches 07 and 08 allocate the pong buffer and the receive
    buffer only while a control frame is in flight: this checks that every
    one comes and goes intact, twice on the same connection."""
    gw = gateway()
    payloads = [b"", b"x", bytes(range(125)), b"second round"]

    async def pong_for(r, payload):
        while True:
            ev = await r.recv_event(3)
            if ev[0] == "text" and '"health_ping"' in ev[1]:
                continue
            assert ev == ("pong", payload), f"got {ev}, want its pong"
            return

    async def body():
        bob = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        for p in payloads:
            await send(r, frame(FIN | OP_PING, p))
            await pong_for(r, p)
        msg = broadcast("in-pieces").encode()
        parts = [msg[:5], msg[5:12], msg[12:]]
        await send(r, frame(OP_TEXT, parts[0]))
        for i, p in enumerate(payloads):
            await send(r, frame(FIN | OP_PING, p))
            await pong_for(r, p)
            if i == 1:
                await send(r, frame(OP_CONT, parts[1]))
        await send(r, frame(FIN | OP_CONT, parts[2]))
        got = await bob.recv_json("message")
        assert got.get("data") == "in-pieces", got
        await send(r, frame(FIN | OP_CLOSE, struct.pack("!H", 4321) + b"bye"))
        assert await expect_dropped(r, (4321,)) == 4321
    run(body())


@pytest.mark.parametrize("code", [1005, 999, 1004, 1006, 1012, 1016, 2999])
def test_reserved_close_code_closes_1002(gateway, code):
    """1005/1006 must never be sent; 1004, below 1000 and 1016-2999 are not
    assigned (lws counts 1012-1015 among them): the reply is 1002."""
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(FIN | OP_CLOSE, struct.pack("!H", code) + b"bye"))
        await r.expect_close(1002, timeout=3)
    run(body())


def test_invalid_utf8_one_frame_closes_1007(gateway):
    gw = gateway()

    async def body():
        bob = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        await send(r, frame(FIN | OP_TEXT,
                            b'{"type":"broadcast","data":"\xff\xfe"}'))
        await r.expect_close(1007, timeout=3)
        await assert_not_relayed(bob)
    run(body())


@pytest.mark.parametrize("split", ["second_fragment", "across_boundary"])
def test_invalid_utf8_in_fragments_closes_1007(gateway, split):
    """Invalid UTF-8 in a later fragment, or a sequence whose lead byte ends
    one fragment and whose bad continuation byte starts the next."""
    gw = gateway()
    if split == "second_fragment":
        parts = [b'{"type":"broadcast",', b'"data":"\xc0\xaf"}']
    else:
        parts = [b'{"type":"broadcast","data":"\xc3', b'\x28"}']

    async def body():
        bob = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        await send(r, frame(OP_TEXT, parts[0]) + frame(FIN | OP_CONT, parts[1]))
        await r.expect_close(1007, timeout=3)
        await assert_not_relayed(bob)
    run(body())


@pytest.mark.parametrize("opcode", [0x3, 0xB])
def test_reserved_opcode_closes_1002(gateway, opcode):
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(FIN | opcode, b"x"))
        await r.expect_close(1002, timeout=3)
    run(body())


def test_fragmented_ping_closes_1002(gateway):
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(OP_PING, b"a"))  # FIN clear on a control frame
        await r.expect_close(1002, timeout=3)
    run(body())


def test_continuation_without_start_closes_1002(gateway):
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(FIN | OP_CONT, broadcast()))
        await r.expect_close(1002, timeout=3)
    run(body())


def test_new_message_inside_fragmented_one_closes_1002(gateway):
    """A text frame where a continuation is owed."""
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(OP_TEXT, b'{"type":') + frame(FIN | OP_TEXT,
                                                           broadcast()))
        await r.expect_close(1002, timeout=3)
    run(body())


@pytest.mark.parametrize("opcode", [OP_PING, 0xA, OP_CLOSE],
                         ids=["ping", "pong", "close"])
def test_control_frame_over_125_bytes_refused(gateway, opcode):
    """Control frames carry at most 125 bytes: 1002, or a plain drop."""
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(FIN | opcode, b"\x03\xe8" + b"p" * 124))
        await expect_dropped(r, (1002, 1006), timeout=3)
        assert gw.http_get("/healthz")[0] == 200
    run(body())


def test_length_with_top_bit_set_refused(gateway):
    """The most significant bit of a 64-bit length MUST be 0 (5.2)."""
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, bytes([FIN | OP_TEXT, 0x80 | 127]) +
                   struct.pack("!Q", (1 << 63) + 1) + os.urandom(5))
        await expect_dropped(r, (1002, 1006), timeout=3)
        assert gw.http_get("/healthz")[0] == 200
    run(body())


def test_close_reason_invalid_utf8_refused(gateway):
    gw = gateway()

    async def body():
        r = await gw.raw("chess", "alice")
        await send(r, frame(FIN | OP_CLOSE, struct.pack("!H", 1000)
                            + b"\xff\xfe"))
        await expect_dropped(r, (1002, 1007, 1006), timeout=3)
    run(body())


def test_length_2_pow_63_minus_1_is_not_allocated(gateway):
    """A header announcing 2^63-1 bytes allocates nothing: the peak RSS
    stays flat while the payload trickles in, and the message is refused
    with 1009 once it passes --max-message-size."""
    gw = gateway(max_message_size=65536)

    async def body():
        r = await gw.raw("chess", "alice")
        before = rss_kib(gw)
        key = os.urandom(4)
        hdr = bytes([FIN | OP_TEXT, 0x80 | 127]) + \
            struct.pack("!Q", (1 << 63) - 1) + key
        head = b'{"type":"broadcast","data":"'
        await send(r, hdr + masked_stream(key, 0, head))
        await asyncio.sleep(0.2)  # let the node parse the header
        assert rss_kib(gw) - before < 4096, "the announced length was allocated"
        await send_quietly(r, masked_stream(key, len(head), b"x" * 128 * 1024))
        await r.expect_close(1009, "message_too_big", timeout=5)
        grew = rss_kib(gw) - before
        assert grew < 8192, f"peak RSS grew by {grew} KiB"
    run(body())


def test_oversize_message_in_one_frame_closes_1009_rss_flat(gateway):
    """A 64 MiB frame against a 64 KiB limit: 1009 after at most the limit
    has been buffered; the peak RSS does not follow the frame."""
    gw = gateway(max_message_size=65536)

    async def body():
        r = await gw.raw("chess", "alice")
        before = rss_kib(gw)
        key = os.urandom(4)
        hdr = bytes([FIN | OP_TEXT, 0x80 | 127]) + struct.pack("!Q", 64 * MIB)
        head = b'{"type":"broadcast","data":"'
        await send_quietly(r, hdr + key + masked_stream(
            key, 0, head + b"x" * (4 * MIB)))
        await r.expect_close(1009, "message_too_big", timeout=5)
        grew = rss_kib(gw) - before
        assert grew < 8192, f"peak RSS grew by {grew} KiB"
    run(body())


def test_oversize_message_in_1000_continuations_closes_1009_rss_flat(gateway):
    gw = gateway(max_message_size=65536)

    async def body():
        bob = await gw.join("chess", "bob")
        r = await gw.raw("chess", "alice")
        before = rss_kib(gw)
        data = frame(OP_TEXT, b'{"type":"broadcast","data":"')
        data += b"".join(frame(OP_CONT, b"x" * 100) for _ in range(999))
        data += frame(FIN | OP_CONT, b'"}')
        assert len(data) > 1000 * 100
        await send_quietly(r, data)
        await r.expect_close(1009, "message_too_big", timeout=5)
        grew = rss_kib(gw) - before
        assert grew < 8192, f"peak RSS grew by {grew} KiB"
        await assert_not_relayed(bob)
    run(body())


def test_stalled_frame_closed_by_heartbeat(gateway):
    """A header announcing a payload, then silence: the peer cannot answer a
    ping from inside a frame, so the heartbeat closes it (4005 stale) after
    about --heartbeat-interval x (--heartbeat-misses + 1). There is no
    separate frame-completion deadline; docs/protocol.md says why."""
    gw = gateway(heartbeat_interval=1, heartbeat_misses=1)

    async def body():
        r = await gw.raw("chess", "alice")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await send(r, frame(FIN | OP_TEXT, b"x" * 1000)[:2 + 2 + 4 + 10])
        await r.expect_close(4005, "stale", timeout=8)
        assert loop.time() - t0 < 5, loop.time() - t0
    run(body())


# --- refused before the upgrade (HTTP level) ---------------------------------

def http_exchange(gw, request, timeout=5.0):
    """Writes `request` (bytes) on a fresh connection and reads until the
    server closes; returns what it answered. A reset while we are still
    writing counts as a refusal with an empty answer."""
    s = socket.create_connection((HOST, gw.port), timeout=timeout)
    got = b""
    try:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                raise AssertionError(
                    f"connection still open after {timeout}s; got {got[:200]!r}")
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    return got


def http_exchange_upgrades(gw, request):
    with socket.create_connection((HOST, gw.port), timeout=5) as s:
        s.sendall(request)
        return s.recv(12) == b"HTTP/1.1 101"


def assert_refused(answer):
    """Not upgraded: nothing, or an HTTP/1.x error status."""
    assert b" 101 " not in answer[:16], f"upgraded: {answer[:200]!r}"
    if answer:
        assert answer.startswith(b"HTTP/1.") and \
            answer.split(b" ", 2)[1][:1] in (b"4", b"5"), answer[:200]


def upgrade_to(gw, path, headers=(), key=True, version="13"):
    """An upgrade request; version None leaves Sec-WebSocket-Version out."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{gw.port}",
             "Upgrade: websocket", "Connection: Upgrade"]
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if key:
        lines.append("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
    return ("\r\n".join(lines + list(headers)) + "\r\n\r\n").encode()


def test_http2_preface_refused(gateway):
    """The build has no HTTP/2: `PRI * HTTP/2.0` must not be served."""
    gw = gateway()
    answer = http_exchange(gw, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert_refused(answer)
    assert gw.http_get("/healthz")[0] == 200


@pytest.mark.parametrize("size", [64 * 1024, MIB])
def test_huge_request_header_refused(gateway, size):
    """Request headers are capped at 8 KiB (max_http_header_data): a 64 KiB
    or 1 MiB header is refused before the upgrade, memory stays flat."""
    gw = gateway()
    before = rss_kib(gw)
    answer = http_exchange(gw, upgrade_to(
        gw, "/ws/chess?token=" + gw.token("alice"), ["X-Big: " + "a" * size]))
    assert_refused(answer)
    grew = rss_kib(gw) - before
    assert grew < 4096, f"peak RSS grew by {grew} KiB"
    assert http_exchange_upgrades(gw, upgrade_to(
        gw, "/ws/chess?token=" + gw.token("alice"), ["X-Small: a"]))


@pytest.mark.parametrize("case", [
    "nul_in_path", "lf_in_path", "uri_over_8k", "no_key",
    "no_gateway_subprotocol", "bearer_before_gateway",
    "subprotocol_list_over_2k"])
def test_refused_before_upgrade(gateway, case):
    """The HTTP-level refusals docs/protocol.md lists: libwebsockets drops
    the TCP connection without an answer, before the gateway's filter could
    complete the upgrade and close with a 4xxx code."""
    gw = gateway()
    q = "?token=" + gw.token("alice")
    bearer = "bearer." + gw.token("alice")
    req = {
        "nul_in_path": lambda: upgrade_to(gw, "/ws/ch%00ess" + q),
        "lf_in_path": lambda: upgrade_to(gw, "/ws/ch%0Aess" + q),
        "uri_over_8k": lambda: upgrade_to(gw, "/ws/chess" + q + "&x="
                                          + "a" * 8192),
        "no_key": lambda: upgrade_to(gw, "/ws/chess" + q, key=False),
        "no_gateway_subprotocol": lambda: upgrade_to(
            gw, "/ws/chess" + q, ["Sec-WebSocket-Protocol: chat"]),
        "bearer_before_gateway": lambda: upgrade_to(
            gw, "/ws/chess", [f"Sec-WebSocket-Protocol: {bearer}, gateway"]),
        "subprotocol_list_over_2k": lambda: upgrade_to(
            gw, "/ws/chess" + q,
            ["Sec-WebSocket-Protocol: gateway, x" + ", x" * 1100]),
    }[case]()
    assert http_exchange(gw, req) == b"", "answered instead of dropping"
    # The same request, well-formed, is upgraded: the refusal is the case's.
    assert http_exchange_upgrades(gw, upgrade_to(gw, "/ws/chess" + q))


@pytest.mark.parametrize("version", [None, "8", "12", "13, 8", "130"])
def test_upgrade_without_version_13_is_426(gateway, version):
    """RFC 6455 4.2.1/4.2.2: an upgrade that does not say
    Sec-WebSocket-Version 13 is answered 426 naming 13, never upgraded."""
    gw = gateway()
    answer = http_exchange(gw, upgrade_to(gw, "/ws/chess?token=" + gw.token("alice"),
                                          version=version))
    assert answer.startswith(b"HTTP/1.1 426 "), answer[:200]
    assert b"\r\nSec-WebSocket-Version: 13\r\n" in answer
    assert b'"error":"websocket_version"' in answer
    refused = [v for labels, v in AdminClient(gw.admin_port).metrics().all(
        "gw_connections_refused_total") if labels.get("reason") == "websocket_version"]
    assert refused == [1], refused
    # With 13 the same request upgrades.
    assert http_exchange_upgrades(gw, upgrade_to(gw, "/ws/chess?token=" + gw.token("bob")))
