"""Who is connecting (docs/protocol.md, "Refused before the upgrade"):
--max-conns-per-ip, --max-handshakes and --trusted-proxies.

Different client addresses are different loopback sources: every
127.0.0.0/8 address is local on Linux, so a socket bound to 127.0.0.2
reaches the gateway on 127.0.0.1 as a second client. The handshakes here
are written by hand (plain sockets) so that the test controls the source
address, the X-Forwarded-For lines and the moment each byte is sent.
"""
import base64
import os
import socket
import time

from api_helpers import AdminClient
from gwtest import HOST

TIMEOUT = 5.0


class Conn:
    """One TCP connection to the gateway, from `src`."""

    def __init__(self, gw, src="127.0.0.1"):
        self.sock = socket.create_connection((HOST, gw.port), timeout=TIMEOUT,
                                             source_address=(src, 0))
        self.gw = gw

    def upgrade(self, user, headers=(), path=None):
        """Sends a WebSocket upgrade; returns (status, head, body)."""
        path = path or f"/ws/chess?token={self.gw.token(user)}"
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{self.gw.port}",
                 "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers]
        return self.send_request("\r\n".join(lines) + "\r\n\r\n")

    def get(self, path, headers=()):
        lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{self.gw.port}"]
        lines += [f"{k}: {v}" for k, v in headers]
        return self.send_request("\r\n".join(lines) + "\r\n\r\n")

    def send_request(self, text):
        self.sock.sendall(text.encode())
        return self.read_response()

    def read_response(self):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"closed before a response: {buf!r}")
            buf += chunk
        head, body = buf.split(b"\r\n\r\n", 1)
        text = head.decode("latin-1")
        status = int(text.split(" ", 2)[1])
        if status != 101:
            length = 0
            for line in text.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            while len(body) < length:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                body += chunk
        return status, text, body

    def close(self):
        self.sock.close()


def refused(conn_fn, status, error):
    st, head, body = conn_fn()
    assert st == status, f"want HTTP {status}, got {head!r}"
    assert f'"error":"{error}"'.encode() in body, body
    return st


def metrics(gw):
    return AdminClient(gw.admin_port).metrics()


def refused_count(gw, reason):
    m = metrics(gw)
    for labels, v in m.all("gw_connections_refused_total"):
        if labels.get("reason") == reason:
            return v
    raise AssertionError(f"no gw_connections_refused_total{{reason={reason}}}: "
                         f"{m.text}")


def eventually(fn, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout}s")
            time.sleep(0.05)  # polling a refusal that frees asynchronously


# --------------------------------------------------------------------------
# --max-conns-per-ip
# --------------------------------------------------------------------------

def test_per_ip_limit_refuses_429_and_frees_on_close(gateway):
    gw = gateway(max_conns_per_ip=2)
    conns = []
    try:
        for i in range(2):
            c = Conn(gw, "127.0.0.2")
            conns.append(c)
            assert c.upgrade(f"u{i}")[0] == 101
        third = Conn(gw, "127.0.0.2")
        refused(lambda: third.upgrade("u3"), 429, "per_ip")
        third.close()
        # Another address is another client.
        other = Conn(gw, "127.0.0.3")
        conns.append(other)
        assert other.upgrade("v0")[0] == 101
        # Plain HTTP counts too: it is a connection from that address.
        http = Conn(gw, "127.0.0.2")
        refused(lambda: http.get("/healthz"), 429, "per_ip")
        http.close()
        # Closing one frees its slot.
        conns.pop(0).close()

        def again():
            c = Conn(gw, "127.0.0.2")
            st = c.upgrade("u4")[0]
            if st != 101:
                c.close()
                raise AssertionError(st)
            conns.append(c)
        eventually(again, "a slot for 127.0.0.2 after a close")
        assert refused_count(gw, "per_ip") >= 2
        recs = gw.log_records("conn_refused")
        assert any(r.get("why") == "per_ip" and r.get("ip") == "127.0.0.2"
                   for r in recs), recs
    finally:
        for c in conns:
            c.close()


def test_per_ip_limit_off_by_default(gateway):
    gw = gateway()
    conns = [Conn(gw, "127.0.0.2") for _ in range(20)]
    try:
        for i, c in enumerate(conns):
            assert c.upgrade(f"u{i}")[0] == 101
    finally:
        for c in conns:
            c.close()


# --------------------------------------------------------------------------
# --max-handshakes
# --------------------------------------------------------------------------

def test_handshake_cap_refuses_503(gateway):
    gw = gateway(max_handshakes=2)
    idle = [Conn(gw, "127.0.0.4") for _ in range(2)]  # send nothing
    try:
        def capped():
            c = Conn(gw, "127.0.0.5")
            try:
                refused(lambda: c.upgrade("late"), 503, "handshakes")
            finally:
                c.close()
        # The idle two are accepted asynchronously: wait until they count.
        eventually(capped, "a third handshake refused with 503")
        assert refused_count(gw, "handshakes") >= 1
        # A connection whose headers arrived no longer holds a slot: the
        # idle ones send their requests, and others get in again.
        for i, c in enumerate(idle):
            assert c.upgrade(f"idle{i}")[0] == 101

        def admitted():
            c = Conn(gw, "127.0.0.5")
            st = c.upgrade("later")[0]
            c.close()
            assert st == 101, st
        eventually(admitted, "a handshake admitted once the slots are free")
    finally:
        for c in idle:
            c.close()

    # Every record was released, refused ones included: nothing in flight.
    def drained():
        m = metrics(gw)
        assert m.value("gw_handshakes", node=gw.node_id) == 0, m.text
    eventually(drained, "gw_handshakes back to 0")


# --------------------------------------------------------------------------
# --trusted-proxies and X-Forwarded-For
# --------------------------------------------------------------------------

def proxied(gw, user, xff, src="127.0.0.1"):
    """An upgrade through the 'proxy' at `src` (xff: a header value, a list
    of values for several header lines, or None)."""
    c = Conn(gw, src)
    vals = [] if xff is None else [xff] if isinstance(xff, str) else xff
    st, head, body = c.upgrade(user, [("X-Forwarded-For", v) for v in vals])
    return c, st, body


def test_trusted_proxy_charges_the_forwarded_client(gateway):
    gw = gateway(max_conns_per_ip=1, trusted_proxies="127.0.0.1/32")
    keep = []
    try:
        c, st, _ = proxied(gw, "a", "10.0.0.5")
        keep.append(c)
        assert st == 101
        # The proxy itself is not the client: a second client gets in.
        c, st, _ = proxied(gw, "b", "10.0.0.6")
        keep.append(c)
        assert st == 101
        # The same client again: over its limit.
        c, st, body = proxied(gw, "c", "10.0.0.5")
        keep.append(c)
        assert st == 429 and b"per_ip" in body, (st, body)
        # A client-written entry on the left proves nothing: the right-most
        # untrusted address (appended by the proxy) is the client.
        c, st, _ = proxied(gw, "d", "10.0.0.99, 10.0.0.5")
        keep.append(c)
        assert st == 429, st
        # The same, with the proxy appending its own header line.
        c, st, _ = proxied(gw, "e", ["10.0.0.98", "10.0.0.5"])
        keep.append(c)
        assert st == 429, st
        # Trusted hops on the right are skipped.
        c, st, _ = proxied(gw, "f", "10.0.0.7, 127.0.0.1")
        keep.append(c)
        assert st == 101, st
        c, st, _ = proxied(gw, "g", "10.0.0.7")
        keep.append(c)
        assert st == 429, st
        recs = gw.log_records("conn_refused")
        assert any(r.get("ip") == "10.0.0.5" for r in recs), recs
    finally:
        for c in keep:
            c.close()


def test_untrusted_peer_forwarded_for_is_ignored(gateway):
    gw = gateway(max_conns_per_ip=1, trusted_proxies="127.0.0.1")
    keep = []
    try:
        c, st, _ = proxied(gw, "a", "10.0.0.5", src="127.0.0.2")
        keep.append(c)
        assert st == 101
        # A different claimed client from the same untrusted peer is the
        # same client: the peer.
        c, st, _ = proxied(gw, "b", "10.0.0.6", src="127.0.0.2")
        keep.append(c)
        assert st == 429, st
    finally:
        for c in keep:
            c.close()


def test_unreadable_forwarded_for_from_proxy_refuses(gateway):
    gw = gateway(trusted_proxies="127.0.0.1")
    for xff in ("1." * 700 + "1",            # longer than the gateway reads
                "not-an-address",
                "10.0.0.5, ",                 # an empty entry
                "10.0.0.5/8"):
        c, st, body = proxied(gw, "a", xff)
        c.close()
        assert st == 400 and b"bad_forwarded_for" in body, (xff[:40], st, body)
    # Plain HTTP from the proxy is checked the same way.
    c = Conn(gw)
    st, _, body = c.get("/healthz", [("X-Forwarded-For", "x" * 2000)])
    c.close()
    assert st == 400, st
    # Absent: the proxy's own request (a health check) is served.
    c = Conn(gw)
    assert c.get("/healthz")[0] == 200
    c.close()
    assert refused_count(gw, "bad_forwarded_for") >= 5


def test_bad_trusted_proxies_stops_startup(gateway):
    for bad in ("10.0.0.1/8", "10.0.0.0/33", "example.com", "10.0.0.0/"):
        gw = gateway(trusted_proxies=bad, wait=False)
        gw.expect_failure = True
        rc = gw.wait_exit(10)
        assert rc not in (None, 0), f"started with --trusted-proxies={bad}"
        assert "trusted-proxies" in gw.log_text(), gw.log_tail()


def test_refusal_flood_logs_ten_lines_a_second(gateway):
    """A flood of refusals is counted in full but logs at most ten lines a
    second; the next line logged says how many were not."""
    gw = gateway(trusted_proxies="127.0.0.1")
    n = 60
    for _ in range(n):
        c, st, _ = proxied(gw, "a", "not-an-address")
        c.close()
        assert st == 400, st
    assert refused_count(gw, "bad_forwarded_for") == n
    recs = gw.log_records("conn_refused")
    assert 10 <= len(recs) < n, len(recs)  # the burst, plus what refilled
    time.sleep(0.2)  # one token back: the next refusal is logged
    c, st, _ = proxied(gw, "a", "not-an-address")
    c.close()
    def counting_line():
        got = [r for r in gw.log_records("conn_refused")
               if r.get("unlogged_before", "0") != "0"]
        assert got
        return got[-1]
    last = eventually(counting_line, "a line counting the unlogged refusals")
    assert int(last["unlogged_before"]) == n - len(recs), (last, len(recs))
