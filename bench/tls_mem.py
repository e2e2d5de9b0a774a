#!/usr/bin/env python3
"""What TLS adds to an idle connection's memory on the gateway.

    GW_BUILD=build /usr/bin/python3 bench/tls_mem.py [-n 2000] [--runs 3]

For plain ws:// and then wss:// (a P-256 certificate from a throw-away CA),
per run: start one standalone node, read its VmRSS, open N connections
(distinct users, 100 per lobby) and wait for every welcome, let it settle,
read VmRSS again, close everything and stop the node. Prints
(RSS holding - RSS before) / N for each, and the difference. The clients
are Python websockets in this process (the tests' gwtest.Gateway and the
PKI of tests/e2e/test_tls.py); only the gateway's memory is measured.
"""
import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))

import gwtest  # noqa: E402
from test_tls import PKI  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def hold(gw, n, settle):
    sem = asyncio.Semaphore(64)
    clients = []

    async def one(i):
        async with sem:
            c = await gw.join(f"mem-{i // 100}", f"u{i}")
            clients.append(c)

    await asyncio.gather(*(one(i) for i in range(n)))
    await asyncio.sleep(settle)  # let allocator and lws settle
    after = rss_kib(gw.proc.pid)
    await asyncio.gather(*(c.ws.close() for c in clients),
                         return_exceptions=True)
    return after


def measure(workdir, n, tls, settle):
    opts = {"heartbeat_interval": 3600, "node_max_connections": n + 100,
            "max_connections": n + 100, "log_level": "warn"}
    ssl_context = None
    if tls:
        pki = PKI(workdir)
        chain, key = pki.server(0x1001)
        opts.update(tls_cert=chain, tls_key=key)
        ssl_context = pki.client_context()
    gw = gwtest.Gateway(workdir, opts, ssl_context=ssl_context)
    gw.start()
    try:
        time.sleep(0.5)
        before = rss_kib(gw.proc.pid)
        after = asyncio.run(asyncio.wait_for(hold(gw, n, settle), 300))
    finally:
        gw.stop()
    return before, after


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="connections (2000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per mode (3)")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds to hold before reading RSS (2)")
    a = ap.parse_args()
    per = {}
    for mode in ("ws", "wss"):
        per[mode] = []
        for r in range(a.runs):
            with tempfile.TemporaryDirectory(prefix=f"tls-mem-{mode}-") as d:
                before, after = measure(d, a.n, mode == "wss", a.settle)
            per[mode].append((after - before) * 1024 / a.n)
            print(f"{mode:>3} run {r + 1}: RSS {before} KiB -> {after} KiB "
                  f"with {a.n} connections: {per[mode][-1]:.0f} B/conn",
                  flush=True)
    ws, wss = (statistics.median(per[m]) for m in ("ws", "wss"))
    print(f"\nmedian per connection: ws {ws:.0f} B, wss {wss:.0f} B, "
          f"TLS adds {wss - ws:.0f} B ({(wss - ws) / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
