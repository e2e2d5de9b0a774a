"""
test_compose.py: the container and service files agree with each other,
with `make run` and with docs/config.md.

Docker cannot run on the development machines, so docker-compose.yml,
deploy/Dockerfile, deploy/haproxy.cfg, deploy/gateway.env.sample and
deploy/gateway.service are made correct by construction: parsed (YAML with
python3-yaml, the rest with the small readers below) and cross-checked.

* Names cannot drift: every GW_* variable any of them uses is a row of the
  docs/config.md table (which tests/unit/test_config.c ties to the code),
  and the sample env file lists every row.
* Values are real: the gateway binary is started with the compose
  environment and with the sample's, and must come up (and must refuse to
  start with the sample's empty secret).
* The topology is one: haproxy's backend is the compose gateways, on the
  ports their GW_LISTEN/GW_ADMIN_LISTEN say; host ports, secret and API
  key are run-local.sh's defaults.
* The runtime image installs a package for every shared library that
  build/bin/* links (ldd + dpkg, on this Debian 12 machine).
"""
import http.client
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
import yaml

import gwtest

ROOT = gwtest.ROOT
COMPOSE = os.path.join(ROOT, "docker-compose.yml")
DOCKERFILE = os.path.join(ROOT, "deploy", "Dockerfile")
HAPROXY_CFG = os.path.join(ROOT, "deploy", "haproxy.cfg")
ENV_SAMPLE = os.path.join(ROOT, "deploy", "gateway.env.sample")
UNIT = os.path.join(ROOT, "deploy", "gateway.service")
HEALTHCHECK = os.path.join(ROOT, "deploy", "healthcheck.sh")
RUN_LOCAL = os.path.join(ROOT, "deploy", "run-local.sh")
CONFIG_MD = os.path.join(ROOT, "docs", "config.md")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")

GW_NAME = re.compile(r"\bGW_[A-Z0-9_]*[A-Z0-9]\b")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------

def config_table():
    """{env name: {flag, type, default, allowed}} from docs/config.md."""
    rows = {}
    for line in read(CONFIG_MD).splitlines():
        if not line.startswith("| `--"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        flag, env, typ, default, allowed = (c.strip("`") for c in cells[:5])
        assert env.startswith("GW_"), f"config.md row without a GW_ name: {line}"
        rows[env] = {"flag": flag, "type": typ, "default": default,
                     "allowed": allowed}
    assert "GW_JWT_SECRET" in rows and "GW_LISTEN" in rows, \
        "docs/config.md: the settings table was not found"
    return rows


def table_default_int(name):
    return int(config_table()[name]["default"])


def compose():
    with open(COMPOSE, encoding="utf-8") as f:
        return yaml.safe_load(f)


_INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def interpolate(value):
    """Compose's ${NAME:-default}, resolved to the default (an unset host
    environment)."""
    if not isinstance(value, str):
        return value
    return _INTERP.sub(lambda m: m.group(2) or "", value)


def env_of(service):
    """A service's environment as {name: str}, interpolated."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(interpolate(v)).lower()
            if isinstance(v, bool) else str(interpolate(v))
            for k, v in env.items()}


def gateway_services(doc):
    """Services configured through GW_* variables: the gateway nodes."""
    return {name: s for name, s in doc["services"].items()
            if any(k.startswith("GW_") for k in env_of(s))}


def port_of(hostport):
    return int(hostport.rsplit(":", 1)[1])


def published(service):
    """[(host ip, host port, container port)] of a service's ports."""
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), int(p["published"]),
                        int(p["target"])))
            continue
        parts = str(p).split("/")[0].split(":")
        if len(parts) == 3:
            out.append((parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 2:
            out.append(("", int(parts[0]), int(parts[1])))
        else:
            out.append(("", None, int(parts[0])))
    return out


def dockerfile_instructions():
    """[(stage name, INSTRUCTION, arguments)] with continuations joined and
    comments dropped; stage name is that of the enclosing FROM."""
    out, cur, stage = [], "", None
    for raw in read(DOCKERFILE).splitlines():
        line = raw.strip()
        if not cur and (not line or line.startswith("#")):
            continue
        if cur and line.startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        instr, _, args = cur.strip().partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.search(r"\bAS\s+(\S+)", args, re.I)
            stage = m.group(1) if m else f"stage{len(out)}"
        out.append((stage, instr, args.strip()))
        cur = ""
    return out


def dockerfile_stages():
    """{stage: [(INSTRUCTION, args)]} in order; also the FROM images."""
    stages = {}
    for stage, instr, args in dockerfile_instructions():
        stages.setdefault(stage, []).append((instr, args))
    return stages


def stage_named(stages, name):
    assert name in stages, f"deploy/Dockerfile has no stage {name!r} " \
        f"(stages: {list(stages)})"
    return stages[name]


def runtime_stage_name(stages):
    """The stage whose ENTRYPOINT runs the gateway."""
    for name, instrs in stages.items():
        for instr, args in instrs:
            if instr == "ENTRYPOINT" and "gateway" in args and \
                    "haproxy" not in args:
                return name
    raise AssertionError("deploy/Dockerfile: no stage has the gateway as "
                         "its ENTRYPOINT")


def apt_packages(instrs):
    """Package names of `apt-get install` in a stage's RUN lines."""
    pkgs = []
    for instr, args in instrs:
        if instr != "RUN":
            continue
        for m in re.finditer(r"apt-get\s+install\s+(.*?)(?:&&|;|$)", args):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


_LB_VAR = re.compile(r'"\$\{([A-Z0-9_]+)(?:-([^}]*))?\}"')


def haproxy_sections(env=None):
    """{"global": [...], "backend gateways": [[word, ...], ...], ...} with
    "${NAME-default}" expanded from `env` (default: the defaults, i.e. the
    compose topology)."""
    env = env or {}
    sections, cur = {}, None
    for raw in read(HAPROXY_CFG).splitlines():
        line = raw.split("#", 1)[0].rstrip() if not raw.strip().startswith(
            "#") else ""
        if not line.strip():
            continue
        line = _LB_VAR.sub(lambda m: env.get(m.group(1), m.group(2) or ""),
                           line)
        words = line.split()
        if not raw[0].isspace():
            cur = " ".join(words[:2]) if len(words) > 1 else words[0]
            sections[cur] = []
        else:
            sections[cur].append(words)
    return sections


def directives(section, name):
    return [w for w in section if w[0] == name]


def unit_settings():
    """{(section, key): [values]} of deploy/gateway.service."""
    out, sec = {}, None
    for raw in read(UNIT).splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            sec = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        out.setdefault((sec, k.strip()), []).append(v.strip())
    return out


def env_sample():
    """(set lines {name: value}, commented examples {name: value})."""
    active, examples = {}, {}
    for line in read(ENV_SAMPLE).splitlines():
        m = re.match(r"^(#?)(GW_[A-Z0-9_]+)=(.*)$", line)
        if m:
            (examples if m.group(1) else active)[m.group(2)] = m.group(3)
    return active, examples


def run_local_default(var):
    """The default run-local.sh gives VAR: ${VAR:-default}."""
    m = re.search(r"\$\{" + var + r":-([^}]*)\}", read(RUN_LOCAL))
    assert m, f"deploy/run-local.sh has no default for {var}"
    return m.group(1)


# --------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------

def test_compose_services():
    doc = compose()
    services = doc.get("services") or {}
    gws = gateway_services(doc)
    assert "redis" in services, f"no redis service: {list(services)}"
    assert "haproxy" in services, f"no haproxy service: {list(services)}"
    assert len(gws) == 3, f"want 3 gateway services, got {sorted(gws)}"
    assert set(services) == {"redis", "haproxy"} | set(gws), \
        f"unexpected services: {sorted(set(services) - {'redis', 'haproxy'} - set(gws))}"


def test_compose_gateways_build_from_the_dockerfile():
    doc = compose()
    stages = dockerfile_stages()
    runtime = runtime_stage_name(stages)
    for name, s in gateway_services(doc).items():
        b = s.get("build")
        assert isinstance(b, dict), f"{name}: build must name the Dockerfile"
        ctx = os.path.normpath(os.path.join(ROOT, b.get("context", ".")))
        assert ctx == ROOT, f"{name}: build context {b.get('context')!r} " \
            "is not the repository root"
        df = os.path.normpath(os.path.join(ctx, b.get("dockerfile", "Dockerfile")))
        assert df == DOCKERFILE, f"{name}: builds from {df}, want deploy/Dockerfile"
        # No target means the last stage; either way it must be the runtime.
        target = b.get("target") or list(stages)[-1]
        assert target == runtime, f"{name}: target {target!r}, want {runtime!r}"
    lb = doc["services"]["haproxy"]
    if "build" in lb:
        b = lb["build"]
        assert os.path.normpath(os.path.join(ROOT, b.get("context", "."),
                                             b.get("dockerfile", "Dockerfile"))) == DOCKERFILE
        instrs = stage_named(stages, b.get("target"))
        assert any(i == "ENTRYPOINT" and "haproxy" in a for i, a in instrs)
    else:
        assert str(lb.get("image", "")).startswith("haproxy:"), \
            "haproxy: neither built from deploy/Dockerfile nor the haproxy image"


def test_compose_gateway_environment():
    doc = compose()
    gws = gateway_services(doc)
    envs = {n: env_of(s) for n, s in gws.items()}
    ids = [e.get("GW_NODE_ID") for e in envs.values()]
    assert all(ids) and len(set(ids)) == len(ids), f"GW_NODE_ID not distinct: {ids}"
    for key in ("GW_JWT_SECRET", "GW_REDIS_URL", "GW_LISTEN",
                "GW_ADMIN_LISTEN", "GW_API_KEY"):
        vals = {n: e.get(key) for n, e in envs.items()}
        assert len(set(vals.values())) == 1 and None not in vals.values(), \
            f"{key} must be set, and the same, on every node: {vals}"
    e = next(iter(envs.values()))
    assert len(e["GW_JWT_SECRET"].encode()) >= 32, "GW_JWT_SECRET < 32 bytes"
    assert len(e["GW_API_KEY"].encode()) >= 16, "GW_API_KEY < 16 bytes"
    m = re.match(r"redis://(?:[^@/]*@)?([^:/]+):(\d+)", e["GW_REDIS_URL"])
    assert m, f"GW_REDIS_URL {e['GW_REDIS_URL']!r}"
    assert m.group(1) == "redis" and m.group(2) == "6379", \
        f"GW_REDIS_URL must name the redis service: {e['GW_REDIS_URL']}"
    # The admin listener must be reachable by haproxy from its container.
    assert e["GW_ADMIN_LISTEN"].rsplit(":", 1)[0] in ("0.0.0.0", "[::]", ""), \
        "GW_ADMIN_LISTEN must listen on the container's network"


def test_compose_same_settings_as_run_local():
    """`make run` and compose: one secret, one API key (overridable the
    same way), the same host ports."""
    doc = compose()
    e = env_of(next(iter(gateway_services(doc).values())))
    assert e["GW_JWT_SECRET"] == run_local_default("GW_JWT_SECRET")
    assert e["GW_API_KEY"] == run_local_default("GW_API_KEY")
    raw = yaml.safe_load(read(COMPOSE))
    raw_env = next(iter(gateway_services(raw).values()))["environment"]
    assert "${GW_JWT_SECRET" in str(raw_env["GW_JWT_SECRET"]), \
        "GW_JWT_SECRET must be overridable from the shell, as in run-local"
    assert str(raw_env.get("GW_DEV_TOKENS")).lower() == "true"
    # run-local passes --public-cluster-info for the dashboard; so must we.
    assert str(raw_env.get("GW_PUBLIC_CLUSTER_INFO")).lower() == "true"
    # --dev-tokens on 0.0.0.0 starts only when forced, explicitly.
    if e["GW_LISTEN"].rsplit(":", 1)[0] in ("0.0.0.0", "[::]", ""):
        assert str(raw_env.get("GW_DEV_TOKENS_ANY_ADDRESS")).lower() == "true", \
            "GW_DEV_TOKENS on a non-loopback GW_LISTEN needs GW_DEV_TOKENS_ANY_ADDRESS"

    base = int(run_local_default("GW_BASE_PORT"))
    admin = int(run_local_default("GW_ADMIN_BASE_PORT"))
    want = {"haproxy": {base, int(run_local_default("GW_LB_STATS_PORT"))},
            "redis": {int(run_local_default("GW_REDIS_PORT"))}}
    for name in gateway_services(doc):
        i = int(re.search(r"(\d+)$", name).group(1))
        want[name] = {base + i, admin + i}
    for name, ports in want.items():
        got = {hp for _, hp, _ in published(doc["services"][name])}
        assert got == ports, f"{name}: host ports {sorted(got)}, " \
            f"run-local uses {sorted(ports)}"


def test_compose_ports():
    doc = compose()
    seen = []
    for name, s in gateway_services(doc).items():
        e = env_of(s)
        targets = {cp for _, _, cp in published(s)}
        assert port_of(e["GW_LISTEN"]) in targets, \
            f"{name}: the WebSocket port {e['GW_LISTEN']} is not published"
        assert port_of(e["GW_ADMIN_LISTEN"]) in targets, \
            f"{name}: the admin port {e['GW_ADMIN_LISTEN']} is not published"
        for ip, _, _ in published(s):
            assert ip == "127.0.0.1", f"{name}: publish on the loopback only"
    lb = doc["services"]["haproxy"]
    sec = haproxy_sections()
    bind = directives(sec["frontend ws"], "bind")[0][1]
    assert port_of(bind) in {cp for _, _, cp in published(lb)}, \
        f"haproxy's listener {bind} is not published"
    for s in doc["services"].values():
        seen += [hp for _, hp, _ in published(s)]
    assert len(seen) == len(set(seen)), f"a host port is published twice: {seen}"


def test_compose_healthchecks_restart_and_order():
    doc = compose()
    gws = gateway_services(doc)
    for name, s in doc["services"].items():
        hc = s.get("healthcheck") or {}
        assert hc.get("test") and not hc.get("disable"), f"{name}: no healthcheck"
        assert s.get("restart") in ("always", "unless-stopped", "on-failure"), \
            f"{name}: restart policy {s.get('restart')!r}"
    for name, s in gws.items():
        dep = s.get("depends_on") or {}
        assert isinstance(dep, dict) and \
            dep.get("redis", {}).get("condition") == "service_healthy", \
            f"{name}: must wait for a healthy redis"
        grace = str(s.get("stop_grace_period", "10s"))
        secs = int(re.match(r"(\d+)s$", grace).group(1))
        assert secs > int(env_of(s).get("GW_SHUTDOWN_TIMEOUT", "10")), \
            f"{name}: stop_grace_period {grace} cuts the drain short"
        test = " ".join(s["healthcheck"]["test"])
        assert "gateway-healthcheck" in test or "/ready" in test, test
    dep = doc["services"]["haproxy"].get("depends_on") or {}
    for name in gws:
        assert dep.get(name, {}).get("condition") == "service_healthy", \
            f"haproxy must wait for a healthy {name}"
    # haproxy's healthcheck asks its monitor URI.
    stats = haproxy_sections()["frontend stats"]
    uri = directives(stats, "monitor-uri")[0][1]
    test = " ".join(doc["services"]["haproxy"]["healthcheck"]["test"])
    port = port_of(directives(stats, "bind")[0][1])
    assert f":{port}{uri}" in test, f"haproxy healthcheck {test!r} should " \
        f"ask :{port}{uri}"


def test_compose_mounts_haproxy_cfg():
    lb = compose()["services"]["haproxy"]
    vols = [str(v) for v in lb.get("volumes") or []]
    assert any(v.split(":")[0] in ("./deploy/haproxy.cfg", "deploy/haproxy.cfg")
               for v in vols), f"haproxy must mount deploy/haproxy.cfg: {vols}"
    if "build" in lb:
        # Mounted where the image's ENTRYPOINT reads it.
        entry = [a for i, a in stage_named(dockerfile_stages(),
                                           lb["build"].get("target"))
                 if i == "ENTRYPOINT"][0]
        target = [v.split(":")[1] for v in vols if "haproxy.cfg" in v][0]
        assert target in entry, f"mounted at {target}, image reads {entry}"


# --------------------------------------------------------------------------
# GW_* names: one table
# --------------------------------------------------------------------------

@pytest.mark.parametrize("path", [COMPOSE, DOCKERFILE, ENV_SAMPLE, UNIT,
                                  HEALTHCHECK])
def test_gw_names_exist_in_config_table(path):
    table = config_table()
    used = set(GW_NAME.findall(read(path)))
    unknown = sorted(used - set(table))
    assert not unknown, (
        f"{os.path.relpath(path, ROOT)} uses {unknown}, which docs/config.md's "
        f"table does not have (the gateway would ignore them)")


def test_compose_environment_keys_are_settings():
    table = config_table()
    for name, s in compose()["services"].items():
        for key in env_of(s):
            if key.startswith("GW_"):
                assert key in table, f"{name}: {key} is not a setting"


def test_env_sample_lists_every_setting():
    table = config_table()
    active, examples = env_sample()
    missing = sorted(set(table) - set(active) - set(examples))
    assert not missing, ("deploy/gateway.env.sample does not mention "
                         f"{missing}; add them (commented, with the default)")
    both = sorted(set(active) & set(examples))
    assert not both, f"set and commented out at once: {both}"


def test_env_sample_format():
    """KEY=value lines that systemd and docker --env-file read the same way:
    no quotes, no blanks around '=', no trailing comment."""
    for n, line in enumerate(read(ENV_SAMPLE).splitlines(), 1):
        if not line.strip() or line.startswith("#") and \
                not re.match(r"#GW_", line):
            continue
        body = line.lstrip("#")
        assert re.match(r"^GW_[A-Z0-9_]+=[^\s\"'#]*$", body), \
            f"gateway.env.sample:{n}: {line!r}"


# --------------------------------------------------------------------------
# The values work: the real binary accepts them
# --------------------------------------------------------------------------

SECRET_OK = "compose-test-secret-0123456789-abcdefghij"


def start_with_env(tmp_path, env, name):
    """Starts the gateway with `env` (plus listeners on free ports and no
    Redis); returns (process, port, log path)."""
    port, admin = gwtest.free_port(), gwtest.free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    full.update(env)
    full.update({"GW_LISTEN": f"127.0.0.1:{port}",
                 "GW_REDIS_URL": ""})
    if "GW_ADMIN_LISTEN" in env and env["GW_ADMIN_LISTEN"]:
        full["GW_ADMIN_LISTEN"] = f"127.0.0.1:{admin}"
    log = os.path.join(str(tmp_path), f"{name}.log")
    with open(log, "wb") as lf:
        proc = subprocess.Popen([gwtest.gateway_bin()], env=full,
                                stdin=subprocess.DEVNULL, stdout=lf,
                                stderr=subprocess.STDOUT, cwd=str(tmp_path))
    return proc, port, log


def expect_starts(tmp_path, env, name):
    """The gateway comes up (GET /healthz 200) with `env`, and stops on
    SIGTERM."""
    proc, port, log = start_with_env(tmp_path, env, name)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, (
                f"{name}: the gateway refuses these settings (exit "
                f"{proc.returncode}):\n{read(log)[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            assert time.monotonic() < deadline, \
                f"{name}: no /healthz within 15 s:\n{read(log)[-2000:]}"
            time.sleep(0.05)  # polling interval
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


need_binary = pytest.mark.skipif(not os.path.exists(gwtest.gateway_bin()),
                                 reason="gateway not built")


@need_binary
def test_compose_environment_is_accepted(tmp_path):
    for name, s in gateway_services(compose()).items():
        expect_starts(tmp_path, env_of(s), f"compose-{name}")


@need_binary
def test_dockerfile_environment_is_accepted(tmp_path):
    stages = dockerfile_stages()
    env = {"GW_JWT_SECRET": SECRET_OK}
    for instr, args in stage_named(stages, runtime_stage_name(stages)):
        if instr == "ENV":
            env.update(dict(re.findall(r"(GW_[A-Z0-9_]+)=(\S*)", args)))
    expect_starts(tmp_path, env, "dockerfile-env")


@need_binary
def test_env_sample_is_accepted(tmp_path):
    """The sample's set lines with a secret filled in, and then every
    commented example too (except the two that name files)."""
    active, examples = env_sample()
    env = dict(active, GW_JWT_SECRET=SECRET_OK)
    expect_starts(tmp_path, env, "sample-active")
    env.update({k: v for k, v in examples.items()
                if k not in ("GW_LOG_FILE", "GW_CONFIG")})
    expect_starts(tmp_path, env, "sample-examples")


@need_binary
def test_env_sample_refuses_to_start_without_a_secret(tmp_path):
    active, _ = env_sample()
    assert active.get("GW_JWT_SECRET", None) == "", \
        "the sample must leave GW_JWT_SECRET empty, so a copy fails fast"
    proc, _, log = start_with_env(tmp_path, active, "sample-nosecret")
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("the gateway started with an empty GW_JWT_SECRET")
    assert rc != 0
    assert "jwt" in read(log).lower(), read(log)


# --------------------------------------------------------------------------
# deploy/haproxy.cfg
# --------------------------------------------------------------------------

def test_haproxy_backend_lists_each_gateway():
    doc = compose()
    gws = gateway_services(doc)
    sec = haproxy_sections()
    be = sec["backend gateways"]
    servers = {w[1]: w for w in directives(be, "server")}
    want = {}
    for name, s in gws.items():
        e = env_of(s)
        want[name] = (f"{name}:{port_of(e['GW_LISTEN'])}",
                      str(port_of(e["GW_ADMIN_LISTEN"])))
    got = {}
    for sname, w in servers.items():
        check_port = w[w.index("port") + 1] if "port" in w else None
        assert "check" in w, f"server {sname}: no health check"
        got[w[2].split(":")[0]] = (w[2], check_port)
    assert got == want, ("haproxy's servers (address, check port) must be "
                         f"the compose gateways: got {got}, want {want}")
    assert directives(be, "balance")[0][1] in ("roundrobin", "leastconn")
    assert ["option", "httpchk"] in [w[:2] for w in be]
    send = " ".join(" ".join(w) for w in directives(be, "http-check"))
    assert "uri /ready" in send, f"health check must ask /ready: {send}"
    assert "expect status 200" in send


def test_haproxy_websocket_timeouts():
    d = haproxy_sections()["defaults"]
    timeouts = {w[1]: w[2] for w in directives(d, "timeout")}
    assert "tunnel" in timeouts, "no `timeout tunnel`: WebSockets would be " \
        "cut after `timeout client`"
    to_s = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}

    def secs(v):
        m = re.match(r"(\d+)(ms|s|m|h|d)?$", v)
        return int(m.group(1)) * to_s[m.group(2) or "ms"]
    # Longer than the gateway's heartbeat: a live connection is never idle
    # that long.
    assert secs(timeouts["tunnel"]) > table_default_int("GW_HEARTBEAT_INTERVAL")
    assert ["mode", "http"] in d


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="no haproxy")
@pytest.mark.parametrize("topology", ["compose", "run-local"])
def test_haproxy_cfg_is_valid(topology):
    env = dict(os.environ)
    if topology == "run-local":
        env.update({"LB_BIND": "127.0.0.1:18080",
                    "LB_STATS_BIND": "127.0.0.1:18404",
                    "LB_CHECK_URI": "/healthz"})
        for i in (1, 2, 3):
            env[f"LB_NODE{i}_ADDR"] = f"127.0.0.1:1808{i}"
            env[f"LB_NODE{i}_CHECK"] = f"1809{i}"
    r = subprocess.run(["haproxy", "-c", "-f", HAPROXY_CFG], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    if topology == "run-local":
        # (A host without nameservers in resolv.conf gets a warning about
        # the resolvers section, which only the containers use.)
        warnings = [ln for ln in r.stderr.splitlines() if "WARNING" in ln
                    and "nameserver" not in ln]
        assert not warnings, r.stderr


def test_run_local_sets_every_haproxy_variable():
    """Every LB_* variable haproxy.cfg reads is exported by run-local.sh
    (otherwise `make run` would fall back to a compose default)."""
    names = set(_LB_VAR_NAMES.findall(read(HAPROXY_CFG)))
    script = read(RUN_LOCAL)
    exported = set(re.findall(r"\b(LB_[A-Z0-9_]+)=", script))
    for tmpl in re.findall(r'"(LB_[A-Z]+)\$\{i\}(_[A-Z]+)=', script):
        exported |= {f"{tmpl[0]}{i}{tmpl[1]}" for i in (1, 2, 3)}
    assert names <= exported, f"not set by run-local.sh: {sorted(names - exported)}"


_LB_VAR_NAMES = re.compile(r"\$\{(LB_[A-Z0-9_]+)")


# --------------------------------------------------------------------------
# deploy/Dockerfile
# --------------------------------------------------------------------------

def test_dockerfile_multistage_bookworm():
    froms = [a for _, i, a in dockerfile_instructions() if i == "FROM"]
    assert len(froms) >= 2, "the Dockerfile must be multi-stage"
    for f in froms:
        image = f.split()[0] if not f.startswith("--") else f.split()[1]
        assert re.match(r"debian:bookworm(-slim)?(@sha256:[0-9a-f]+)?$", image), \
            f"FROM {image}: want debian:bookworm"


def test_dockerfile_build_stage_runs_the_make_scripts():
    stages = dockerfile_stages()
    runtime = runtime_stage_name(stages)
    copies = [a for i, a in stages[runtime] if i == "COPY" and "--from=" in a]
    assert copies, "the runtime stage copies nothing from a build stage"
    build = re.search(r"--from=(\S+)", copies[0]).group(1)
    runs = " && ".join(a for i, a in stage_named(stages, build) if i == "RUN")
    assert "deploy/install-deps.sh" in runs, "build stage: no install-deps.sh"
    assert re.search(r"\bmake\b[^&;]*\bdeps\b", runs), \
        "build stage: `make deps` (build-lws.sh, as make does) missing"
    assert re.search(r"\bmake\b", runs.replace("make deps", "")), \
        "build stage: no `make`"
    copied = " ".join(copies)
    for b in ("gateway", "gatewayctl", "gwtoken"):
        assert f"build/bin/{b}" in copied, f"runtime stage lacks {b}"


def test_dockerfile_runtime_stage():
    stages = dockerfile_stages()
    rt = stages[runtime_stage_name(stages)]
    users = [a for i, a in rt if i == "USER"]
    assert users, "the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1]} is root"
    assert any(i == "HEALTHCHECK" and "CMD" in a for i, a in rt), "no HEALTHCHECK"
    expose = {int(p.split("/")[0]) for i, a in rt if i == "EXPOSE"
              for p in a.split()}
    env = {}
    for i, a in rt:
        if i == "ENV":
            env.update(dict(re.findall(r"(GW_[A-Z0-9_]+)=(\S*)", a)))
    assert "GW_LISTEN" in env and "GW_ADMIN_LISTEN" in env
    assert {port_of(env["GW_LISTEN"]), port_of(env["GW_ADMIN_LISTEN"])} <= expose, \
        f"EXPOSE {sorted(expose)} misses the listeners {env}"
    assert "GW_JWT_SECRET" not in env, "never bake a secret into the image"
    # The health-check script it runs is copied in.
    hc = [a for i, a in rt if i == "HEALTHCHECK"][0]
    script = re.search(r'"(/[^"]+)"', hc)
    if script and "curl" not in hc:
        assert any(i == "COPY" and script.group(1) in a for i, a in rt), \
            f"HEALTHCHECK runs {script.group(1)}, which is not copied in"
    # Runtime packages by name only: no .deb files, no URLs.
    for p in apt_packages(rt):
        assert re.match(r"^[a-z0-9][a-z0-9.+-]+$", p), f"not a package name: {p}"


def test_runtime_packages_cover_the_binaries():
    """Every shared library build/bin/* links comes from a package that the
    runtime stage installs (or from libc6, in every Debian image)."""
    bins = [os.path.join(gwtest.build_dir(), "bin", b)
            for b in ("gateway", "gatewayctl", "gwtoken")]
    if not all(os.path.exists(b) for b in bins):
        pytest.skip("binaries not built")
    if not shutil.which("ldd") or not shutil.which("dpkg"):
        pytest.skip("no ldd/dpkg")
    stages = dockerfile_stages()
    have = set(apt_packages(stages[runtime_stage_name(stages)])) | {"libc6"}
    libs = set()
    for b in bins:
        out = subprocess.run(["ldd", b], capture_output=True, text=True,
                             check=True).stdout
        if re.search(r"lib(asan|ubsan|tsan|lsan)\.", out):
            pytest.skip("a sanitizer build (make asan); the image is not one")
        libs |= set(re.findall(r"=>\s+(/\S+)", out))
    missing = {}
    for lib in sorted(libs):
        cands = [lib, os.path.realpath(lib)]
        cands += ["/usr" + c for c in cands if not c.startswith("/usr/")]
        cands += [c[4:] for c in cands if c.startswith("/usr/")]
        pkg = None
        for c in cands:
            r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
            if r.returncode == 0:
                pkg = r.stdout.split(":")[0].strip()
                break
        if pkg is None:
            missing[lib] = "(no package owns it)"
        elif pkg not in have:
            missing[lib] = pkg
    assert not missing, ("the runtime stage of deploy/Dockerfile lacks "
                         f"packages for: {missing}")


def test_dockerignore():
    pats = [ln.strip() for ln in read(DOCKERIGNORE).splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert "build" in pats or "build/" in pats or "/build" in pats, \
        "build/ must not be sent: the image builds its own"
    assert ".git" in pats
    for needed in ("Makefile", "common", "gateway", "tools", "deploy",
                   "dashboard", "clients"):
        assert needed not in pats and needed + "/" not in pats, \
            f".dockerignore drops {needed}, which the build needs"


# --------------------------------------------------------------------------
# deploy/gateway.service
# --------------------------------------------------------------------------

def test_systemd_unit():
    u = unit_settings()

    def one(key, sec="Service"):
        v = u.get((sec, key))
        assert v, f"gateway.service: no {key}="
        return v[-1]

    assert one("EnvironmentFile") == "/etc/gateway/gateway.env"
    assert one("Restart") == "on-failure"
    assert one("KillSignal") == "SIGTERM"
    assert one("ExecStart").split()[0].endswith("/gateway")
    stop = one("TimeoutStopSec")
    secs = int(re.match(r"(\d+)s?$", stop).group(1))
    assert secs > table_default_int("GW_SHUTDOWN_TIMEOUT"), \
        f"TimeoutStopSec={stop} is not longer than --shutdown-timeout"
    nofile = int(one("LimitNOFILE").split(":")[-1])
    assert nofile > table_default_int("GW_NODE_MAX_CONNECTIONS")
    for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                      ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                      ("PrivateDevices", "yes")):
        assert one(key) == want, f"{key}={one(key)}, want {want}"
    assert one("DynamicUser") == "yes" or one("User") not in ("root", "0")
    for sec, key in u:
        assert not (sec == "Service" and key.startswith("StartLimit")), \
            "StartLimit* belong in [Unit]"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None or
                    not os.path.exists(gwtest.gateway_bin()),
                    reason="no systemd-analyze or no gateway binary")
def test_systemd_unit_verifies(tmp_path):
    envf = tmp_path / "gateway.env"
    envf.write_text(read(ENV_SAMPLE))
    unit = tmp_path / "gateway.service"
    unit.write_text(read(UNIT)
                    .replace("/usr/local/bin/gateway", gwtest.gateway_bin())
                    .replace("/etc/gateway/gateway.env", str(envf)))
    r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                       capture_output=True, text=True, timeout=60)
    problems = [ln for ln in (r.stdout + r.stderr).splitlines()
                if "gateway.service" in ln]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr


def test_healthcheck_script_is_posix_sh():
    assert read(HEALTHCHECK).startswith("#!/bin/sh")
    assert os.access(HEALTHCHECK, os.X_OK)
    r = subprocess.run(["sh", "-n", HEALTHCHECK], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@need_binary
@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_healthcheck_script_against_a_node(tmp_path):
    """ready (admin /ready) when an admin listener is configured, /healthz
    otherwise; failure when nothing listens."""
    port, admin = gwtest.free_port(), gwtest.free_port()
    help_text = subprocess.run([gwtest.gateway_bin(), "--help"],
                               capture_output=True, text=True).stdout
    has_admin = "--admin-listen" in help_text
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    env.update({"GW_JWT_SECRET": SECRET_OK, "GW_LISTEN": f"127.0.0.1:{port}"})
    if has_admin:
        env["GW_ADMIN_LISTEN"] = f"0.0.0.0:{admin}"
    log = open(tmp_path / "hc.log", "wb")
    proc = subprocess.Popen([gwtest.gateway_bin()], env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            r = subprocess.run([HEALTHCHECK], env=env, capture_output=True,
                               text=True, timeout=10)
            if r.returncode == 0:
                break
            assert proc.poll() is None, "the gateway exited"
            assert time.monotonic() < deadline, r.stderr
            time.sleep(0.1)  # polling interval
        dead = dict(env, GW_LISTEN=f"127.0.0.1:{gwtest.free_port()}")
        dead.pop("GW_ADMIN_LISTEN", None)
        r = subprocess.run([HEALTHCHECK], env=dead, capture_output=True,
                           text=True, timeout=10)
        assert r.returncode != 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
