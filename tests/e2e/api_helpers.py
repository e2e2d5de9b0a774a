"""
api_helpers.py — helpers for the admin-listener tests (test_api.py).

* AdminClient: plain HTTP/1.1 requests (http.client, any method) against a
  node's --admin-listen address; get()/post() return a Reply with status,
  lower-cased headers, the raw body and .json().
* assert_error(): the error contract of docs/api.md: status + a JSON body
  that is exactly {"error": CODE, "message": TEXT}.
* parse_metrics(): a strict parser for the Prometheus text format the
  node serves on /metrics (every sample line `name{labels} value`, every
  family announced by # HELP and # TYPE before its samples).
* start_admin_node(): a gateway (through the conftest fixture) with an admin
  listener on a fresh port, returned once the admin port answers /healthz.

Waits poll for a condition and fail with the last value seen; nothing here
sleeps to decide an outcome.
"""
import http.client
import json
import math
import re
import time

import gwtest
from cluster import wait_until as wait_for  # the one polling helper

HOST = gwtest.HOST
API_KEY = "test-api-key-0123456789abcdef"  # >= 16 bytes


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

class Reply:
    def __init__(self, method, path, status, headers, body):
        self.method, self.path = method, path
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(f"{self.method} {self.path}: HTTP "
                                 f"{self.status}, body is not JSON: "
                                 f"{self.body[:300]!r}")

    @property
    def ctype(self):
        return self.headers.get("content-type", "")

    def __repr__(self):
        return (f"<{self.method} {self.path}: {self.status} "
                f"{self.ctype!r} {self.body[:300]!r}>")


def http_request(port, method, path, body=None, headers=None, timeout=5.0):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    hdrs = dict(headers or {})
    if body is not None:
        hdrs.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Reply(method, path, r.status,
                     {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


class AdminClient:
    def __init__(self, port, key=None):
        self.port = port
        self.key = key

    def auth(self, how="bearer", key=None):
        key = self.key if key is None else key
        if key is None or how is None:
            return {}
        if how == "bearer":
            return {"Authorization": "Bearer " + key}
        if how == "x-api-key":
            return {"X-API-Key": key}
        raise ValueError(how)

    def request(self, method, path, body=None, headers=None, how="bearer",
                key=None, timeout=5.0):
        h = self.auth(how, key) if path.startswith("/api/") else {}
        h.update(headers or {})
        return http_request(self.port, method, path, body, h, timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def ok(self, method, path, body=None, **kw):
        """The request must answer 200 with a JSON body; returns it."""
        r = self.request(method, path, body, **kw)
        assert r.status == 200, f"want 200: {r!r}"
        return r.json()

    def metrics(self):
        r = self.get("/metrics")
        assert r.status == 200, f"/metrics: {r!r}"
        return parse_metrics(r.body.decode())


def assert_error(r, status, code):
    """docs/api.md: errors are always {"error":CODE,"message":TEXT} with a
    matching status."""
    assert r.status == status, f"want {status} {code}: got {r!r}"
    assert "json" in r.ctype, f"error body is not JSON (Content-Type " \
        f"{r.ctype!r}): {r!r}"
    doc = r.json()
    assert isinstance(doc, dict) and set(doc) == {"error", "message"}, \
        f"error body must be exactly {{error, message}}: {doc} ({r!r})"
    assert doc["error"] == code, f"want error {code!r}: {doc}"
    assert isinstance(doc["message"], str) and doc["message"], \
        f"message must be a non-empty string: {doc}"
    return doc


# --------------------------------------------------------------------------
# Prometheus text format
# --------------------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(r"^(" + _NAME + r")(\{[^{}]*\})? (\S+)( -?\d+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
                    r'\s*(,|$)')
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _labels(text, line):
    if not text:
        return ()
    inner = text[1:-1]
    out, pos = [], 0
    while pos < len(inner):
        m = _LABEL.match(inner, pos)
        assert m, f"bad label set in metrics line {line!r}"
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    names = [k for k, _ in out]
    assert len(names) == len(set(names)), f"duplicate label in {line!r}"
    return tuple(sorted(out))


def _value(s, line):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise AssertionError(f"bad sample value in metrics line {line!r}")


class Metrics:
    def __init__(self, text):
        self.text = text
        self.types = {}      # family -> type
        self.helps = {}      # family -> help text
        self.samples = []    # (name, labels dict, value, family)

    def family_of(self, name):
        if name in self.types:
            return name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                base = name[:-len(suffix)]
                if self.types.get(base) in ("histogram", "summary"):
                    return base
        return None

    def get(self, name, **labels):
        """The value of the one sample `name` with exactly these labels
        (None if absent)."""
        want = {k: str(v) for k, v in labels.items()}
        for n, l, v, _ in self.samples:
            if n == name and l == want:
                return v
        return None

    def value(self, name, default=0.0, **labels):
        v = self.get(name, **labels)
        return default if v is None else v

    def all(self, name):
        return [(l, v) for n, l, v, _ in self.samples if n == name]

    def __repr__(self):
        return f"<Metrics {len(self.types)} families, {len(self.samples)} " \
               f"samples>"


def parse_metrics(text):
    """Parses and validates the exposition; raises AssertionError naming the
    offending line."""
    m = Metrics(text)
    assert text.endswith("\n"), "metrics text must end with a newline"
    seen_samples = set()
    for line in text.split("\n")[:-1]:
        assert line == line.strip() or line.startswith("#"), \
            f"stray blanks in metrics line {line!r}"
        if not line:
            raise AssertionError("empty line in metrics text")
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                assert re.fullmatch(_NAME, name), f"bad name in {line!r}"
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "HELP":
                    assert name not in m.helps, f"second HELP for {name}"
                    m.helps[name] = rest
                else:
                    assert name not in m.types, f"second TYPE for {name}"
                    assert rest in _TYPES, f"bad TYPE in {line!r}"
                    assert not any(f == name for *_, f in m.samples), \
                        f"TYPE {name} after its samples"
                    m.types[name] = rest
            continue
        s = _SAMPLE.match(line)
        assert s, f"metrics line is not `name{{labels}} value`: {line!r}"
        name, labels = s.group(1), _labels(s.group(2), line)
        value = _value(s.group(3), line)
        fam = m.family_of(name)
        assert fam is not None, f"sample {name} has no # TYPE before it: " \
                                f"{line!r}"
        assert fam in m.helps, f"family {fam} has no # HELP: {line!r}"
        key = (name, labels)
        assert key not in seen_samples, f"duplicate sample {line!r}"
        seen_samples.add(key)
        m.samples.append((name, dict(labels), value, fam))
    return m


# --------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------

def start_admin_node(gateway, key=None, **opts):
    """A gateway with --admin-listen on a fresh port (and --api-key KEY when
    key is given). Sets gw.admin (an AdminClient) and gw.admin_port."""
    port = gwtest.free_port()
    o = dict(opts)
    o["admin_listen"] = f"{HOST}:{port}"
    if key is not None:
        o["api_key"] = key
    gw = gateway(**o)
    gw.admin_port = port
    gw.admin = AdminClient(port, key)

    def healthy():
        try:
            return gw.admin.get("/healthz", timeout=0.5).status == 200
        except OSError:
            return False
    wait_for(healthy, 10, f"admin listener of {gw.node_id} on :{port}")
    return gw
