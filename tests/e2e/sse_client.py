"""
sse_client.py — a minimal Server-Sent Events client for the e2e tests.

SSE.open() sends `GET /sse/LOBBY` on a raw socket (optionally with a small
receive buffer, to play a consumer that stops reading) and reads the
status line and headers. A refused request is returned as is: `status`,
`headers` and the JSON `body`. An open stream is read with next(): one
parsed event at a time, ("event", {"event","id","data"}), ("comment",
text) or ("eof", None). recv_json() skips comments and returns the data of
the next event, parsed.
"""
import asyncio
import json
import socket

import gwtest


class SSE:
    def __init__(self, reader, writer, sock, status, headers):
        self.reader = reader
        self.writer = writer
        self.sock = sock
        self.status = status
        self.headers = headers
        self.body = None
        self.welcome = None

    @classmethod
    async def open(cls, gw, lobby="chess", user="alice", token=None,
                   via="query", headers=(), rcvbuf=None, path=None,
                   welcome=True):
        if token is None and user is not None:
            token = gw.token(user)
        path = path if path is not None else "/sse/" + lobby
        hdrs = list(headers)
        if token is not None:
            if via == "query":
                path += ("&" if "?" in path else "?") + "token=" + token
            else:
                hdrs.append(("Authorization", "Bearer " + token))
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, (gwtest.HOST, gw.port)), 5)
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
        lines = [f"GET {path} HTTP/1.1", f"Host: {gwtest.HOST}:{gw.port}",
                 "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in hdrs]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 8)
        text = head.decode("latin-1")
        status = int(text.split(" ", 2)[1])
        h = {}
        for line in text.split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                h[k.strip().lower()] = v.strip()
        c = cls(reader, writer, sock, status, h)
        gwtest._track(c)
        if status != 200:
            n = int(h.get("content-length", "0"))
            raw = await asyncio.wait_for(reader.readexactly(n), 5)
            c.body = json.loads(raw)
        elif welcome:
            c.welcome = await c.recv_json("welcome")
        return c

    async def next(self, timeout=5.0):
        """The next event, comment or end of stream."""
        ev = {}
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                return ("eof", None)
            line = line.rstrip(b"\n").decode()
            if line == "":
                if ev:
                    return ("event", ev)
                continue
            if line.startswith(":"):
                if not ev:
                    return ("comment", line[1:].strip())
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "data":
                ev["data"] = ev["data"] + "\n" + v if "data" in ev else v
            else:
                ev[k] = v

    async def recv_json(self, type=None, timeout=5.0):
        """The data of the next plain event (of `type` if given), parsed;
        comments and other types are skipped."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            kind, ev = await self.next(max(0.01, end - loop.time()))
            if kind == "eof":
                raise AssertionError(f"stream ended waiting for {type}")
            if kind != "event" or "event" in ev:
                continue
            m = json.loads(ev["data"])
            if type is None or m.get("type") == type:
                return m

    async def until_close(self, timeout=10.0):
        """Reads to the end: the "close" event's data (or None) and whether
        the stream then ended."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        closing = None
        while True:
            kind, ev = await self.next(max(0.01, end - loop.time()))
            if kind == "eof":
                return closing
            if kind == "event" and ev.get("event") == "close":
                closing = json.loads(ev["data"])

    async def aclose_quiet(self):
        try:
            self.writer.close()
        except Exception:
            pass
