"""`gateway --version`, `gatewayctl --version`, the start-up `build` log line
and the gw_build_info metric: one version (the Makefile's VERSION), the
commit the binary was built from and the libwebsockets revision."""
import http.client
import os
import re
import subprocess

from gwtest import HOST, ROOT, build_dir, gateway_bin


def makefile_version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M)
    assert m, "the Makefile defines no VERSION"
    return m.group(1)


def version_of(binary):
    """{"name", "version", "commit", "lws"} from BINARY --version."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode == 0, (out.returncode, out.stderr)
    lines = out.stdout.splitlines()
    m = re.fullmatch(r"(\S+) (\S+)", lines[0])
    assert m, out.stdout
    info = {"name": m.group(1), "version": m.group(2)}
    for line in lines[1:]:
        if line.startswith("commit "):
            info["commit"] = line[len("commit "):]
        elif line.endswith(" (built with)"):
            info["lws"] = line[len("libwebsockets "):-len(" (built with)")]
        elif line.endswith(" (running)"):
            info["lws_running"] = line[len("libwebsockets "):-len(" (running)")]
    return info


def check_commit(commit):
    """A git checkout builds in its commit; anything else says unknown."""
    if not os.path.exists(os.path.join(ROOT, ".git")):
        assert commit == "unknown", commit
        return
    sha = commit[:-len("-dirty")] if commit.endswith("-dirty") else commit
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", "--quiet",
                        sha + "^{commit}"], capture_output=True, text=True)
    assert r.returncode == 0, f"--version names commit {commit!r}, " \
        "which is not a commit of this checkout"


def test_gateway_version():
    v = version_of(gateway_bin())
    assert v["name"] == "gateway"
    assert v["version"] == makefile_version()
    check_commit(v["commit"])
    # The revision build-lws.sh built (e.g. 4.3.5-1+deb13u3), and what the
    # linked library says about itself.
    assert re.fullmatch(r"4\.3\.\d+\S*( \(.*\))?", v["lws"]), v
    assert v["lws_running"].startswith(v["lws"].split("-")[0]), v


def test_gatewayctl_version():
    g = version_of(gateway_bin())
    c = version_of(os.path.join(build_dir(), "bin", "gatewayctl"))
    assert c["name"] == "gatewayctl"
    assert (c["version"], c["commit"], c["lws"]) == \
        (g["version"], g["commit"], g["lws"])


def test_version_in_log_and_metrics(gateway):
    v = version_of(gateway_bin())
    gw = gateway()
    rec = gw.log_records("build")
    assert rec, gw.log_tail()
    assert (rec[0]["version"], rec[0]["commit"], rec[0]["lws"],
            rec[0]["lws_running"]) == \
        (v["version"], v["commit"], v["lws"], v["lws_running"])

    conn = http.client.HTTPConnection(HOST, gw.admin_port, timeout=3)
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    conn.close()
    want = (f'gw_build_info{{node="{gw.node_id}",version="{v["version"]}",'
            f'commit="{v["commit"]}",lws="{v["lws"]}"}} 1')
    assert want in body.splitlines(), \
        [ln for ln in body.splitlines() if "build" in ln]
    assert "# TYPE gw_build_info gauge" in body
