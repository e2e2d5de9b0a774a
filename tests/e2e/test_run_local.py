"""
test_run_local.py: `make run` (deploy/run-local.sh) end to end.

Starts the script the way a CI job would (no terminal, stdin closed) in a
private run directory on a free block of ports, waits for its "cluster
ready" line, then:

* the five processes it reports (redis, node-1..3, haproxy) are its own
  children and the only ones, and each writes its log in logs/;
* haproxy checks the nodes on /ready (admin listener) when the gateway has
  one, and every node is UP;
* two WebSocket clients connect THROUGH haproxy with tokens from
  build/bin/gwtoken (the dev secret the banner prints; the banner's own
  token for alice), land on different nodes (welcome.node) and receive each
  other's broadcasts across nodes (Redis pub/sub);
* SIGINT to the script stops every child within a deadline, the script
  exits 0 and removes its pid file.

It runs twice: with the gateway as built, and with a wrapper that hides
--admin-listen, --api-key and --dev-tokens from --help (a build from before
the admin listener), where haproxy must fall back to GET /healthz on the
WebSocket port and nothing else may change.

Port block (BASE random, all checked free):
  BASE haproxy, BASE+1..3 nodes, BASE+5 redis, BASE+6 haproxy stats,
  BASE+11..13 admin listeners.
"""
import http.client
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time

import pytest

import cluster
import gwtest

ROOT = gwtest.ROOT
SCRIPT = os.path.join(ROOT, "deploy", "run-local.sh")
HOST = gwtest.HOST
START_TIMEOUT = 60.0   # the script's own start-up waits are 30 s per step
STOP_TIMEOUT = 30.0    # nodes drain (no clients left), haproxy, redis
CHILD_COMMS = {"redis": "redis-server", "node-1": "gateway",
               "node-2": "gateway", "node-3": "gateway",
               "haproxy": "haproxy"}


def bin_path(name):
    return os.path.join(gwtest.build_dir(), "bin", name)


def _missing():
    for tool in ("redis-server", "redis-cli", "haproxy", "curl", "setsid",
                 "bash"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    for b in ("gateway", "gwtoken", "gatewayctl"):
        if not os.path.exists(bin_path(b)):
            return f"{bin_path(b)} not built"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None,
                                reason=_missing() or "")


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port_block():
    offsets = (0, 1, 2, 3, 5, 6, 11, 12, 13)
    for _ in range(100):
        base = random.randrange(20000, 55000, 20)
        if all(port_free(base + o) for o in offsets):
            return base
    raise RuntimeError("no free block of ports")


# --------------------------------------------------------------------------
# /proc
# --------------------------------------------------------------------------

def proc_stat(pid):
    """(comm, state, ppid, starttime) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    return comm, rest[0], int(rest[1]), int(rest[19])


def children_of(ppid):
    """{pid: comm} of ppid's live (non-zombie) children."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[2] == ppid and st[1] != "Z":
                out[int(d)] = st[0]
    return out


def same_process_alive(pid, starttime):
    st = proc_stat(pid)
    return st is not None and st[3] == starttime and st[1] != "Z"


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------

OLD_BUILD_WRAPPER = """#!/bin/sh
# The gateway as a build from before the admin listener: its --help does not
# list --admin-listen, --api-key, --dev-tokens or the later flags that go
# with them (each a 3-line block).
REAL={real}
case "${{1:-}}" in
--help|-h)
	"$REAL" --help | awk '/^  --(admin-listen|api-key|\\[no-\\]dev-tokens(-any-address)?|\\[no-\\]public-cluster-info) / {{ skip = 3 }}
		skip > 0 {{ skip--; next }} {{ print }}'
	exit 0 ;;
esac
exec "$REAL" "$@"
"""


def old_build(tmp_path):
    """A build dir whose bin/gateway hides the admin flags."""
    d = os.path.join(str(tmp_path), "old-build", "bin")
    os.makedirs(d)
    with open(os.path.join(d, "gateway"), "w") as f:
        f.write(OLD_BUILD_WRAPPER.format(real=shlex.quote(bin_path("gateway"))))
    os.chmod(os.path.join(d, "gateway"), 0o755)
    for b in ("gwtoken", "gatewayctl"):
        os.symlink(bin_path(b), os.path.join(d, b))
    help_text = subprocess.run([os.path.join(d, "gateway"), "--help"],
                               capture_output=True, text=True).stdout
    assert "--listen" in help_text and "--admin-listen" not in help_text \
        and "dev-tokens" not in help_text, help_text
    return os.path.dirname(d)


class RunLocal:
    def __init__(self, tmp_path, build=None):
        self.build = build or gwtest.build_dir()
        self.dir = os.path.join(str(tmp_path), "run")
        self.base = free_port_block()
        self.redis_port = self.base + 5
        self.stats_port = self.base + 6
        self.admin_base = self.base + 10
        self.out_path = os.path.join(str(tmp_path), "run-local.out")
        self.proc = None
        self.children = {}     # pid -> (name, starttime)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
        env.update({
            "GW_BUILD": self.build,
            "GW_RUN_DIR": self.dir,
            "GW_BASE_PORT": str(self.base),
            "GW_ADMIN_BASE_PORT": str(self.admin_base),
            "GW_REDIS_PORT": str(self.redis_port),
            "GW_LB_STATS_PORT": str(self.stats_port),
        })
        return env

    def start(self):
        self._out = open(self.out_path, "wb")
        # Its own session, as under a CI runner; no terminal, stdin closed.
        self.proc = subprocess.Popen([SCRIPT], cwd=ROOT, env=self.env(),
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._out,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while "==> cluster ready" not in self.output():
            if self.proc.poll() is not None:
                raise AssertionError(f"run-local.sh exited with "
                                     f"{self.proc.returncode}:\n" + self.report())
            if time.monotonic() > deadline:
                raise AssertionError(f"no 'cluster ready' within "
                                     f"{START_TIMEOUT}s:\n" + self.report())
            time.sleep(0.1)  # polling interval
        for name, pid in self.pids_file().items():
            st = proc_stat(pid)
            if st:
                self.children[pid] = (name, st[3])

    def output(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def pids_file(self):
        out = {}
        try:
            with open(os.path.join(self.dir, "pids")) as f:
                for line in f:
                    name, pid = line.split()
                    out[name] = int(pid)
        except OSError:
            pass
        return out

    def log(self, name, n=25):
        try:
            with open(os.path.join(self.dir, "logs", name + ".log"), "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def report(self):
        parts = ["--- run-local.sh output ---", self.output()[-4000:]]
        for name in CHILD_COMMS:
            parts += [f"--- logs/{name}.log ---", self.log(name)]
        return "\n".join(parts)

    def banner_value(self, pattern):
        m = re.search(pattern, self.output())
        assert m, f"banner lacks {pattern!r}:\n{self.output()}"
        return m.group(1)

    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT):
        """Signals the script only; returns its exit code (None: hung)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
        return self.proc.returncode

    def cleanup(self):
        """Teardown after a failure: nothing may survive the test."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid, (_, start) in self.children.items():
            if same_process_alive(pid, start):
                os.kill(pid, signal.SIGKILL)
        if getattr(self, "_out", None):
            self._out.close()


def gwtoken(user, secret):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    env["GW_JWT_SECRET"] = secret
    r = subprocess.run([bin_path("gwtoken"), user], env=env,
                       capture_output=True, text=True, timeout=10, check=True)
    return r.stdout.strip()


def http_get(port, path):
    conn = http.client.HTTPConnection(HOST, port, timeout=3)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def lb_servers(stats_port):
    """{server: (status, check description)} from haproxy's stats CSV."""
    _, body = http_get(stats_port, "/;csv")
    lines = body.splitlines()
    head = lines[0].lstrip("# ").split(",")
    out = {}
    for line in lines[1:]:
        row = dict(zip(head, line.split(",")))
        if row.get("pxname") == "gateways" and \
                row.get("svname") not in ("BACKEND", "FRONTEND"):
            out[row["svname"]] = (row.get("status"), row.get("check_status"),
                                  row.get("check_code"))
    return out


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------

@pytest.mark.parametrize("build", ["as-built", "without-admin-listener"])
def test_make_run_cluster(tmp_path, build):
    rl = RunLocal(tmp_path, old_build(tmp_path)
                  if build == "without-admin-listener" else None)
    try:
        rl.start()
        try:
            _check_cluster(rl)
        except BaseException:
            print(rl.report())
            raise
        _check_stop(rl)
    finally:
        rl.cleanup()


def _check_cluster(rl):
    # The processes: exactly the five it reports, all its own children.
    pids = rl.pids_file()
    assert set(pids) == set(CHILD_COMMS), f"pids file: {pids}"
    kids = children_of(rl.proc.pid)
    for name, pid in pids.items():
        assert kids.get(pid) == CHILD_COMMS[name], \
            f"{name} (pid {pid}) is not a live child {CHILD_COMMS[name]}: {kids}"
    assert set(kids) == set(pids.values()), \
        f"unexpected children of run-local.sh: {kids} (reported {pids})"
    for name in CHILD_COMMS:
        path = os.path.join(rl.dir, "logs", name + ".log")
        assert os.path.getsize(path) > 0, f"logs/{name}.log is empty"

    # The banner: URLs on our ports, the dev secret, a token.
    out = rl.output()
    assert f"ws://{HOST}:{rl.base}/ws/" in out
    assert f"http://{HOST}:{rl.base}/" in out, "no dashboard URL"
    for i in (1, 2, 3):
        assert f"ws://{HOST}:{rl.base + i}" in out, f"no node-{i} URL"
    secret = rl.banner_value(r"GW_JWT_SECRET=(\S+)")
    alice_token = rl.banner_value(r'token for "alice"[^\n]*\n\s*(\S+)')

    # Health checks: /ready on the admin ports when the gateway has them.
    help_text = subprocess.run([os.path.join(rl.build, "bin", "gateway"),
                                "--help"], capture_output=True,
                               text=True).stdout
    servers = lb_servers(rl.stats_port)
    assert set(servers) == {"node-1", "node-2", "node-3"}, servers
    assert all(s[0] == "UP" for s in servers.values()), servers
    haproxy_env = open(f"/proc/{rl.pids_file()['haproxy']}/environ",
                       "rb").read().split(b"\0")
    if "--admin-listen" in help_text:
        for i in (1, 2, 3):
            port = rl.admin_base + i
            assert f"http://{HOST}:{port}" in out, f"no admin URL for node-{i}"
            status, body = http_get(port, "/ready")
            assert status == 200, f"node-{i} /ready: {status} {body}"
        assert b"LB_CHECK_URI=/ready" in haproxy_env, \
            "haproxy should check /ready on the admin listener"
    else:
        assert "admin http" not in out, "admin URLs without an admin listener"
        assert b"LB_CHECK_URI=/healthz" in haproxy_env
        assert f"LB_NODE1_CHECK={rl.base + 1}".encode() in haproxy_env, \
            "without an admin listener, check the WebSocket port"
    status, _ = http_get(rl.base, "/healthz")
    assert status == 200, "GET /healthz through haproxy"

    # Two clients through haproxy, on two nodes, see each other.
    lb = cluster.Endpoint(rl.base, secret=secret, name="haproxy")
    bob_token = gwtoken("bob", secret)
    redis = cluster.RespConn(rl.redis_port)

    async def scenario():
        alice = await lb.join("e2e", "alice", token=alice_token)
        bob = await lb.join("e2e", "bob", token=bob_token)
        na, nb = alice.welcome["node"], bob.welcome["node"]
        assert {na, nb} <= {"node-1", "node-2", "node-3"}, (na, nb)
        assert na != nb, f"both clients landed on {na}: haproxy balances " \
            "badly"
        # Both nodes subscribe to the lobby channel before broadcasts can
        # cross (asynchronously, after the join).
        ch = cluster.lobby_channel("e2e")
        await cluster.await_until(
            lambda: redis.cmd("PUBSUB", "NUMSUB", ch)[1] == 2, 10,
            f"PUBSUB NUMSUB {ch} == 2")
        await bob.send_json({"type": "broadcast", "data": {"hi": "from bob"}})
        m = await alice.recv_json("message", timeout=5)
        gwtest.subset(m, lobby="e2e", **{"from": "bob"},
                      data={"hi": "from bob"})
        await alice.send_json({"type": "broadcast", "data": [1, 2, 3]})
        m = await bob.recv_json("message", timeout=5)
        gwtest.subset(m, lobby="e2e", **{"from": "alice"}, data=[1, 2, 3])
        await alice.close()
        await bob.close()

    try:
        gwtest.run(scenario(), timeout=30)
    finally:
        redis.close()

    # The operator tool sees the cluster the banner names.
    r = subprocess.run([bin_path("gatewayctl"), "--redis",
                        f"redis://{HOST}:{rl.redis_port}", "--json", "nodes"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    ids = {n.get("id") or n.get("node") for n in _nodes_of(json.loads(r.stdout))}
    assert {"node-1", "node-2", "node-3"} <= ids, r.stdout


def _nodes_of(doc):
    if isinstance(doc, dict):
        doc = doc.get("nodes", [])
    return [n for n in doc if isinstance(n, dict)]


def _check_stop(rl):
    assert len(rl.children) == 5, rl.children
    t0 = time.monotonic()
    rc = rl.stop(signal.SIGINT)
    elapsed = time.monotonic() - t0
    assert rc is not None, f"run-local.sh still running {STOP_TIMEOUT}s " \
        f"after SIGINT:\n{rl.report()}"
    left = {pid: name for pid, (name, start) in rl.children.items()
            if same_process_alive(pid, start)}
    assert not left, f"still running after run-local.sh exited: {left}"
    assert rc == 0, f"run-local.sh exited {rc} after SIGINT:\n{rl.report()}"
    assert not os.path.exists(os.path.join(rl.dir, "pids"))
    assert "stopped" in rl.output()
    assert elapsed < STOP_TIMEOUT
