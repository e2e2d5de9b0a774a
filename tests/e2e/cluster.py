"""
cluster.py — helpers for the gateway's cluster end-to-end tests.

* RedisServer: a real `redis-server` on a free 127.0.0.1 port with no
  persistence; kill9() simulates a crash, restart() brings it back *empty*
  on the same port. cmd() speaks RESP over a plain socket (no redis python
  module needed); redis_cli() runs the real `redis-cli`.
* start_nodes(): n gateway nodes (through the conftest `gateway` fixture) on
  one Redis, returned once every node holds a lease in `{P}:nodes` (that is,
  its Redis link reached READY: scripts loaded, channels subscribed).
* HAProxy: haproxy in front of N gateway nodes, `balance roundrobin`,
  websocket-friendly timeouts, health checks on GET /healthz.
* Endpoint: a gwtest.Gateway look-alike for an address that is not a
  gateway process (the load balancer), so connect()/join() work through it.
* wait_until / await_until / expect_none: deadline-bounded waits.

Nothing here sleeps to decide an outcome: waits poll for a condition and
fail with the last observed value when the deadline passes.
"""
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import gwtest

HOST = gwtest.HOST


# --------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------

def wait_until(fn, timeout, what="condition", interval=0.05):
    """Polls fn() until it returns a truthy value (returned) or `timeout`
    seconds pass (AssertionError naming `what` and the last value)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except (OSError, RedisError) as e:
            last = e
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not true within {timeout}s "
                                 f"(last: {last!r})")
        time.sleep(interval)  # polling interval, not an assertion


async def await_until(fn, timeout, what="condition", interval=0.05):
    """wait_until for coroutines: fn is a plain (fast) function."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while True:
        try:
            last = fn()
        except (OSError, RedisError) as e:
            last = e
        else:
            if last:
                return last
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not true within {timeout}s "
                                 f"(last: {last!r})")
        await asyncio.sleep(interval)  # polling interval


async def expect_none(client, type, window=0.5, pred=None):
    """Asserts that no message of `type` (matching pred, if given) reaches
    `client` within `window` seconds. Non-matching messages go back to the
    client's backlog."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    kept = []
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                m = await client.recv_json(type, timeout=remaining)
            except AssertionError as e:
                if "within" in str(e):
                    return  # the window passed quietly
                raise
            if pred is None or pred(m):
                raise AssertionError(f"{client.name}: unexpected {type}: {m}")
            kept.append(m)
    finally:
        client.backlog[:0] = kept


async def recv_match(client, type, pred, timeout=5.0):
    """The next message of `type` for which pred(m) holds; others of that
    type are kept in the backlog."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    kept = []
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{client.name}: no matching {type} "
                                     f"within {timeout}s; other {type}: "
                                     f"{kept[-5:]}")
            try:
                m = await client.recv_json(type, timeout=remaining)
            except AssertionError as e:
                raise AssertionError(f"{e}; other {type}: {kept[-5:]}")
            if pred(m):
                return m
            kept.append(m)
    finally:
        client.backlog[:0] = kept


# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------

class RedisError(Exception):
    pass


def _enc(a):
    if isinstance(a, bytes):
        return a
    return str(a).encode()


class RespConn:
    """A tiny synchronous RESP2 client: one command at a time (bulk strings
    decoded as UTF-8), and pub/sub (subscribe, next_message). Over TCP to
    HOST:port, or over a unix socket."""

    def __init__(self, port=None, timeout=3.0, unix=None):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = _enc(a)
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._read()

    def subscribe(self, *channels):
        """Subscribes and waits for every confirmation, so a message
        published after this returns is certain to be delivered."""
        out = b"*%d\r\n$9\r\nSUBSCRIBE\r\n" % (len(channels) + 1)
        for ch in channels:
            a = _enc(ch)
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        for ch in channels:
            kind, name, _ = self._read()
            assert kind == "subscribe" and name == ch, (kind, name)

    def next_message(self):
        """(channel, payload) of the next pub/sub message."""
        while True:
            msg = self._read()
            if msg[0] == "message":
                return msg[1], msg[2]

    def _read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RedisError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise RedisError(f"bad RESP line {line!r}")


def redis_cli(port, *args, timeout=5.0, check=True):
    """Runs `redis-cli -p PORT ARGS...`; returns stdout (text, stripped of
    the final newline)."""
    r = subprocess.run(["redis-cli", "-h", HOST, "-p", str(port)] +
                       [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"redis-cli {args}: exit {r.returncode}: "
                             f"{r.stderr or r.stdout}")
    return r.stdout[:-1] if r.stdout.endswith("\n") else r.stdout


class RedisServer:
    """A throw-away redis-server. Not a fixture by itself: see the `redis`
    fixture in test_cluster.py."""

    def __init__(self, workdir, port=None, unix=False):
        self.workdir = os.path.join(str(workdir), "redis")
        os.makedirs(self.workdir, exist_ok=True)
        self.port = port
        # Unix socket paths are limited to ~107 bytes: keep `workdir` short.
        self.unix = os.path.join(self.workdir, "redis.sock") if unix else None
        self.proc = None
        self.log_path = os.path.join(self.workdir, "redis.log")
        self._logf = None
        self._conn = None

    @property
    def url(self):
        return f"redis://{HOST}:{self.port}"

    def argv(self):
        unix = ["--unixsocket", self.unix, "--unixsocketperm", "700"] \
            if self.unix else []
        return ["redis-server", "--port", str(self.port), "--bind", HOST,
                "--save", "", "--appendonly", "no", "--dir", self.workdir,
                "--protected-mode", "no"] + unix

    def client(self, timeout=3.0):
        """A connection of the caller's own (closed by the caller)."""
        return RespConn(self.port, timeout=timeout)

    def start(self, timeout=10.0):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server not installed")
        fixed = self.port is not None
        for attempt in range(5):
            if not fixed:
                self.port = gwtest.free_port()
            self._logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=self._logf,
                                         stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
            try:
                wait_until(self._pong, timeout, f"redis on :{self.port}")
                return self
            except AssertionError:
                dead = self.proc.poll() is not None
                self._kill_proc()
                # A port taken between free_port() and bind(): try again
                # (on a fixed port, e.g. a restart, wait for it to free up).
                if attempt < 4 and dead:
                    if fixed:
                        time.sleep(0.2)  # pacing before retrying the bind
                    continue
                raise AssertionError("redis-server did not start:\n"
                                     + self.log_tail())
        return self

    def _pong(self):
        if self.proc.poll() is not None:
            raise AssertionError("redis-server exited:\n" + self.log_tail())
        try:
            c = RespConn(self.port, timeout=0.5)
        except OSError:
            return False
        try:
            return c.cmd("PING") == "PONG"
        except (OSError, RedisError):
            return False
        finally:
            c.close()

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill_proc(self):
        self._drop_conn()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self._logf and not self._logf.closed:
            self._logf.close()

    def kill9(self):
        """Simulates a crash: SIGKILL, the data (in memory only) is lost."""
        self._kill_proc()

    def restart(self, timeout=10.0):
        """Starts an empty redis-server on the same port."""
        self._kill_proc()
        return self.start(timeout)

    def stop(self):
        self._kill_proc()

    # -- commands ----------------------------------------------------------
    def _drop_conn(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def cmd(self, *args):
        """One command over a kept RESP connection (reopened as needed)."""
        for attempt in range(2):
            try:
                if self._conn is None:
                    self._conn = RespConn(self.port)
                return self._conn.cmd(*args)
            except (OSError, ConnectionError):
                self._drop_conn()
                if attempt:
                    raise

    def cli(self, *args, **kw):
        return redis_cli(self.port, *args, **kw)

    def hgetall(self, key):
        flat = self.cmd("HGETALL", key) or []
        return dict(zip(flat[0::2], flat[1::2]))

    def user_entries(self, user, prefix="gw"):
        """{conn_id: parsed JSON} of {P}:user:USER."""
        return {k: json.loads(v) for k, v in
                self.hgetall(f"{{{prefix}}}:user:{user}").items()}

    def nodes(self, prefix="gw"):
        """{node_id: lease expiry ms} of {P}:nodes."""
        flat = self.cmd("ZRANGE", f"{{{prefix}}}:nodes", 0, -1,
                        "WITHSCORES") or []
        return {n: float(s) for n, s in zip(flat[0::2], flat[1::2])}

    def total(self, prefix="gw"):
        v = self.cmd("GET", f"{{{prefix}}}:total")
        return None if v is None else int(v)

    def numsub(self, channel):
        r = self.cmd("PUBSUB", "NUMSUB", channel)
        return int(r[1])


# --------------------------------------------------------------------------
# Gateway nodes
# --------------------------------------------------------------------------

def start_nodes(gateway, redis, n=3, ids=None, ready_timeout=10.0, **opts):
    """Starts n nodes (ids n1..nN by default) on `redis` through the
    conftest `gateway` fixture; returns them once each holds a lease."""
    ids = ids or [f"n{i + 1}" for i in range(n)]
    nodes = []
    for i in ids:
        o = node_defaults()
        o.update(opts)
        nodes.append(gateway(redis=redis.url, node_id=i, **o))
    wait_nodes_ready(redis, ids, ready_timeout,
                     prefix=opts.get("redis_prefix", "gw"))
    return nodes


_help_cache = {}


def gateway_supports(flag):
    """Whether build/bin/gateway knows --FLAG (from its --help)."""
    b = gwtest.gateway_bin()
    try:
        key = (b, os.stat(b).st_mtime)
    except OSError:
        return False
    if key not in _help_cache:
        r = subprocess.run([b, "--help"], capture_output=True, text=True,
                           timeout=10)
        _help_cache.clear()
        _help_cache[key] = r.stdout + r.stderr
    return f"--{flag} " in _help_cache[key] or \
        f"--{flag}=" in _help_cache[key]


def node_defaults():
    """Per-node flags several nodes on one host need: the admin listener
    (default 127.0.0.1:9090, one fixed port) gets a free port of its own."""
    o = {}
    if gateway_supports("admin-listen"):
        o["admin_listen"] = f"{HOST}:{gwtest.free_port()}"
    return o


def wait_nodes_ready(redis, ids, timeout=10.0, prefix="gw"):
    want = set(ids)
    wait_until(lambda: want <= set(redis.nodes(prefix)), timeout,
               f"nodes {sorted(want)} in {{{prefix}}}:nodes")


def lobby_channel(lobby, prefix="gw"):
    return f"{{{prefix}}}:ch:lobby:{lobby}"


async def wait_subscribed(redis, lobby, n, timeout=5.0, prefix="gw"):
    """Waits until n nodes subscribe to the lobby's channel (a node
    subscribes when its first local member joins, asynchronously)."""
    ch = lobby_channel(lobby, prefix)
    await await_until(lambda: redis.numsub(ch) == n, timeout,
                      f"PUBSUB NUMSUB {ch} == {n}")


def gatewayctl_bin():
    p = os.path.join(gwtest.build_dir(), "bin", "gatewayctl")
    return p if os.path.exists(p) else None


def gatewayctl(redis, *args, timeout=10.0):
    """Runs `gatewayctl --redis URL --json ARGS`; returns (exit code,
    parsed JSON or None, stdout, stderr)."""
    r = subprocess.run([gatewayctl_bin(), "--redis", redis.url, "--json"] +
                       list(args), capture_output=True, text=True,
                       timeout=timeout)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = None
    return r.returncode, doc, r.stdout, r.stderr


class Endpoint(gwtest.Gateway):
    """connect()/join()/expect_rejected() against an address that is not a
    gateway process we started (e.g. a load balancer)."""

    def __init__(self, port, secret=gwtest.SECRET, name="endpoint"):
        self.port = port
        self.secret = secret
        self.node_id = name
        self.proc = None
        self.opts = {}
        self.ssl = None


# --------------------------------------------------------------------------
# HAProxy
# --------------------------------------------------------------------------

HAPROXY_CFG = """\
global
    maxconn 4096
    stats socket {sock} mode 600 level admin

defaults
    mode http
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    timeout http-request 5s
    timeout client-fin 5s

frontend fe
    bind {host}:{port}
    default_backend gateways

backend gateways
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server check inter 300ms fall 2 rise 1
{servers}
"""


class HAProxy:
    def __init__(self, workdir, backends):
        """backends: [(name, port)]"""
        self.workdir = os.path.join(str(workdir), "haproxy")
        os.makedirs(self.workdir, exist_ok=True)
        self.backends = list(backends)
        self.port = None
        self.proc = None
        self.cfg_path = os.path.join(self.workdir, "haproxy.cfg")
        self.sock_path = os.path.join(self.workdir, "admin.sock")
        self.log_path = os.path.join(self.workdir, "haproxy.log")
        self._logf = None

    def write_config(self):
        servers = "\n".join(f"    server {name} {HOST}:{port}"
                            for name, port in self.backends)
        with open(self.cfg_path, "w") as f:
            f.write(HAPROXY_CFG.format(sock=self.sock_path, host=HOST,
                                       port=self.port, servers=servers))

    def start(self, timeout=10.0):
        if shutil.which("haproxy") is None:
            raise RuntimeError("haproxy not installed")
        for attempt in range(3):
            self.port = gwtest.free_port()
            self.write_config()
            self._logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen(["haproxy", "-f", self.cfg_path,
                                          "-db"], stdin=subprocess.DEVNULL,
                                         stdout=self._logf,
                                         stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
            try:
                wait_until(self.all_up, timeout, "haproxy backends UP")
                return self
            except AssertionError:
                dead = self.proc.poll() is not None
                self.stop()
                if dead and attempt < 2 and "bind" in self.log_tail().lower():
                    continue
                raise AssertionError("haproxy did not come up:\n"
                                     + self.log_tail())
        return self

    def admin(self, command):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(self.sock_path)
            s.sendall(command.encode() + b"\n")
            out = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
            return out.decode()
        finally:
            s.close()

    def server_states(self):
        """{server name: status} from `show stat` (UP, DOWN, ...)."""
        lines = self.admin("show stat").splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        head = lines[0][2:].split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("pxname") == "gateways" and \
                    row.get("svname") not in ("BACKEND", "FRONTEND"):
                out[row["svname"]] = row.get("status")
        return out

    def all_up(self):
        if self.proc.poll() is not None:
            raise AssertionError("haproxy exited:\n" + self.log_tail())
        st = self.server_states()
        return len(st) == len(self.backends) and \
            all(v.startswith("UP") for v in st.values())

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def endpoint(self, secret=gwtest.SECRET):
        return Endpoint(self.port, secret, name="haproxy")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self._logf and not self._logf.closed:
            self._logf.close()
