"""One user lookup for everyone (common/gw_userconns.h, user_conns.lua).

Direct messages, the admin API (send, kick) and gatewayctl find a user's
connections the same way, so they agree about an entry whose node died
before the sweep removed it: it is gone — not delivered to, not counted.
The dead node's entries are planted in Redis exactly as a node writes them
(docs/redis-schema.md), for a node that holds no lease.
"""
import json
import time

import pytest

from api_helpers import API_KEY, assert_error, start_admin_node
from cluster import RedisServer, gatewayctl, recv_match, wait_nodes_ready
from gwtest import run


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path).start()
    yield r
    r.stop()


def plant(redis, user, conn, lobby="chess"):
    """A connection of node `ghost` (no lease): a node killed a moment ago."""
    value = json.dumps({"node": conn.rsplit(".", 1)[0], "lobby": lobby,
                        "since": int(time.time() * 1000) - 5000})
    redis.cmd("HSET", f"{{gw}}:user:{user}", conn, value)


def test_a_user_on_a_dead_node_is_gone_for_everyone(gateway, redis):
    n1 = start_admin_node(gateway, key=API_KEY, redis=redis.url, node_id="n1")
    n2 = start_admin_node(gateway, key=API_KEY, redis=redis.url, node_id="n2")
    wait_nodes_ready(redis, ["n1", "n2"])

    async def body():
        alice = await n1.join("chess", "alice")
        bob = await n2.join("chess", "bob")
        plant(redis, "carol", "ghost.1f")    # only on a dead node
        plant(redis, "bob", "ghost.2a")      # live on n2, and a dead entry

        # carol: offline for a direct message …
        await alice.direct("carol", {"hi": 1})
        err = await alice.recv_json("error")
        assert err["code"] == "user_offline", err
        # … for the admin API (send and kick) …
        assert_error(n1.admin.post("/api/send", {"user": "carol", "data": 1}),
                     404, "not_found")
        assert_error(n1.admin.post("/api/kick", {"user": "carol"}), 404, "not_found")
        # … and for gatewayctl, which shows the entry as gone.
        rc, doc, out, errout = gatewayctl(redis, "send", "carol", '{"x":1}')
        assert rc != 0 and "carol is not connected" in errout, (rc, out, errout)
        rc, doc, out, errout = gatewayctl(redis, "user", "carol")
        assert rc != 0
        assert [c["status"] for c in doc["connections"]] == ["gone"], doc

        # bob: one live connection (on n2), whoever asks.
        await alice.direct("bob", {"hi": 2})
        m = await recv_match(bob, "direct", lambda m: m["data"] == {"hi": 2})
        assert m["from"] == "alice"
        r = n1.admin.ok("POST", "/api/send", {"user": "bob", "data": 3})
        assert r["connections"] == 1, r
        await recv_match(bob, "direct", lambda m: m["data"] == 3)
        rc, doc, out, errout = gatewayctl(redis, "send", "bob", '{"x":4}')
        assert rc == 0, errout
        assert [n["node"] for n in doc["nodes"]] == ["n2"], doc
        await recv_match(bob, "direct", lambda m: m["data"] == {"x": 4})
        rc, doc, out, errout = gatewayctl(redis, "user", "bob")
        assert rc == 0
        assert sorted((c["conn"].split(".")[0], c["status"]) for c in doc["connections"]) \
            == [("ghost", "gone"), ("n2", "live")], doc
    run(body())
