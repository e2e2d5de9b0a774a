"""--workers N: N node processes on one port (SO_REUSEPORT) under a
supervisor that restarts a dead worker and drains them all on SIGTERM."""
import http.client
import os
import signal
import socket

import pytest

from cluster import RedisServer, await_until, recv_match, wait_until
from gwtest import run


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


def two_free_ports():
    """A port p with p + 1 free too (worker k's admin port is p + k - 1)."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            p = a.getsockname()[1]
            if p >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", p + 1))
                except OSError:
                    continue
            return p
    raise AssertionError("no two consecutive free ports")


def worker_pids(gw):
    """{worker: pid} of the workers started last, from the supervisor's log."""
    pids = {}
    for r in gw.log_records("worker_started"):
        pids[int(r["worker"])] = int(r["pid"])
    return pids


def node_of(redis, user):
    entries = redis.user_entries(user)
    return next(iter(entries.values()))["node"] if entries else None


def test_workers_serve_restart_and_drain(gateway, redis):
    admin = two_free_ports()
    gw = gateway(redis=redis.url, workers=2, node_id="w",
                 admin_listen=f"127.0.0.1:{admin}")
    wait_until(lambda: {"w-1", "w-2"} <= set(redis.nodes()), 10, "both workers leased")
    pids = worker_pids(gw)
    assert set(pids) == {1, 2} and pids[1] != pids[2]

    async def body():
        # The kernel spreads connections over both workers' listeners.
        clients = [await gw.join("room", f"u{i}") for i in range(16)]
        await await_until(lambda: all(node_of(redis, f"u{i}") for i in range(16)), 5,
                          "every user in Redis")
        nodes = {f"u{i}": node_of(redis, f"u{i}") for i in range(16)}
        assert set(nodes.values()) == {"w-1", "w-2"}, nodes
        on1 = [c for c in clients if nodes[c.name] == "w-1"]
        on2 = [c for c in clients if nodes[c.name] == "w-2"]
        # Each worker has its own admin listener.
        for k, port in ((1, admin), (2, admin + 1)):
            h = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            h.request("GET", "/ready")
            assert h.getresponse().status == 200, f"worker {k} admin"
            h.close()
        # Lobbies span workers through the cluster.
        await on1[0].broadcast({"x": 1})
        await recv_match(on2[0], "message", lambda m: m["data"] == {"x": 1})

        # A killed worker is restarted; the other worker's clients stay.
        os.kill(pids[1], signal.SIGKILL)
        for c in on1:
            code, _, _ = await c.wait_close(5)
            assert code == 1006, f"{c.name}: {code}"   # the process died
        await gw.wait_log(lambda r: r.get("event") == "worker_started" and
                          r.get("worker") == "1" and int(r["pid"]) != pids[1],
                          timeout=5, what="worker 1 restarted")
        await on2[0].broadcast({"y": 2})
        await recv_match(on2[1], "message", lambda m: m["data"] == {"y": 2})
        await await_until(lambda: "w-1" in redis.nodes(), 5, "worker 1 back in the cluster")

        # SIGTERM to the supervisor drains every worker (1001) and exits 0.
        gw.send_signal(signal.SIGTERM)
        for c in on2:
            await c.expect_close(1001, timeout=10)
        assert gw.wait_exit(15) == 0
    run(body())


def test_workers_need_redis(gateway):
    gw = gateway(workers=2, wait=False)
    gw.expect_failure = True
    assert gw.wait_exit(10) == 2
    assert "--workers 2 needs --redis" in gw.log_text()
