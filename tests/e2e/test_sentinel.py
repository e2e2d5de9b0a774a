"""Redis Sentinel: automatic failover (--redis sentinel://…).

A real primary, a real replica and three real redis-sentinel processes on
loopback ports. The primary is killed with SIGKILL; the sentinels promote
the replica; the nodes must follow on their own, restore their presence on
the new primary (replication is asynchronous, so the restore is what makes
it complete), carry broadcasts and direct messages across nodes again,
signal a `gap`, and disconnect no client.
"""
import asyncio
import os
import shutil
import subprocess
import time

import pytest

from cluster import (HOST, RedisServer, RespConn, await_until, recv_match,
                     start_nodes, wait_until)
from gwtest import free_port, run

MASTER = "gwmaster"

# deploy/install-deps.sh installs redis-sentinel: missing is a failure.
assert shutil.which("redis-sentinel"), "redis-sentinel missing: run deploy/install-deps.sh"


class Replica(RedisServer):
    def __init__(self, workdir, primary_port):
        super().__init__(os.path.join(str(workdir), "replica"))
        self.primary_port = primary_port

    def argv(self):
        return super().argv() + ["--replicaof", HOST, str(self.primary_port),
                                 "--enable-debug-command", "yes"]

    def freeze(self, seconds):
        """DEBUG SLEEP on a connection of its own: the replica stops
        applying the replication stream while the primary goes on."""
        c = RespConn(self.port)
        c.sock.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$%d\r\n%s\r\n"
                       % (len(str(seconds)), str(seconds).encode()))
        return c


class Sentinel:
    def __init__(self, workdir, i, primary_port):
        self.dir = os.path.join(str(workdir), f"sentinel{i}")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write(f"port {self.port}\nbind {HOST}\ndir {self.dir}\n"
                    f"sentinel monitor {MASTER} {HOST} {primary_port} 2\n"
                    f"sentinel down-after-milliseconds {MASTER} 1000\n"
                    f"sentinel failover-timeout {MASTER} 4000\n"
                    f"sentinel parallel-syncs {MASTER} 1\n")
        self.log = open(os.path.join(self.dir, "log"), "ab")
        self.proc = subprocess.Popen(["redis-sentinel", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)

    def master(self):
        c = RespConn(self.port, timeout=1.0)
        try:
            return c.cmd("SENTINEL", "get-master-addr-by-name", MASTER)
        finally:
            c.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def group(tmp_path):
    primary = RedisServer(tmp_path).start()
    replica = Replica(tmp_path, primary.port).start()
    wait_until(lambda: "master_link_status:up" in replica.cmd("INFO", "replication"),
               10, "replica in sync")
    sentinels = [Sentinel(tmp_path, i, primary.port) for i in range(3)]

    def all_know():
        try:
            return all(s.master() == [HOST, str(primary.port)] for s in sentinels)
        except OSError:
            return False
    wait_until(all_know, 10, "sentinels watching the primary")
    url = "sentinel://" + ",".join(f"{HOST}:{s.port}" for s in sentinels) \
        + f"/{MASTER}"
    yield primary, replica, sentinels, url
    for s in sentinels:
        s.stop()
    replica.stop()
    primary.stop()


class Via:
    """What start_nodes needs of a Redis: the URL the nodes use, and a
    server to read {P}:nodes from (whichever is the master now)."""

    def __init__(self, url, server):
        self.url, self.server = url, server

    def nodes(self, prefix="gw"):
        return self.server.nodes(prefix)


def test_failover_nodes_follow_without_disconnecting(gateway, group):
    primary, replica, sentinels, url = group
    n1, n2 = start_nodes(gateway, Via(url, primary), n=2)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        await await_until(lambda: primary.numsub("{gw}:ch:lobby:chess") == 2, 5,
                          "both nodes subscribed")
        await alice.broadcast({"n": 0})
        await recv_match(bob, "message", lambda m: m["data"] == {"n": 0})

        # Carol arrives while the replica is frozen and cut off: her entries
        # are on the primary only and die with it, as asynchronous
        # replication allows.
        frozen = replica.freeze(1.5)
        await asyncio.sleep(0.1)
        primary.cmd("CLIENT", "KILL", "TYPE", "replica")
        carol = await n1.join("chess", "carol")
        await recv_match(bob, "presence_join", lambda m: m["user"] == "carol")
        assert primary.user_entries("carol")
        t0 = time.monotonic()
        primary.kill9()
        await asyncio.sleep(1.6)
        frozen.close()
        assert not replica.user_entries("carol"), "the replica got carol anyway"
        # The sentinels promote the replica…
        await await_until(lambda: sentinels[0].master() == [HOST, str(replica.port)],
                          30, "failover to the replica")
        t_promoted = time.monotonic() - t0
        # …and the nodes restore their presence there on their own.
        await await_until(lambda: all(replica.user_entries(u) for u in
                                      ("alice", "bob", "carol")), 15,
                          "presence restored on the new master")
        t_presence = time.monotonic() - t0

        # Broadcasts cross nodes again (messages sent while the nodes were
        # between masters may be lost: that is what `gap` reports).
        async def crosses():
            k = 0
            while True:
                k += 1
                await alice.broadcast({"after": k})
                try:
                    await recv_match(bob, "message",
                                     lambda m: m["data"] == {"after": k}, 0.5)
                    return
                except AssertionError:
                    continue
        await asyncio.wait_for(crosses(), 20)
        t_flow = time.monotonic() - t0

        await bob.direct("alice", {"hi": 1})
        m = await recv_match(alice, "direct", lambda m: m["data"] == {"hi": 1})
        assert m["from"] == "bob"

        # Both sides were told that messages may have been lost.
        await recv_match(alice, "gap", lambda m: m["lobby"] == "chess")
        await recv_match(bob, "gap", lambda m: m["lobby"] == "chess")

        # No client was disconnected: the same sockets still work.
        for c in (alice, bob, carol):
            assert not c.ws.closed, f"{c.name} was disconnected"
        for gw in (n1, n2):
            assert gw.running()
            recs = gw.log_records("redis_master")
            assert recs and recs[-1]["to"] == HOST and \
                int(recs[-1]["port"]) == replica.port, recs
        print(f"\nfailover: promoted after {t_promoted:.2f}s, presence restored "
              f"after {t_presence:.2f}s, cross-node broadcast after {t_flow:.2f}s")
    run(body())


def test_sentinel_url_reaches_the_master_and_skips_a_dead_sentinel(gateway, group):
    """The first sentinel in the list is down: the node asks the next."""
    primary, replica, sentinels, url = group
    sentinels[0].stop()
    n1, = start_nodes(gateway, Via(url, primary), n=1)

    async def body():
        await n1.join("chess", "alice")
        await await_until(lambda: primary.user_entries("alice"), 5,
                          "alice on the master")
        assert n1.log_records("redis_ready"), "the link never became ready"
    run(body())
