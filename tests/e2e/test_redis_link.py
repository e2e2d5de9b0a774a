"""The Redis link's connection options: ACL user + password + DB index over
TCP, and a Unix socket with a DB index (docs/config.md, --redis)."""
import os
import subprocess
import time

import pytest

import gwtest
from cluster import wait_until
from gwtest import run

PASSWORD = "pa:ss@word"  # ':' and '@' inside the password on purpose


def _start_redis(tmp_path, extra):
    port = gwtest.free_port()
    d = tmp_path / "redis"
    d.mkdir()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(d)] + extra,
        stdout=open(d / "log", "wb"), stderr=subprocess.STDOUT)
    return proc, port, d


def _cli(args):
    return subprocess.run(["redis-cli"] + args, capture_output=True, text=True,
                          timeout=5).stdout.strip()


@pytest.fixture
def acl_redis(tmp_path):
    proc, port, d = _start_redis(tmp_path, [
        "--user", "default", "off",
        "--user", "gw", "on", ">" + PASSWORD, "~*", "&*", "+@all"])
    auth = ["-p", str(port), "--user", "gw", "--pass", PASSWORD, "--no-auth-warning"]
    wait_until(lambda: _cli(auth + ["PING"]) == "PONG", 10, "redis with ACL")
    yield port, auth
    proc.kill()
    proc.wait()


def test_acl_user_password_and_db(gateway, acl_redis):
    port, auth = acl_redis
    # Through the environment, as in production: argv is visible to `ps`.
    gw = gateway(env={"GW_REDIS_URL": f"redis://gw:{PASSWORD}@127.0.0.1:{port}/3"},
                 node_id="acl1")
    db3 = auth + ["-n", "3"]
    wait_until(lambda: "acl1" in _cli(db3 + ["ZRANGE", "{gw}:nodes", "0", "-1"]),
               10, "the node's lease in DB 3")
    # Nothing landed in DB 0.
    assert _cli(auth + ["-n", "0", "DBSIZE"]) == "0"

    async def body():
        a = await gw.join("chess", "alice")
        wait_until(lambda: "alice" in _cli(db3 + ["HVALS", "{gw}:lobby:chess"]),
                   5, "alice in the lobby hash in DB 3")
        await a.close()
    run(body())
    assert "redis_ready" in gw.log_text()
    # The password never reaches the log.
    assert PASSWORD not in gw.log_text()


def test_wrong_password_backs_off_and_keeps_serving(gateway, acl_redis):
    port, auth = acl_redis
    gw = gateway(redis=f"redis://gw:wrong@127.0.0.1:{port}", node_id="bad1")

    async def body():
        # fail_open (the default): admitted against local caps meanwhile.
        a = await gw.join("chess", "alice")
        await a.close()
    run(body())
    wait_until(lambda: "redis_down" in gw.log_text(), 10, "a redis_down log line")
    assert "bad1" not in _cli(auth + ["ZRANGE", "{gw}:nodes", "0", "-1"])


def test_unix_socket_with_db(gateway, tmp_path):
    sock = str(tmp_path / "r.sock")
    proc, port, d = _start_redis(tmp_path, ["--unixsocket", sock, "--unixsocketperm", "700"])
    try:
        wait_until(lambda: os.path.exists(sock), 10, "the unix socket")
        gw = gateway(redis=f"unix://{sock}?db=2", node_id="unix1")
        wait_until(lambda: "unix1" in _cli(["-s", sock, "-n", "2", "ZRANGE", "{gw}:nodes", "0", "-1"]),
                   10, "the node's lease in DB 2 over the socket")

        async def body():
            a = await gw.join("chess", "alice")
            wait_until(lambda: _cli(["-s", sock, "-n", "2", "GET", "{gw}:total"]) == "1",
                       5, "total 1")
            await a.close()
        run(body())
    finally:
        proc.kill()
        proc.wait()
