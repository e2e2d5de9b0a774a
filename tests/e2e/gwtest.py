"""
gwtest.py — helpers for the gateway's end-to-end tests.

* Gateway: one gateway process on a fresh 127.0.0.1 port, its output in a log
  file, ready once GET /healthz answers; stop() sends SIGTERM and returns
  the exit code (the fixture insists on 0).
* make_jwt()/Gateway.token(): HS256 (and deliberately broken) JWTs, minted in
  pure Python.
* WSClient: a websockets (10.4, asyncio) connection with recv_json(),
  expect_welcome() and expect_close().
* RawWS: a minimal RFC 6455 client over asyncio streams that answers
  nothing by itself (no automatic pong, no automatic close reply) and can
  send fragments, binary frames or stop reading altogether.
* run(coro): drives a test coroutine with a timeout and closes every client
  it opened.

Nothing here sleeps to decide an outcome: waits are for events, bounded by
timeouts.
"""
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import websockets
import websockets.exceptions

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECRET = "e2e-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # 48 bytes
HOST = "127.0.0.1"


def build_dir():
    b = os.environ.get("GW_BUILD", "build")
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


def gateway_bin():
    return os.path.join(build_dir(), "bin", "gateway")


_help_cache = {}


def supported_flags():
    """The long flags `gateway --help` lists (cached per binary and mtime),
    so optional defaults are only passed to binaries that know them."""
    b = gateway_bin()
    try:
        key = (b, os.stat(b).st_mtime)
    except OSError:
        return set()
    if key not in _help_cache:
        try:
            out = subprocess.run([b, "--help"], capture_output=True,
                                 timeout=10, text=True, errors="replace")
            text = out.stdout + out.stderr
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        _help_cache[key] = set(re.findall(r"--(?:\[no-\])?([a-z][a-z0-9-]+)",
                                          text))
    return _help_cache[key]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# JWT
# --------------------------------------------------------------------------

_OMIT = object()
OMIT = _OMIT  # claims_for(sub=OMIT): no "sub" claim


def b64url(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_jwt(claims, secret=SECRET, alg="HS256", header=None, signature=None):
    """An HS* JWT over `claims`. `header` replaces the whole header;
    `signature` (bytes) replaces the computed signature; alg "none" (any
    case) gets an empty signature."""
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    h = b64url(json.dumps(hdr, separators=(",", ":")))
    p = b64url(json.dumps(claims, separators=(",", ":")))
    signing = f"{h}.{p}".encode()
    if signature is None:
        key = secret.encode() if isinstance(secret, str) else secret
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
                  "HS512": hashlib.sha512}.get(alg)
        signature = hmac.new(key, signing, digest).digest() if digest else b""
    return f"{h}.{p}.{b64url(signature)}"


def claims_for(sub="alice", exp=_OMIT, nbf=None, iat=_OMIT, **extra):
    now = int(time.time())
    c = {}
    if sub is not _OMIT:
        c["sub"] = sub
    c["iat"] = now if iat is _OMIT else iat
    if iat is None:
        del c["iat"]
    c["exp"] = now + 3600 if exp is _OMIT else exp
    if exp is None:
        del c["exp"]
    if nbf is not None:
        c["nbf"] = nbf
    c.update(extra)
    return c


# --------------------------------------------------------------------------
# logfmt
# --------------------------------------------------------------------------

_LOGFMT = re.compile(r'([A-Za-z_][\w.\-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_logfmt(line):
    out = {}
    for k, v in _LOGFMT.findall(line):
        if v.startswith('"'):
            try:
                v = json.loads(v)
            except ValueError:
                v = v[1:-1]
        out[k] = v
    return out


# --------------------------------------------------------------------------
# The gateway process
# --------------------------------------------------------------------------

class GatewayError(Exception):
    pass


def _flag(key, value):
    key = key.replace("_", "-")
    if value is True:
        value = "true"
    elif value is False:
        value = "false"
    return f"--{key}={value}"


class Gateway:
    """One gateway process. `opts` become flags: {"max_per_lobby": 2} ->
    --max-per-lobby=2 (None drops a default flag)."""

    DEFAULTS = {
        "jwt_secret": SECRET,
        "log_format": "logfmt",
        "log_level": "info",
        "shutdown_timeout": 3,
    }

    _seq = 0

    def __init__(self, workdir, opts=None, env=None, extra_args=(),
                 ssl_context=None):
        Gateway._seq += 1
        # With --tls-cert: the client-side ssl.SSLContext that trusts it;
        # HTTP then goes over https:// and clients over wss://.
        self.ssl = ssl_context
        self.workdir = str(workdir)
        self.opts = dict(self.DEFAULTS)
        self.opts["node_id"] = f"e2e-node-{Gateway._seq}"
        self.opts.update(opts or {})
        self.node_id = self.opts.get("node_id") or "(default)"
        # The admin listener (if this binary has one) gets its own free
        # port unless the test chose one: its default is a fixed port.
        self._auto_admin = "admin_listen" not in (opts or {})
        self.admin_port = None
        self.start_failed = False
        self.env_extra = dict(env or {})
        self.extra_args = list(extra_args)
        self.secret = self.opts.get("jwt_secret") or \
            self.env_extra.get("GW_JWT_SECRET") or SECRET
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.workdir,
                                     f"gateway-{Gateway._seq}.log")
        self.returncode = None
        self.stop_elapsed = None

    # -- process ----------------------------------------------------------
    def argv(self):
        args = [gateway_bin(), _flag("listen", f"{HOST}:{self.port}")]
        for k, v in self.opts.items():
            if v is not None:
                args.append(_flag(k, v))
        return args + self.extra_args

    def child_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
        env.update(self.env_extra)
        return env

    def spawn(self):
        """Starts the process without waiting (for start-up failure tests)."""
        if not os.path.exists(gateway_bin()):
            raise GatewayError(f"gateway binary not found: {gateway_bin()} "
                               "(set GW_BUILD or run make)")
        self.port = free_port()
        if self._auto_admin and "admin-listen" in supported_flags():
            self.admin_port = free_port()
            self.opts["admin_listen"] = f"{HOST}:{self.admin_port}"
        self._logf = open(self.log_path, "ab")
        self._logf.write(("# " + " ".join(self.argv()) + "\n").encode())
        self._logf.flush()
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._logf,
                                     stderr=subprocess.STDOUT,
                                     env=self.child_env(), cwd=self.workdir)
        return self.proc

    def start(self, ready_timeout=20.0):
        for attempt in range(3):
            self.spawn()
            try:
                self.wait_ready(ready_timeout)
                return self
            except GatewayError:
                # A port stolen between free_port() and bind(): try again.
                if self.proc.poll() is not None and attempt < 2 and \
                        re.search(r"in use|EADDRINUSE|bind", self.log_text(),
                                  re.I):
                    continue
                self.kill()
                self.start_failed = True
                raise
        return self

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                raise GatewayError(
                    f"gateway exited with {rc} during start-up\n"
                    + self.log_tail())
            try:
                status, _, _ = self.http_get("/healthz", timeout=0.5)
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as e:
                last = repr(e)
            time.sleep(0.05)  # polling interval, not an assertion
        raise GatewayError(f"gateway not ready after {timeout}s ({last})\n"
                           + self.log_tail())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signals the process and waits; returns the exit code, or None if
        it had to be killed. Idempotent."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            if timeout is None:
                timeout = float(self.opts.get("shutdown_timeout") or 10) + 10
            t0 = time.monotonic()
            self.proc.send_signal(sig)
            rc = self.wait_exit(timeout)
            self.stop_elapsed = time.monotonic() - t0
            if rc is None:
                self.kill()
                self.returncode = None
                self._close_log()
                return None
        self.returncode = self.proc.returncode
        self._close_log()
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def _close_log(self):
        f = getattr(self, "_logf", None)
        if f and not f.closed:
            f.close()

    # -- logs -------------------------------------------------------------
    # The daemon writes info lines up to 20 ms late (batched; gw_log.h):
    # a direct read first waits that out, wait_log() polls instead.
    LOG_FLUSH_S = 0.06

    def _read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_text(self):
        if self.running():
            time.sleep(self.LOG_FLUSH_S)
        return self._read_log()

    def log_tail(self, n=60):
        lines = self.log_text().splitlines()
        return "\n".join(lines[-n:])

    def log_records(self, event=None, _text=None):
        recs = []
        for line in (self.log_text() if _text is None else _text).splitlines():
            if "event=" not in line:
                continue
            r = parse_logfmt(line)
            r["_line"] = line
            if event is None or r.get("event") == event:
                recs.append(r)
        return recs

    async def wait_log(self, pred, timeout=5.0, what="log line"):
        deadline = time.monotonic() + timeout
        while True:
            for r in self.log_records(_text=self._read_log()):
                if pred(r):
                    return r
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout}s; log:\n"
                                     + self.log_tail(30))
            await asyncio.sleep(0.05)

    # -- HTTP -------------------------------------------------------------
    def http_get(self, path, timeout=3.0, headers=None):
        if self.ssl is not None:
            conn = http.client.HTTPSConnection(HOST, self.port, timeout=timeout,
                                               context=self.ssl)
        else:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            r = conn.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            conn.close()

    def http_json(self, path):
        status, headers, body = self.http_get(path)
        assert status == 200, f"GET {path}: HTTP {status} {body[:200]!r}"
        try:
            return json.loads(body)
        except ValueError:
            raise AssertionError(f"GET {path}: not JSON: {body[:200]!r}")

    # -- tokens and clients ------------------------------------------------
    def token(self, sub="alice", **kw):
        secret = kw.pop("secret", self.secret)
        alg = kw.pop("alg", "HS256")
        return make_jwt(claims_for(sub, **kw), secret=secret, alg=alg)

    def ws_url(self, path):
        scheme = "wss" if self.ssl is not None else "ws"
        return f"{scheme}://{HOST}:{self.port}{path}"

    async def connect(self, lobby="chess", user="alice", token=None,
                      via="query", path=None, origin=None, subprotocols=None,
                      extra_headers=None, name=None):
        """Opens a websockets connection (does not read anything)."""
        if token is None and user is not None:
            token = self.token(user)
        path = path if path is not None else "/ws/" + lobby
        headers = list(extra_headers or [])
        if token is not None:
            if via == "query":
                path += ("&" if "?" in path else "?") + "token=" + token
            elif via == "header":
                headers.append(("Authorization", "Bearer " + token))
            elif via == "subprotocol":
                subprotocols = ["gateway", "bearer." + token]
            else:
                raise ValueError(via)
        ws = await websockets.connect(
            self.ws_url(path), subprotocols=subprotocols,
            extra_headers=headers, origin=origin, max_size=None,
            max_queue=None, ping_interval=None, close_timeout=2,
            open_timeout=5, compression=None, ssl=self.ssl)
        c = WSClient(ws, name or user or "?")
        _track(c)
        return c

    async def join(self, lobby="chess", user="alice", **kw):
        """Connects and expects a welcome as the very first message."""
        c = await self.connect(lobby, user, **kw)
        await c.expect_welcome()
        return c

    async def join_eventually(self, lobby="chess", user="alice",
                              timeout=5.0, **kw):
        """Joins, retrying while the gateway still refuses (a slot or a
        user's old connection is released only once the gateway has
        processed the leaver's close). Fails after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            c = await self.connect(lobby, user, **kw)
            try:
                await c.expect_welcome()
                return c
            except AssertionError as e:
                await c.aclose_quiet()
                if loop.time() > deadline:
                    raise AssertionError(f"{user} not admitted to {lobby} "
                                         f"within {timeout}s: {e}")
                await asyncio.sleep(0.1)  # retry pacing

    async def expect_rejected(self, code, reason, lobby="chess", user="alice",
                              timeout=5.0, **kw):
        """The upgrade must complete and the server must close with
        code/reason, sending nothing else (in particular no welcome)."""
        try:
            c = await self.connect(lobby, user, **kw)
        except websockets.exceptions.InvalidStatusCode as e:
            raise AssertionError(
                f"expected the upgrade to complete then close {code} "
                f"{reason}; got HTTP {e.status_code} instead")
        except websockets.exceptions.InvalidHandshake as e:
            raise AssertionError(
                f"expected the upgrade to complete then close {code} "
                f"{reason}; handshake failed: {e!r}")
        msgs = await c.expect_close(code, reason, timeout=timeout)
        welcome = [m for m in msgs if m.get("type") == "welcome"]
        assert not welcome, f"a rejected connection got a welcome: {welcome}"
        return c

    async def raw(self, lobby="chess", user="alice", token=None, path=None,
                  headers=(), rcvbuf=None, limit=2 ** 16, welcome=True):
        if token is None and user is not None:
            token = self.token(user)
        path = path if path is not None else "/ws/" + lobby
        if token is not None:
            path += ("&" if "?" in path else "?") + "token=" + token
        r = await RawWS.open(HOST, self.port, path, headers=headers,
                             rcvbuf=rcvbuf, limit=limit, name=user)
        _track(r)
        if welcome:
            await r.expect_welcome()
        return r


# --------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------

class Closed(Exception):
    def __init__(self, code, reason, who=""):
        super().__init__(f"{who} connection closed: {code} {reason!r}")
        self.code, self.reason = code, reason


def _close_of(exc):
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is None:
        return 1006, ""
    return rcvd.code, rcvd.reason


class WSClient:
    def __init__(self, ws, name):
        self.ws = ws
        self.name = name
        self.welcome = None
        self.backlog = []  # messages skipped by a typed recv, in order
        # When set, every health_ping read is answered with a health_pong
        # (the websockets library already answers protocol pings itself).
        self.answer_health = False

    @property
    def conn_id(self):
        return self.welcome["connection_id"]

    @property
    def subprotocol(self):
        return self.ws.subprotocol

    async def send_json(self, obj):
        await self.ws.send(json.dumps(obj))

    async def send_raw(self, data):
        await self.ws.send(data)

    async def broadcast(self, data, echo=None):
        m = {"type": "broadcast", "data": data}
        if echo is not None:
            m["echo"] = echo
        await self.send_json(m)

    async def direct(self, to, data):
        await self.send_json({"type": "direct", "to": to, "data": data})

    async def presence(self, timeout=5.0):
        await self.send_json({"type": "presence"})
        return await self.recv_json("presence", timeout=timeout)

    async def _recv_one(self, timeout):
        try:
            msg = await asyncio.wait_for(self.ws.recv(), timeout)
        except asyncio.TimeoutError:
            raise
        except websockets.exceptions.ConnectionClosed as e:
            code, reason = _close_of(e)
            raise Closed(code, reason, self.name)
        if isinstance(msg, bytes):
            raise AssertionError(f"{self.name}: unexpected binary frame "
                                 f"{msg[:60]!r}")
        try:
            m = json.loads(msg)
        except ValueError:
            raise AssertionError(f"{self.name}: server sent non-JSON text "
                                 f"{msg[:200]!r}")
        if self.answer_health and m.get("type") == "health_ping":
            try:
                await self.send_json({"type": "health_pong",
                                      "timestamp": m.get("timestamp")})
            except websockets.exceptions.ConnectionClosed:
                pass
        return m

    async def recv_json(self, type=None, timeout=5.0, skip=("health_ping",)):
        """The next message of `type` (other types are kept in the backlog
        for later calls), or with type None the next message whose type is
        not in `skip`. health_ping is skipped unless asked for."""
        want = (type,) if isinstance(type, str) else type
        for i, m in enumerate(self.backlog):
            if (want is None and m.get("type") not in skip) or \
                    (want is not None and m.get("type") in want):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.name}: no {type or 'message'} within {timeout}s; "
                    f"skipped: {self.backlog[-5:]}")
            try:
                m = await self._recv_one(remaining)
            except asyncio.TimeoutError:
                continue
            except Closed as e:
                raise AssertionError(
                    f"{self.name}: waiting for {type or 'a message'}, got "
                    f"close {e.code} {e.reason!r}; skipped: {self.backlog[-5:]}")
            t = m.get("type")
            if want is not None:
                if t in want:
                    return m
                if t != "health_ping":
                    self.backlog.append(m)
                continue
            if t in skip:
                if t != "health_ping":
                    self.backlog.append(m)
                continue
            return m

    async def expect_welcome(self, timeout=5.0):
        try:
            m = await self._recv_one(timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.name}: no welcome within {timeout}s")
        except Closed as e:
            raise AssertionError(f"{self.name}: expected welcome, got close "
                                 f"{e.code} {e.reason!r}")
        assert m.get("type") == "welcome", \
            f"{self.name}: first message is not a welcome: {m}"
        self.welcome = m
        return m

    async def wait_close(self, timeout=5.0):
        """Reads until the server closes; returns (code, reason, messages
        received meanwhile)."""
        got = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.name}: expected a close within {timeout}s; "
                    f"connection still open; got "
                    f"{[m.get('type') for m in got]} {got[-3:]}")
            try:
                got.append(await self._recv_one(remaining))
            except asyncio.TimeoutError:
                continue
            except Closed as e:
                return e.code, e.reason, got

    async def expect_close(self, code, reason=None, timeout=5.0):
        """Reads until the server closes; asserts the close code and reason
        (reason None: any). Returns the messages received meanwhile."""
        c, r, got = await self.wait_close(timeout)
        assert c == code and (reason is None or r == reason), (
            f"{self.name}: expected close {code} {reason!r}, got {c} {r!r} "
            f"(after {[m.get('type') for m in got]})")
        return got

    async def close(self, code=1000, reason=""):
        await self.ws.close(code, reason)

    async def aclose_quiet(self):
        try:
            await asyncio.wait_for(self.ws.close(), 2)
        except Exception:
            pass


def _mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(
        n, "big")


class HandshakeRefused(Exception):
    def __init__(self, status, head):
        super().__init__(f"HTTP {status}: {head[:200]!r}")
        self.status = status
        self.head = head


OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RawWS:
    """A bare RFC 6455 client. It never answers pings or closes by itself
    (unless auto_pong is set), so it can play a dead or slow peer."""

    def __init__(self, reader, writer, sock, name, response):
        self.reader, self.writer, self.sock = reader, writer, sock
        self.name = name
        self.response = response
        self.auto_pong = False
        self.welcome = None
        self.backlog = []

    @classmethod
    async def open(cls, host, port, path, headers=(), rcvbuf=None,
                   limit=2 ** 16, name="raw"):
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), 5)
        reader, writer = await asyncio.open_connection(sock=sock, limit=limit)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}",
                 "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        text = head.decode("latin-1")
        status = int(text.split(" ", 2)[1])
        if status != 101:
            writer.close()
            raise HandshakeRefused(status, text)
        hdrs = {}
        for line in text.split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        expect = base64.b64encode(hashlib.sha1(
            (key + _GUID).encode()).digest()).decode()
        if hdrs.get("sec-websocket-accept") != expect:
            writer.close()
            raise AssertionError(f"bad Sec-WebSocket-Accept in {text!r}")
        return cls(reader, writer, sock, name, hdrs)

    # -- sending ----------------------------------------------------------
    def frame(self, opcode, payload=b"", fin=True):
        if isinstance(payload, str):
            payload = payload.encode()
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            hdr = bytes([b0, 0x80 | n])
        elif n < 65536:
            hdr = bytes([b0, 0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr = bytes([b0, 0x80 | 127]) + struct.pack("!Q", n)
        key = os.urandom(4)
        return hdr + key + _mask(payload, key)

    async def send_frame(self, opcode, payload=b"", fin=True):
        self.writer.write(self.frame(opcode, payload, fin))
        await self.writer.drain()

    async def send_text(self, s):
        await self.send_frame(OP_TEXT, s)

    async def send_json(self, obj):
        await self.send_text(json.dumps(obj))

    async def send_fragments(self, parts, opcode=OP_TEXT, between=None):
        """One message in len(parts) frames; `between(i)` may return extra
        raw frames (e.g. a ping) to put after fragment i."""
        data = b""
        for i, p in enumerate(parts):
            data += self.frame(opcode if i == 0 else OP_CONT, p,
                               fin=(i == len(parts) - 1))
            if between and i < len(parts) - 1:
                data += between(i) or b""
        self.writer.write(data)
        await self.writer.drain()

    async def send_close(self, code=1000, reason=""):
        try:
            await self.send_frame(OP_CLOSE,
                                  struct.pack("!H", code) + reason.encode())
        except (ConnectionError, RuntimeError):
            pass

    # -- receiving ---------------------------------------------------------
    async def recv_frame(self):
        h = await self.reader.readexactly(2)
        fin, op = bool(h[0] & 0x80), h[0] & 0x0F
        masked, n = h[1] & 0x80, h[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        key = await self.reader.readexactly(4) if masked else None
        payload = await self.reader.readexactly(n)
        if key:
            payload = _mask(payload, key)
        return fin, op, payload

    async def recv_event(self, timeout=5.0):
        """('text', str) | ('binary', bytes) | ('ping', b) | ('pong', b) |
        ('close', code, reason) | ('eof',). Fragmented messages are
        reassembled. Raises asyncio.TimeoutError."""
        async def one():
            buf, first = b"", None
            while True:
                try:
                    fin, op, payload = await self.recv_frame()
                except (asyncio.IncompleteReadError, ConnectionError):
                    return ("eof",)
                if op == OP_PING:
                    if self.auto_pong:
                        await self.send_frame(OP_PONG, payload)
                    return ("ping", payload)
                if op == OP_PONG:
                    return ("pong", payload)
                if op == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] \
                        if len(payload) >= 2 else 1005
                    return ("close", code,
                            payload[2:].decode("utf-8", "replace"))
                if op in (OP_TEXT, OP_BINARY):
                    first, buf = op, payload
                else:
                    buf += payload
                if fin:
                    if first == OP_TEXT:
                        return ("text", buf.decode("utf-8"))
                    return ("binary", buf)
        return await asyncio.wait_for(one(), timeout)

    async def recv_json(self, type=None, timeout=5.0, skip=("health_ping",)):
        want = (type,) if isinstance(type, str) else type
        for i, m in enumerate(self.backlog):
            if (want is None and m.get("type") not in skip) or \
                    (want is not None and m.get("type") in want):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no {type or 'message'} "
                                     f"within {timeout}s")
            try:
                ev = await self.recv_event(remaining)
            except asyncio.TimeoutError:
                continue
            if ev[0] in ("ping", "pong"):
                continue
            if ev[0] == "close":
                raise Closed(ev[1], ev[2], self.name)
            if ev[0] == "eof":
                raise Closed(1006, "", self.name)
            if ev[0] == "binary":
                raise AssertionError(f"{self.name}: unexpected binary frame")
            m = json.loads(ev[1])
            t = m.get("type")
            if want is not None:
                if t in want:
                    return m
                if t != "health_ping":
                    self.backlog.append(m)
                continue
            if t in skip:
                continue
            return m

    async def expect_welcome(self, timeout=5.0):
        try:
            m = await self.recv_json(timeout=timeout, skip=())
        except Closed as e:
            raise AssertionError(f"{self.name}: expected welcome, got close "
                                 f"{e.code} {e.reason!r}")
        assert m.get("type") == "welcome", f"first message not welcome: {m}"
        self.welcome = m
        return m

    async def expect_close(self, code, reason=None, timeout=5.0):
        """Reads (answering nothing) until a close frame; asserts code and
        reason. EOF without a close frame counts as 1006."""
        got = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.name}: expected close {code} {reason!r} within "
                    f"{timeout}s; still open; got {got[-5:]}")
            try:
                ev = await self.recv_event(remaining)
            except asyncio.TimeoutError:
                continue
            if ev[0] in ("close", "eof"):
                c, r = (ev[1], ev[2]) if ev[0] == "close" else (1006, "")
                assert c == code and (reason is None or r == reason), (
                    f"{self.name}: expected close {code} {reason!r}, got "
                    f"{c} {r!r} (after {[g[0] for g in got][-10:]})")
                if ev[0] == "close":
                    await self.send_close(c)
                return got
            got.append(ev if ev[0] != "text" else ("text", ev[1][:120]))

    def abort(self):
        """Drops the TCP connection without a close frame."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.writer.transport.abort()

    async def aclose_quiet(self):
        try:
            self.writer.transport.abort()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Driving coroutines
# --------------------------------------------------------------------------

_open_clients = []


def _track(c):
    _open_clients.append(c)


def run(coro, timeout=30.0):
    """Runs a test coroutine with a deadline; closes every client it opened
    (so the gateway's SIGTERM at teardown finds no one left)."""
    async def main():
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            clients = list(_open_clients)
            _open_clients.clear()
            await asyncio.gather(*(c.aclose_quiet() for c in clients),
                                 return_exceptions=True)
    return asyncio.run(main())


def subset(msg, **fields):
    """Asserts that `msg` has these fields with these values."""
    diff = {k: (msg.get(k, "<missing>"), v) for k, v in fields.items()
            if msg.get(k, "<missing>") != v}
    assert not diff, f"fields differ (got, want): {diff} in {msg}"
    return msg
