"""
End-to-end tests of tools/gatewayctl against a real redis-server.

Presence is written by hand exactly as docs/redis-schema.md lays it out
(no gateway runs): two live nodes and one whose lease expired but that no
sweep has removed yet, a few users and lobbies. Each test runs the binary
($GW_BUILD/bin/gatewayctl) and checks its human output, its --json
document and its exit code; publish/send/kick are checked by subscribing
to the channels first and comparing the exact envelopes received.
"""
import datetime
import json
import shutil
import tempfile
import os
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from cluster import RedisServer  # noqa: E402
from gwtest import free_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
P = "gw"
NOW = None  # set by populate(): ms since the epoch


def ctl_bin():
    b = os.environ.get("GW_BUILD", "build")
    return os.path.join(b if os.path.isabs(b) else os.path.join(ROOT, b),
                        "bin", "gatewayctl")


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def compact(obj):
    """As the CLI serialises (jansson JSON_COMPACT): no blanks, raw UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    work = tempfile.mkdtemp(prefix="gwredis-")   # short: a unix socket lives there
    srv = RedisServer(work, unix=True).start()
    yield srv
    srv.stop()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def redis(server):
    c = server.client()
    c.cmd("FLUSHALL")
    populate(c)
    yield c
    c.close()


@pytest.fixture
def subscriber(server):
    subs = []

    def open_(*channels):
        s = server.client(timeout=5.0)
        s.subscribe(*channels)
        subs.append(s)
        return s

    yield open_
    for s in subs:
        s.close()


@pytest.fixture
def ctl(server):
    """Runs gatewayctl against the test server; returns (rc, stdout, stderr)."""
    def run(*args, env=None, url=True):
        e = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
        if url:
            e["GW_REDIS_URL"] = server.url
        e.update(env or {})
        p = subprocess.run([ctl_bin(), *args], env=e, capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr
    return run


def ctl_json(ctl, *args, want_rc=0, **kw):
    rc, out, err = ctl("--json", *args, **kw)
    assert rc == want_rc, err
    return json.loads(out)


# --------------------------------------------------------------------------
# the cluster, written as the schema describes it
# --------------------------------------------------------------------------

# conn id -> (user, lobby, since offset in ms before NOW)
CONNS = {
    "node-1.1": ("alice", "chess", 120_000),
    "node-1.2": ("bob", "chess", 30_000),
    "node-2.1": ("alice", "go", 60_000),
    "node-2.2": ("carol", "chess", 10_000),
    "node-3.1": ("dave", "chess", 500_000),   # its node's lease expired
}


def populate(r, prefix=P):
    global NOW
    NOW = int(time.time() * 1000)
    k = f"{{{prefix}}}"
    r.cmd("ZADD", f"{k}:nodes", NOW + 30_000, "node-1", NOW + 25_000, "node-2",
          NOW - 5_000, "node-3")
    node_hash = {
        "node-1": ("10.0.0.1:8080", NOW - 3_600_000, NOW - 2_000),
        "node-2": ("10.0.0.2:8080", NOW - 60_000, NOW - 1_000),
    }
    for node, (addr, started, hb) in node_hash.items():
        # node-3's hash is gone: it had the lease's TTL.
        r.cmd("HSET", f"{k}:node:{node}", "id", node, "addr", addr,
              "started", started, "conns", 2, "load", "0.002",
              "version", "0.1.0", "heartbeat", hb)
        r.cmd("PEXPIRE", f"{k}:node:{node}", 30_000)
    lobbies = {}
    for conn, (user, lobby, ago) in CONNS.items():
        node = conn.rsplit(".", 1)[0]
        r.cmd("HSET", f"{k}:node:{node}:conns", conn, f"{user}\t{lobby}")
        r.cmd("HSET", f"{k}:lobby:{lobby}", conn, user)
        r.cmd("HSET", f"{k}:user:{user}", conn,
              compact({"node": node, "lobby": lobby, "since": NOW - ago}))
        lobbies[lobby] = lobbies.get(lobby, 0) + 1
    for lobby, n in lobbies.items():
        r.cmd("HSET", f"{k}:lobbies", lobby, n)
    r.cmd("SET", f"{k}:total", len(CONNS))


def table(out):
    """The rows of the table that follows the blank line, split on 2+ blanks."""
    lines = out.split("\n\n", 1)[1].strip("\n").split("\n")
    return [re.split(r"\s{2,}", ln.strip()) for ln in lines]


def fields(out):
    """The "key  value" lines ahead of the table."""
    head = out.split("\n\n", 1)[0]
    return dict(re.split(r"\s{2,}", ln, maxsplit=1) for ln in head.splitlines())


# --------------------------------------------------------------------------
# reading presence
# --------------------------------------------------------------------------

def test_nodes_json(redis, ctl):
    doc = ctl_json(ctl, "nodes")
    assert doc["live_nodes"] == 2 and doc["expired_nodes"] == 1
    by_id = {n["id"]: n for n in doc["nodes"]}
    assert [n["id"] for n in doc["nodes"]] == ["node-1", "node-2", "node-3"]
    n1 = by_id["node-1"]
    assert n1["status"] == "live" and n1["addr"] == "10.0.0.1:8080"
    assert n1["conns"] == 2 and n1["load"] == pytest.approx(0.002)
    assert n1["started"] == NOW - 3_600_000 and n1["version"] == "0.1.0"
    assert n1["lease_expires"] == NOW + 30_000
    assert 2_000 <= n1["heartbeat_age_ms"] < 60_000
    n3 = by_id["node-3"]
    assert n3["status"] == "expired" and n3["lease_expires"] == NOW - 5_000
    assert "addr" not in n3 and "heartbeat_age_ms" not in n3


def test_nodes_human(redis, ctl):
    rc, out, err = ctl("nodes")
    assert rc == 0, err
    assert fields(out) == {"live_nodes": "2", "expired_nodes": "1"}
    rows = table(out)
    assert rows[0] == ["NODE", "ADDR", "CONNS", "LOAD", "STARTED",
                       "HEARTBEAT AGE", "STATUS"]
    n1, n2, n3 = rows[1:]
    assert n1[:5] == ["node-1", "10.0.0.1:8080", "2", "0.00",
                      iso(NOW - 3_600_000)]
    assert n1[5].endswith("s") and n1[6] == "live"
    assert n2[0] == "node-2" and n2[-1] == "live"
    assert n3 == ["node-3", "-", "-", "-", "-", "-", "expired"]
    # Aligned: every row starts each column at the header's offset.
    lines = out.split("\n\n", 1)[1].splitlines()
    col = lines[0].index("STATUS")
    assert all(ln[col:].split()[0] in ("STATUS", "live", "expired") for ln in lines)


def test_stats(redis, ctl):
    doc = ctl_json(ctl, "stats")
    assert doc["total"] == 5 and doc["lobbies"] == 2
    assert doc["live_nodes"] == 2 and doc["expired_nodes"] == 1
    assert "capacity_percent" not in doc and "max_connections" not in doc
    assert {n["id"]: n.get("conns") for n in doc["nodes"]} == \
        {"node-1": 2, "node-2": 2, "node-3": None}

    doc = ctl_json(ctl, "stats", "--max-connections", "10")
    assert doc["max_connections"] == 10 and doc["capacity_percent"] == 50.0
    doc = ctl_json(ctl, "stats", env={"GW_MAX_CONNECTIONS": "20"})
    assert doc["capacity_percent"] == 25.0
    # The flag wins over the environment.
    doc = ctl_json(ctl, "stats", "--max-connections", "8",
                   env={"GW_MAX_CONNECTIONS": "20"})
    assert doc["capacity_percent"] == 62.5

    rc, out, err = ctl("stats", "--max-connections", "10")
    assert rc == 0, err
    assert fields(out) == {"total": "5", "max_connections": "10",
                           "capacity_percent": "50.00", "lobbies": "2",
                           "live_nodes": "2", "expired_nodes": "1"}
    assert [r[0] for r in table(out)] == ["NODE", "node-1", "node-2", "node-3"]


def test_lobby(redis, ctl):
    doc = ctl_json(ctl, "lobby", "chess")
    assert doc["lobby"] == "chess"
    assert doc["count"] == 3 and doc["users"] == 3 and doc["gone"] == 1
    assert doc["connections"] == [
        {"user": "alice", "conn": "node-1.1", "node": "node-1", "status": "live"},
        {"user": "bob", "conn": "node-1.2", "node": "node-1", "status": "live"},
        {"user": "carol", "conn": "node-2.2", "node": "node-2", "status": "live"},
        {"user": "dave", "conn": "node-3.1", "node": "node-3", "status": "gone"},
    ]
    rc, out, err = ctl("lobby", "go")
    assert rc == 0, err
    assert fields(out) == {"lobby": "go", "count": "1", "gone": "0", "users": "1"}
    assert table(out) == [["USER", "CONN", "NODE", "STATUS"],
                          ["alice", "node-2.1", "node-2", "live"]]
    doc = ctl_json(ctl, "lobby", "empty")
    assert doc["count"] == 0 and doc["connections"] == []


def test_user(redis, ctl):
    doc = ctl_json(ctl, "user", "alice")
    assert doc["user"] == "alice" and doc["count"] == 2 and doc["gone"] == 0
    c1, c2 = doc["connections"]
    assert (c1["conn"], c1["node"], c1["lobby"], c1["status"]) == \
        ("node-1.1", "node-1", "chess", "live")
    assert c1["since"] == NOW - 120_000 and c1["since_iso"] == iso(NOW - 120_000)
    assert 120_000 <= c1["age_ms"] < 180_000
    assert (c2["conn"], c2["node"], c2["lobby"]) == ("node-2.1", "node-2", "go")

    rc, out, err = ctl("user", "alice")
    assert rc == 0 and err == ""
    assert fields(out)["count"] == "2"
    rows = table(out)
    assert rows[0] == ["CONN", "NODE", "LOBBY", "SINCE", "AGE", "STATUS"]
    assert rows[1][:4] == ["node-1.1", "node-1", "chess", iso(NOW - 120_000)]
    assert rows[1][4].startswith("2m0") and rows[1][5] == "live"
    assert rows[2][:3] == ["node-2.1", "node-2", "go"]


def test_names_with_blanks_and_utf8(redis, ctl, subscriber):
    """Names travel as single Redis arguments, and columns align by
    characters, not bytes."""
    redis.cmd("HSET", "{gw}:user:jo ann", "node-1.7",
              compact({"node": "node-1", "lobby": "café", "since": NOW}))
    rc, out, err = ctl("user", "jo ann")
    assert rc == 0, err
    lines = out.split("\n\n", 1)[1].splitlines()
    assert lines[1].split()[:3] == ["node-1.7", "node-1", "café"]
    assert lines[0].index("SINCE") == len(lines[1].split(iso(NOW))[0])
    ch = "{gw}:ch:lobby:café au lait"
    sub = subscriber(ch)
    doc = ctl_json(ctl, "publish", "café au lait", '"\u00fc"')
    assert doc["receivers"] == 1
    assert drain(sub, [ch], redis) == [(ch, compact(
        {"t": "msg", "l": "café au lait",
         "p": {"type": "message", "lobby": "café au lait", "from": "gatewayctl",
               "data": "\u00fc"}}))]


@pytest.mark.parametrize("user", ["nobody", "dave"])
def test_user_offline(redis, ctl, user):
    # dave's only connection is on a node whose lease expired: gone.
    rc, out, err = ctl("user", user)
    assert (rc, out, err) == (1, "", f"{user} is not connected\n")
    rc, out, err = ctl("--json", "user", user)
    assert rc == 1 and err == f"{user} is not connected\n"
    doc = json.loads(out)
    assert doc["count"] == 0
    assert [c["status"] for c in doc["connections"]] == \
        (["gone"] if user == "dave" else [])


def test_prefix_and_env(server, redis, ctl):
    other = server.client()
    other.cmd("SET", "{other}:total", 7)
    doc = ctl_json(ctl, "--prefix", "other", "stats")
    assert doc["total"] == 7 and doc["nodes"] == []
    doc = ctl_json(ctl, "stats", env={"GW_REDIS_PREFIX": "other"})
    assert doc["total"] == 7
    # The URL from the flag, with no environment at all.
    doc = ctl_json(ctl, "--redis", server.url + "/0", "stats", url=False)
    assert doc["total"] == 5
    other.close()


def test_unix_socket_db_and_acl(server, redis, ctl):
    r = server.client()
    r.cmd("SELECT", 3)
    r.cmd("SET", "{gw}:total", 42)
    doc = ctl_json(ctl, "--redis", f"unix://{server.unix}?db=3", "stats", url=False)
    assert doc["total"] == 42
    doc = ctl_json(ctl, "stats", env={"GW_REDIS_URL": f"{server.url}/3"})
    assert doc["total"] == 42

    r.cmd("ACL", "SETUSER", "ops", "on", ">s3:cr@t", "~*", "&*", "+@all")
    doc = ctl_json(ctl, "--redis", f"redis://ops:s3:cr@t@127.0.0.1:{server.port}/3",
                   "stats")
    assert doc["total"] == 42
    rc, out, err = ctl("--redis", f"redis://ops:wrong@127.0.0.1:{server.port}", "stats")
    assert rc == 1 and out == ""
    assert err.startswith(f"gatewayctl: cannot connect to Redis at 127.0.0.1:"
                          f"{server.port}: WRONGPASS")
    r.cmd("ACL", "DELUSER", "ops")
    r.close()


def test_cannot_connect(ctl):
    port = free_port()
    rc, out, err = ctl("--redis", f"redis://127.0.0.1:{port}", "nodes")
    assert (rc, out) == (1, "")
    assert err == (f"gatewayctl: cannot connect to Redis at 127.0.0.1:{port}: "
                   "Connection refused\n")
    rc, out, err = ctl("--redis", "unix:///nonexistent/redis.sock", "nodes")
    assert rc == 1
    assert err.startswith("gatewayctl: cannot connect to Redis at "
                          "/nonexistent/redis.sock: ")


# --------------------------------------------------------------------------
# publishing
# --------------------------------------------------------------------------

def drain(sub, channels, r):
    """Every message on `channels` up to a sentinel published on each after
    the command ran: what the command published, and nothing else."""
    for ch in channels:
        r.cmd("PUBLISH", ch, "sentinel")
    got, pending = [], set(channels)
    while pending:
        ch, msg = sub.next_message()
        if msg == "sentinel":
            pending.discard(ch)
        else:
            got.append((ch, msg))
    return got


def test_publish(redis, ctl, subscriber):
    ch = "{gw}:ch:lobby:chess"
    sub = subscriber(ch)
    rc, out, err = ctl("publish", "chess", '{"move": "e4", "n": [1, 2.5, null]}')
    assert rc == 0, err
    assert fields(out + "\n\n") == {"lobby": "chess", "channel": ch, "receivers": "1"}
    want = {"t": "msg", "l": "chess",
            "p": {"type": "message", "lobby": "chess", "from": "gatewayctl",
                  "data": {"move": "e4", "n": [1, 2.5, None]}}}
    assert drain(sub, [ch], redis) == [(ch, compact(want))]

    doc = ctl_json(ctl, "publish", "chess", '"hi"', "--from", "backend")
    assert doc == {"lobby": "chess", "channel": ch, "receivers": 1}
    want["p"].update({"from": "backend", "data": "hi"})
    assert drain(sub, [ch], redis) == [(ch, compact(want))]

    doc = ctl_json(ctl, "publish", "nobody-here", "1")
    assert doc["receivers"] == 0


def test_publish_rejects_bad_json(redis, ctl, subscriber):
    ch = "{gw}:ch:lobby:chess"
    sub = subscriber(ch)
    for bad in ["{bad", "", "[1,", '{"a":1} trailing']:
        rc, out, err = ctl("publish", "chess", bad)
        assert rc == 2 and out == ""
        assert err.startswith("gatewayctl: invalid JSON argument: ")
    assert drain(sub, [ch], redis) == []


def test_send(redis, ctl, subscriber):
    chans = [f"{{gw}}:ch:node:node-{i}" for i in (1, 2, 3)]
    sub = subscriber(*chans)
    doc = ctl_json(ctl, "send", "alice", '{"text": "hi"}')
    assert doc["user"] == "alice" and doc["published"] == 2
    assert doc["nodes"] == [
        {"node": "node-1", "channel": chans[0], "receivers": 1},
        {"node": "node-2", "channel": chans[1], "receivers": 1},
    ]
    want = compact({"t": "msg", "u": "alice",
                    "p": {"type": "direct", "from": "gatewayctl",
                          "data": {"text": "hi"}}})
    assert sorted(drain(sub, chans, redis)) == [(chans[0], want), (chans[1], want)]

    rc, out, err = ctl("send", "carol", "42", "--from", "ops")
    assert rc == 0, err
    assert table(out) == [["NODE", "CHANNEL", "RECEIVERS"],
                          ["node-2", chans[1], "1"]]
    want = compact({"t": "msg", "u": "carol",
                    "p": {"type": "direct", "from": "ops", "data": 42}})
    assert drain(sub, chans, redis) == [(chans[1], want)]


@pytest.mark.parametrize("user", ["nobody", "dave"])
def test_send_kick_offline(redis, ctl, subscriber, user):
    chans = [f"{{gw}}:ch:node:node-{i}" for i in (1, 2, 3)]
    sub = subscriber(*chans)
    for args in (["send", user, '"x"'], ["kick", user]):
        rc, out, err = ctl(*args)
        assert (rc, out, err) == (1, "", f"{user} is not connected\n")
    assert drain(sub, chans, redis) == []


def test_kick(redis, ctl, subscriber):
    chans = [f"{{gw}}:ch:node:node-{i}" for i in (1, 2, 3)]
    sub = subscriber(*chans)
    doc = ctl_json(ctl, "kick", "alice")
    assert [n["node"] for n in doc["nodes"]] == ["node-1", "node-2"]
    want = compact({"t": "kick", "u": "alice", "r": "kicked"})
    assert sorted(drain(sub, chans, redis)) == [(chans[0], want), (chans[1], want)]

    rc, out, err = ctl("kick", "alice", "--conn", "node-2.1")
    assert rc == 0, err
    assert table(out)[1:] == [["node-2", chans[1], "1"]]
    want = compact({"t": "kick", "u": "alice", "r": "kicked", "c": "node-2.1"})
    assert drain(sub, chans, redis) == [(chans[1], want)]

    rc, out, err = ctl("kick", "alice", "--conn", "node-1.9")
    assert (rc, out) == (1, "")
    assert err == "alice has no live connection node-1.9\n"
    assert drain(sub, chans, redis) == []


# --------------------------------------------------------------------------
# usage
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [],
    ["bogus"],
    ["user"],
    ["user", "a", "b"],
    ["publish", "chess"],
    ["--frobnicate", "nodes"],
    ["--max-connections", "0", "stats"],
    ["--max-connections", "ten", "stats"],
    ["--max-connections", "5", "nodes"],     # stats only
    ["send", "alice", "1", "--conn", "x"],   # kick only
    ["kick", "alice", "--from", "x"],        # publish and send only
    ["--prefix", "bad prefix", "nodes"],
    ["--prefix", "", "nodes"],
    ["--redis", "http://127.0.0.1:6379", "nodes"],
    ["--redis", "redis://127.0.0.1:99999", "nodes"],
    ["--redis", "redis://127.0.0.1:6379/x", "nodes"],
    ["--redis", "unix:///tmp/x.sock?db=x", "nodes"],
    ["lobby", "x" * 257],
    ["lobby", ""],
])
def test_usage_errors(ctl, args):
    rc, out, err = ctl(*args)
    assert rc == 2 and out == "" and err.startswith(("gatewayctl", "usage")), err


def test_usage_error_from_env(ctl):
    rc, out, err = ctl("stats", env={"GW_MAX_CONNECTIONS": "lots"})
    assert (rc, out) == (2, "")
    assert "GW_MAX_CONNECTIONS" in err


def test_help(ctl):
    rc, out, err = ctl("--help")
    assert rc == 0 and err == ""
    for word in ("nodes", "stats", "lobby", "user", "publish", "send", "kick",
                 "--redis", "--prefix", "--json", "--max-connections", "--from",
                 "--conn", "GW_REDIS_URL", "GW_REDIS_PREFIX", "GW_MAX_CONNECTIONS"):
        assert word in out
