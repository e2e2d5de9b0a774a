"""After a burst of connections the node gives free heap pages back once.

gw_server: at least 256 accepts, then a second with none, then one
malloc_trim(0), logged as `heap_trimmed` (docs/benchmarks.md, memory).
"""
import socket
import time

from gwtest import HOST, run


def _burst(port, n):
    for _ in range(n):
        socket.create_connection((HOST, port), timeout=5).close()


def test_trim_once_after_a_burst_not_before(gateway):
    gw = gateway()

    async def body():
        _burst(gw.port, 100)  # fewer than 256: no trim
        time.sleep(1.5)       # the quiet second has passed
        assert gw.log_records("heap_trimmed") == []
        _burst(gw.port, 300)
        r = await gw.wait_log(lambda r: r.get("event") == "heap_trimmed",
                              timeout=10, what="heap_trimmed")
        assert int(r["us"]) >= 0
        time.sleep(1.5)
        assert len(gw.log_records("heap_trimmed")) == 1  # once per burst
        # The node serves as before.
        a = await gw.join("after", "alice")
        await a.presence()
    run(body())
