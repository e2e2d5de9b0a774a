"""Out of file descriptors: the node backs off instead of spinning.

When accept() fails with EMFILE the connection stays queued and the listen
socket stays readable; lws used to log and return, and the loop came straight
back (100 % of a core, millions of log lines). lws patch 11 stops listening
for 100 ms each time (deploy/lws-patches/11-listen-backoff-out-of-fds.patch).
"""
import os
import resource
import socket
import time

from gwtest import HOST, run


def _fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_fds_backs_off_and_recovers(gateway):
    gw = gateway()
    pid = gw.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    # Room for three more descriptors, then a queue of connections.
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (_fds(pid) + 3, hard))
    socks = []
    try:
        for _ in range(12):
            s = socket.create_connection((HOST, gw.port), timeout=5)
            socks.append(s)
        cpu0 = _cpu_seconds(pid)
        time.sleep(2.0)  # the window observed, not a bound on anything
        cpu = _cpu_seconds(pid) - cpu0
        errors = gw.log_text().count("accept: errno 24")
        # One line per 100 ms back-off at most (about 20 here); spinning
        # wrote thousands, and used the whole 2 s of CPU.
        assert 1 <= errors <= 40, errors
        assert cpu < 1.0, cpu
    finally:
        for s in socks:
            s.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))

    async def body():
        # Listening again: a client is served as usual.
        a = await gw.join("after", "alice")
        await a.presence()
    run(body())
