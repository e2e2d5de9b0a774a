"""Leases: a dead node is swept when its lease runs out, not at the next
period (the sweep is scheduled at the earliest expiry in {P}:nodes, which
every lease re-reads)."""
import time

from cluster import RedisServer, recv_match, start_nodes
from gwtest import run, subset

import pytest

TTL = 12   # long enough that a periodic sweep (every TTL/3 = 4 s) shows


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


def test_dead_node_swept_at_lease_expiry(gateway, redis):
    n1, n2 = start_nodes(gateway, redis, n=2, lease_ttl=TTL)

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        n2.expect_failure = True   # killed on purpose
        n2.kill()
        expiry = redis.nodes()["n2"] / 1000.0   # its last lease, final now
        m = await recv_match(alice, "presence_leave",
                             lambda m: m.get("user") == "bob", timeout=TTL + 5)
        late = time.time() - expiry
        subset(m, reason="node_lost", connection_id=bob.conn_id)
        assert "n2" not in redis.nodes()
        # Never before the lease ran out; within about a second after it.
        assert late >= -0.05, f"swept {-late:.2f}s before the lease expired"
        assert late < 1.5, f"swept {late:.2f}s after the lease expired"
        print(f"\nswept {late:.2f}s after the lease expired (ttl {TTL}s)")
    run(body())
