#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/ (checked in; rerun after
changing a target's input format). Each seed is small: a few valid inputs
that reach deep, and a few invalid ones that stop at each check. It only
writes: regression inputs kept as the fuzzer found them (regress-* files
not named here) stay as they are."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def u16(n):
    return struct.pack(">H", n)


def chunk(b):
    """fuzz_bytes(): a 16-bit length, then the bytes."""
    if isinstance(b, str):
        b = b.encode()
    return u16(len(b)) + b


# --- msgpack, just enough for envelopes -------------------------------------
def mp(v):
    if isinstance(v, int):
        if v < 128:
            return bytes([v])
        return b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, str):
        v = v.encode()
        assert len(v) < 256
        return (bytes([0xA0 | len(v)]) if len(v) < 32 else b"\xd9" + bytes([len(v)])) + v
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v if len(v) < 256 else b"\xc5" + u16(len(v)) + v
    raise TypeError(v)


def mp_map(d):
    out = bytes([0x80 | len(d)])
    for k, v in d.items():
        out += mp(k) + mp(v)
    return out


# --- envelope -------------------------------------------------------------
msg = mp_map({"v": 1, "t": "msg", "o": "n2", "l": "chess", "q": 7,
              "p": b'{"type":"message","lobby":"chess","from":"a","data":1}'})
put("envelope", "msgpack-msg", msg)
put("envelope", "msgpack-kick", mp_map({"v": 1, "t": "kick", "o": "n2", "u": "alice",
                                        "c": "n1.1f", "r": "kicked"}))
put("envelope", "msgpack-probe", mp_map({"v": 1, "t": "probe", "o": "n1", "q": 2**40}))
put("envelope", "msgpack-truncated", msg[:-5])
put("envelope", "msgpack-trailing", msg + b"\x00")
put("envelope", "json-msg", '{"t":"msg","l":"chess","p":{"type":"message","data":[1,2]}}')
put("envelope", "json-kick", '{"v":1,"t":"kick","u":"bob","r":"kicked"}')
put("envelope", "json-bad-type", '{"t":"nope","p":1}')
put("envelope", "json-unterminated", '{"t":"msg","p":"x')

# --- auth: even first byte = raw token, odd = signed [now][header][payload] --
now = struct.pack(">Q", 1700000000)
hdr = chunk('{"alg":"HS256","typ":"JWT"}')
put("auth", "signed-ok", b"\x01" + now + hdr + b'{"sub":"alice","exp":1800000000,"iat":1}')
put("auth", "signed-expired", b"\x01" + now + hdr + b'{"sub":"alice","exp":1}')
put("auth", "signed-nbf", b"\x01" + now + hdr + b'{"sub":"bob","nbf":1900000000.5}')
put("auth", "signed-huge-exp", b"\x01" + now + hdr + b'{"sub":"c","exp":1e300}')
put("auth", "signed-no-sub", b"\x01" + now + hdr + b'{"exp":1800000000}')
put("auth", "signed-alg-none", b"\x01" + now + chunk('{"alg":"none"}') + b'{"sub":"a"}')
put("auth", "signed-dup-key", b"\x01" + now + hdr + b'{"sub":"a","sub":"b"}')
put("auth", "raw-token", b"\x00eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.AAAA")
put("auth", "raw-dots", b"\x00a..b")

# --- protocol -------------------------------------------------------------
for name, text in [
    ("broadcast", '{"type":"broadcast","data":{"move":"e4"},"echo":true}'),
    ("direct", '{"type":"direct","to":"bob","data":"hi"}'),
    ("presence", '{"type":"presence"}'),
    ("pong", '{"type":"health_pong","timestamp":1700000000000}'),
    ("unknown", '{"type":"custom","data":[1,2,3]}'),
    ("no-type", '{"data":1}'),
    ("bad-echo", '{"type":"broadcast","data":1,"echo":"yes"}'),
    ("not-object", '[1,2,3]'),
    ("bad-json", '{"type":"broadcast",'),
]:
    put("protocol", name, text)

# --- config ---------------------------------------------------------------
SECRET = "jwt_secret = 0123456789abcdef0123456789abcdef\n"
put("config", "minimal", SECRET)
put("config", "full", SECRET + """# a comment
listen = 127.0.0.1:8080
node-id = n1
admin_listen = [::1]:9090
max-connections = 10
user_policy = multi
presence_events = off
redis = redis://:pw@h:6379/2
redis_prefix = gw:test
log_format = json
send_queue_bytes = 65536
max_message_size = 65536
""")
put("config", "unknown", SECRET + "frobnicate = 1\n")
put("config", "bad-int", SECRET + "rate_limit = 12x\n")
put("config", "no-equals", SECRET + "listen\n")
put("config", "queue-smaller", SECRET + "send_queue_bytes = 1024\nmax_message_size = 2048\n")
put("config", "meta", "config = /etc/x\n")

# --- map: [initial] then ops (see fuzz_map.c) ------------------------------
ops = b"\x04"
for i in range(12):
    ops += b"\x00" + bytes([i % 5]) + bytes(range(i % 5))  # put
ops += b"\x01\x02\x00\x01" + b"\x02\x03\x00\x01\x02" + b"\x03\x01" * 4 + b"\x05"
ops += b"\x04\x00\x04\x01\x04\x02\x05"
put("map", "mixed", ops)
put("map", "churn", b"\x00" + (b"\x00\x01A\x00\x01B\x02\x01A\x00\x01C\x05") * 20)

# --- redis url: [even: one URL / odd: a shard list] then the text -----------
for i, u in enumerate(["redis://127.0.0.1:6379", "redis://:pw@h:6379/2",
                       "redis://ops:s3:cr@t@127.0.0.1:7000/3", "redis://localhost",
                       "unix:///run/redis.sock?db=4", "unix:///tmp/r.sock",
                       "sentinel://s1:26379,s2,[::1]:26380/mymaster/2",
                       "sentinel://:pw@s1/m?sentinel_user=u&sentinel_password=p",
                       "sentinel://s1,/m", "sentinel://s1/",
                       "redis://h:99999", "redis://h:6379/x", "redis://h:6379junk",
                       "unix:///p?db=-1", "http://h:1"]):
    put("redis_url", "url-%02d" % i, b"\x00" + u.encode())
for i, spec in enumerate(["redis://a:1 redis://b:2\tunix:///s",
                          "  redis://a\n\n", "", "redis://a redis://b:0",
                          " ".join("redis://h%d" % k for k in range(17))]):
    put("redis_url", "shards-%02d" % i, b"\x01" + spec.encode())

# --- admin: [endpoint] body -------------------------------------------------
for name, op, body in [
    ("publish", 0, '{"lobby":"chess","data":{"move":"e4"},"from":"ops"}'),
    ("send", 1, '{"user":"alice","data":"hello"}'),
    ("broadcast", 2, '{"data":[1,2,3]}'),
    ("kick", 3, '{"user":"alice","connection_id":"n1.1f"}'),
    ("unknown-endpoint", 4, '{}'),
    ("bad-lobby", 0, '{"lobby":"no spaces","data":1}'),
    ("empty-user", 1, '{"user":"","data":1}'),
    ("not-object", 2, '"x"'),
]:
    put("admin", name, bytes([op]) + body.encode())

# --- cluster (see fuzz_cluster.c) -------------------------------------------
# FUZZ_TRACE=1 build/fuzz/bin/fuzz_cluster SEED lists the Redis calls the node
# makes, in order: a ready link asks lease, (restore,) sweep and stats.
OPEN = lambda k, pick=0: bytes([5, k, pick])             # session k opens
OK = bytes([4, 0, 1])                                      # usual reply
FRAME = lambda k, t: bytes([0, k]) + chunk(t)
READY = 0x20
TWO_SHARDS = 0x08
# Ready link: on_ready queues lease, sweep and stats; then the admit.
base = bytes([READY]) + OK * 3 + OPEN(0) + OK + OPEN(1, 1) + OK
put("cluster", "broadcast", base + FRAME(0, '{"type":"broadcast","data":{"m":1}}') +
    bytes([6, 1, 6, 0]))
put("cluster", "direct", base + FRAME(0, '{"type":"direct","to":"bob","data":1}') +
    bytes([4, 0, 2, 0x10, 1, 0x09]))
put("cluster", "presence", base + FRAME(1, '{"type":"presence"}') +
    bytes([4, 0, 2, 0x20, 2, 0x02, 0x0a]))
put("cluster", "bad-json", base + FRAME(0, '{"type":') + FRAME(0, '[]'))
put("cluster", "fragments", base + bytes([1, 0, 1]) + chunk('{"type":"broad') +
    bytes([1, 0, 2]) + chunk('cast","data":2}'))
put("cluster", "pubsub-lobby", base + bytes([2, 0, 2]) + chunk(msg))
put("cluster", "envelope-kick", base + bytes([3, 0, 1, 0, 0, 0, 0, 0]) + u16(0) + u16(0))
put("cluster", "link-flap", base + bytes([8, 0, 7, 0, 8, 0]) + OPEN(2, 2) + bytes([7, 0]))
put("cluster", "close", base + bytes([5, 0, 7, 0, 5, 1, 7, 0]))
put("cluster", "direct-fast-path", base + OPEN(2, 0x41) + OK +
    FRAME(0, '{"type":"direct","to":"bob","data":"' + "x" * 3000 + '"}') + bytes([6, 2]))
put("cluster", "standalone-fallback", bytes([0]) + OPEN(0) + OPEN(1, 1) +
    FRAME(1, '{"type":"broadcast","data":null}') + bytes([6, 0]))
# Two shards: each link asks lease, sweep and stats; sessions on both.
two = bytes([READY | TWO_SHARDS]) + OK * 3 + bytes([4, 1, 1]) * 3
put("cluster", "shards-broadcast", two + OPEN(0) + OK + bytes([4, 1, 1]) + OPEN(1, 0x05) +
    OK + bytes([4, 1, 1]) + FRAME(0, '{"type":"broadcast","data":[1]}') +
    bytes([8, 1]) + FRAME(1, '{"type":"presence"}') + bytes([8, 1]))
# Regressions, fixed on main (issue 8 section 3): an unknown type goes to the
# inbound stream, whose XADD once measured the raw frame with strlen; a
# sweep reply holding a nil where a name belongs (strlen(NULL)).
put("cluster", "regress-inbound-strlen", bytes([READY]) + OK * 3 + OPEN(0) + OK +
    FRAME(0, '{"type":"custom","x":1}'))
put("cluster", "regress-sweep-reply-type", bytes([READY]) + OK +
    bytes([4, 0, 2, 0x20, 0x01, 0x03, 0x01, 0x0e]) + bytes([8, 0, 8, 0]) + OK * 3)
# A presence reply (HVALS) and a user lookup holding a nil where a name
# belongs: the old fan-out compared a nil's NULL str (found by this target
# before the bus; main checks every reply in gw_reply.c and refuses it).
put("cluster", "regress-presence-reply-nil", base + FRAME(1, '{"type":"presence"}') +
    bytes([4, 0, 2, 0x20, 0x01, 0x02, 0x01, 0x0e]))
put("cluster", "regress-direct-reply-nil", base +
    FRAME(0, '{"type":"direct","to":"bob","data":1}') +
    bytes([4, 0, 2, 0x20, 0x10, 0x01, 0x0e, 0x00]))
