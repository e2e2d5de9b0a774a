"""Partitions without a reset: Redis that stops answering.

A dead Redis that never answers (a cut cable, a frozen VM, a firewall that
drops) hides behind TCP for minutes unless the node keeps its own
deadlines. Here Redis runs in a network namespace of the test's own making,
reachable over two veth pairs: node A (and C) over the first, node B over
the second. Setting the first pair down drops A's packets silently — no
RST, no FIN — while B keeps its Redis. Clients are on both sides.
"""
import asyncio
import http.client
import socket
import subprocess
import time

import pytest

import netns
from cluster import RespConn, await_until, recv_match, start_nodes, wait_until
from gwtest import run

OK, WHY = netns.available()
pytestmark = pytest.mark.skipif(not OK, reason=f"network namespaces: {WHY}")

PORT = 6379


class NsResp(RespConn):
    def __init__(self, host, port, timeout=2.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.f = self.sock.makefile("rb")


class NsRedis:
    """redis-server inside the namespace, listening on every address."""

    def __init__(self, ns, workdir):
        self.ns = ns
        self.host = ns.ns_ip(1)   # the test reads Redis over the link it never cuts
        self.log = open(f"{workdir}/redis-ns.log", "ab")
        self.proc = subprocess.Popen(ns.argv([
            "redis-server", "--port", str(PORT), "--bind", "0.0.0.0",
            "--protected-mode", "no", "--save", "", "--appendonly", "no",
            "--dir", str(workdir)]), stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        wait_until(self._pong, 10, "redis in the namespace")

    def url(self, link):
        return f"redis://{self.ns.ns_ip(link)}:{PORT}"

    def _pong(self):
        try:
            return self.cmd("PING") == "PONG"
        except OSError:
            return False

    def cmd(self, *args):
        c = NsResp(self.host, PORT)
        try:
            return c.cmd(*args)
        finally:
            c.close()

    def nodes(self, prefix="gw"):
        flat = self.cmd("ZRANGE", f"{{{prefix}}}:nodes", 0, -1, "WITHSCORES") or []
        return {n: float(s) for n, s in zip(flat[0::2], flat[1::2])}

    def user(self, u):
        return self.cmd("HGETALL", f"{{gw}}:user:{u}") or []

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


class Via:
    def __init__(self, url, redis):
        self.url, self.redis = url, redis

    def nodes(self, prefix="gw"):
        return self.redis.nodes(prefix)


@pytest.fixture
def net(tmp_path):
    ns = netns.Netns(links=2)
    try:
        r = NsRedis(ns, tmp_path)
    except Exception:
        ns.close()
        raise
    yield ns, r
    r.stop()
    ns.close()


def ready(gw):
    host, port = gw.opts["admin_listen"].rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        c.request("GET", "/ready")
        return c.getresponse().status == 200
    finally:
        c.close()


def test_partition_is_noticed_and_healed(gateway, net):
    ns, r = net
    a, = start_nodes(gateway, Via(r.url(0), r), ids=["a"])
    c, = start_nodes(gateway, Via(r.url(0), r), ids=["c"], redis_fail_mode="closed")
    b, = start_nodes(gateway, Via(r.url(1), r), ids=["b"])

    async def body():
        alice = await a.join("chess", "alice")
        bob = await b.join("chess", "bob")
        await await_until(lambda: r.cmd("PUBSUB", "NUMSUB", "{gw}:ch:lobby:chess")[1] == 2,
                          5, "both nodes subscribed")
        await alice.broadcast({"n": 1})
        await recv_match(bob, "message", lambda m: m["data"] == {"n": 1})
        assert ready(a) and ready(b) and ready(c)

        t0 = time.monotonic()
        ns.cut(0)
        await await_until(lambda: not ready(a) and not ready(c), 10,
                          "/ready false on the cut-off nodes")
        noticed = time.monotonic() - t0
        assert ready(b), "the node that still reaches Redis must stay ready"

        # fail_open (a): a newcomer is admitted on local caps alone;
        # fail_closed (c): refused with 4002, the documented code.
        carol = await a.join("chess", "carol")
        await c.expect_rejected(4002, "unavailable", lobby="chess", user="dave")
        # The far side goes on: bob's node still serves its own members.
        erin = await b.join("chess", "erin")
        await bob.broadcast({"side": "b"})
        await recv_match(erin, "message", lambda m: m["data"] == {"side": "b"})

        t1 = time.monotonic()
        ns.heal(0)
        await await_until(lambda: ready(a) and ready(c), 15, "/ready again after the heal")
        healed = time.monotonic() - t1
        # Presence restored, carol (admitted while cut off) included.
        await await_until(lambda: r.user("alice") and r.user("carol"), 5,
                          "a's presence restored")
        await recv_match(alice, "gap", lambda m: m["lobby"] == "chess")
        await recv_match(carol, "gap", lambda m: m["lobby"] == "chess")

        async def crosses():
            k = 0
            while True:
                k += 1
                await bob.broadcast({"after": k})
                try:
                    await recv_match(alice, "message", lambda m: m["data"] == {"after": k}, 0.5)
                    return
                except AssertionError:
                    continue
        await asyncio.wait_for(crosses(), 10)
        for cl in (alice, bob, carol, erin):
            assert not cl.ws.closed, f"{cl.name} was disconnected"
        print(f"\npartition: /ready false {noticed:.2f}s after the cut, "
              f"true {healed:.2f}s after the heal")
    run(body())
