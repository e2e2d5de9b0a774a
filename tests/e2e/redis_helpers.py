"""
redis_helpers.py — a real redis-server for end-to-end tests, and a tiny
RESP client (the Python redis library is not available here).

* RedisServer: `redis-server` on a free 127.0.0.1 port and a unix socket in
  a fresh temp dir, no persistence; start() waits until it answers PING,
  stop() terminates it (kill after a timeout) and removes the dir.
* Resp: one connection; cmd(*args) sends a command and returns the reply
  (bulk strings as bytes, errors raised as RespError); subscribe() and
  next_message() for pub/sub. Every read is bounded by the socket timeout.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

HOST = "127.0.0.1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class RespError(Exception):
    pass


class Resp:
    def __init__(self, port=None, unix=None, timeout=5.0):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def _fill(self, pred):
        while not pred():
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk

    def _line(self):
        self._fill(lambda: b"\r\n" in self.buf)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            self._fill(lambda: len(self.buf) >= n + 2)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RespError(f"unexpected RESP line {line!r}")

    def cmd(self, *args):
        self.send(*args)
        return self.read()

    def subscribe(self, *channels):
        """Subscribes and waits for every confirmation, so a message
        published after this returns is certain to be delivered."""
        self.send("SUBSCRIBE", *channels)
        for ch in channels:
            kind, name, _ = self.read()
            assert kind == b"subscribe" and name == ch.encode(), (kind, name)

    def next_message(self):
        """(channel, payload) of the next pub/sub message, both str."""
        while True:
            msg = self.read()
            if msg[0] == b"message":
                return msg[1].decode(), msg[2].decode()


class RedisServer:
    def __init__(self):
        # A short path of our own: unix socket paths are limited to ~107 bytes.
        self.dir = tempfile.mkdtemp(prefix="gwredis-")
        self.unix = os.path.join(self.dir, "redis.sock")
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.dir, "redis.log")

    @property
    def url(self):
        return f"redis://{HOST}:{self.port}"

    def start(self, timeout=10.0):
        for _ in range(3):      # a free port may be taken before we bind it
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    ["redis-server", "--port", str(self.port), "--bind", HOST,
                     "--unixsocket", self.unix, "--unixsocketperm", "700",
                     "--save", "", "--appendonly", "no", "--dir", self.dir],
                    stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    c = Resp(self.port, timeout=1.0)
                    try:
                        if c.cmd("PING") == "PONG":
                            return self
                    finally:
                        c.close()
                except (OSError, RespError):
                    time.sleep(0.05)
            self.stop(remove=False)
        raise RuntimeError("redis-server did not start:\n" + self.log_tail())

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def client(self, **kw):
        return Resp(self.port, **kw)

    def stop(self, remove=True):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)
