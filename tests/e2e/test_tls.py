"""TLS on the node itself: wss:// with --tls-cert/--tls-key, https:// on the
admin listener with --admin-tls, certificates re-read on SIGHUP.

Each test makes its own CA and server certificates with the openssl CLI in
its temp dir and talks to the node with real TLS clients that trust only
that CA: Python's websockets and http.client, and (when this Node has it)
Node's built-in WebSocket.
"""
import asyncio
import http.client
import os
import shutil
import signal
import ssl
import subprocess

import pytest
import websockets

from gwtest import HOST, run


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr}"


class PKI:
    """A CA in `d`, and server certificates it signs for 127.0.0.1."""

    def __init__(self, d):
        self.d = str(d)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-days", "2", "-subj", "/CN=gateway e2e CA",
                cwd=self.d)
        with open(os.path.join(self.d, "san.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        self.ca = os.path.join(self.d, "ca.pem")

    def server(self, serial, name="srv"):
        """Signs a new key; returns (chain path, key path): the chain file
        holds the certificate then the CA, as a real chain would."""
        openssl("req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=127.0.0.1",
                cwd=self.d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-set_serial", str(serial), "-days", "2",
                "-extfile", "san.cnf", "-out", f"{name}.crt", cwd=self.d)
        chain = os.path.join(self.d, f"{name}.chain.pem")
        with open(chain, "w") as out:
            for part in (f"{name}.crt", "ca.pem"):
                with open(os.path.join(self.d, part)) as f:
                    out.write(f.read())
        return chain, os.path.join(self.d, f"{name}.key")

    def client_context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.check_hostname = True
        return ctx


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    return PKI(d)


def served_serial(ws_client):
    """The serial (int) of the certificate this connection was served."""
    obj = ws_client.ws.transport.get_extra_info("ssl_object")
    return int(obj.getpeercert()["serialNumber"], 16)


def tls_gateway(gateway, pki, serial=0x1001, **opts):
    """A node serving wss:// with a fresh certificate from `pki`; the live
    file paths are gw.cert_path / gw.key_path (SIGHUP re-reads them)."""
    chain, key = pki.server(serial)
    live_cert = os.path.join(pki.d, "live.pem")
    live_key = os.path.join(pki.d, "live.key")
    shutil.copy(chain, live_cert)
    shutil.copy(key, live_key)
    gw = gateway(ssl_context=pki.client_context(), tls_cert=live_cert,
                 tls_key=live_key, **opts)
    gw.cert_path, gw.key_path = live_cert, live_key
    return gw


def install(src, dst):
    """Replaces dst atomically, as a certificate renewal tool would."""
    tmp = dst + ".new"
    shutil.copy(src, tmp)
    os.replace(tmp, dst)


# --------------------------------------------------------------------------
# wss://
# --------------------------------------------------------------------------

def test_wss_welcome(gateway, pki):
    gw = tls_gateway(gateway, pki, serial=0x1001)
    rec = gw.log_records("tls_certificate")
    assert rec and rec[0]["serial"] == "1001", gw.log_tail()
    assert gw.log_records("listening")[0]["scheme"] == "wss"

    async def body():
        a = await gw.join("chess", "alice")
        assert served_serial(a) == 0x1001
        obj = a.ws.transport.get_extra_info("ssl_object")
        assert obj.version() in ("TLSv1.2", "TLSv1.3"), obj.version()
        b = await gw.join("chess", "bob")
        await a.broadcast({"hello": 1})
        m = await b.recv_json("message")
        assert m["data"] == {"hello": 1}, m
        # The HTTP side of the same port is https:// too.
        status, _, _ = gw.http_get("/healthz")
        assert status == 200
    run(body())


def test_plain_ws_to_tls_port_fails(gateway, pki):
    gw = tls_gateway(gateway, pki)

    async def body():
        url = f"ws://{HOST}:{gw.port}/ws/chess?token={gw.token('alice')}"
        with pytest.raises((websockets.exceptions.InvalidHandshake,
                            websockets.exceptions.InvalidMessage,
                            ConnectionError, EOFError, asyncio.TimeoutError,
                            OSError)):
            ws = await websockets.connect(url, open_timeout=5)
            await ws.close()
    run(body())
    # Nothing was admitted over plain text.
    assert not gw.log_records("connect"), gw.log_tail()


PERMISSIVE_OPENSSL_CNF = """
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT@SECLEVEL=0
"""


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_1_1_refused_whatever_the_system_allows(gateway, pki, tmp_path):
    """TLS 1.2 is the floor even where the system's openssl.cnf allows
    TLS 1.0 (Debian's default refuses it anyway, so the test lowers it)."""
    cnf = tmp_path / "openssl.cnf"
    cnf.write_text(PERMISSIVE_OPENSSL_CNF)
    gw = tls_gateway(gateway, pki, env={"OPENSSL_CONF": str(cnf)})
    ctx = pki.client_context()
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    conn = http.client.HTTPSConnection(HOST, gw.port, timeout=5, context=ctx)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        conn.request("GET", "/healthz")
        conn.getresponse()
    conn.close()
    # TLS 1.2 with a CBC suite the system would allow: refused too.
    ctx = pki.client_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0")
    conn = http.client.HTTPSConnection(HOST, gw.port, timeout=5, context=ctx)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        conn.request("GET", "/healthz")
        conn.getresponse()
    conn.close()


def test_sighup_reloads_certificate_keeping_connections(gateway, pki):
    gw = tls_gateway(gateway, pki, serial=0x1001)

    async def body():
        a = await gw.join("chess", "alice")
        assert served_serial(a) == 0x1001
        chain2, key2 = pki.server(0x2002, name="srv2")
        install(chain2, gw.cert_path)
        install(key2, gw.key_path)
        gw.send_signal(signal.SIGHUP)
        rec = await gw.wait_log(lambda r: r.get("event") == "tls_reloaded",
                                what="tls_reloaded")
        assert rec["serial"] == "2002", rec
        # The open connection is untouched and still works both ways.
        b = await gw.join("chess", "bob")
        assert served_serial(b) == 0x2002
        await a.broadcast("after reload")
        assert (await b.recv_json("message"))["data"] == "after reload"
        p = await a.presence()
        assert sorted(p["users"]) == ["alice", "bob"], p
    run(body())


def test_bad_reload_keeps_the_old_certificate(gateway, pki):
    gw = tls_gateway(gateway, pki, serial=0x1001)

    async def body():
        a = await gw.join("chess", "alice")
        # A renewal caught half-way: the new certificate, the old key.
        chain2, _ = pki.server(0x3003, name="srv3")
        install(chain2, gw.cert_path)
        gw.send_signal(signal.SIGHUP)
        rec = await gw.wait_log(
            lambda r: r.get("event") == "tls_reload_failed",
            what="tls_reload_failed")
        assert "does not match" in rec["error"], rec
        b = await gw.join("chess", "bob")
        assert served_serial(b) == 0x1001
        assert (await a.presence())["type"] == "presence"
    run(body())


def test_node_websocket_client(gateway, pki, tmp_path):
    """A second, independent TLS client: Node's WebSocket (undici)."""
    node = shutil.which("node")
    probe = node and subprocess.run(
        [node, "--experimental-websocket", "-e",
         "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
        capture_output=True, timeout=20)
    if not probe or probe.returncode != 0:
        pytest.skip("no Node.js with a built-in WebSocket")
    gw = tls_gateway(gateway, pki)
    script = tmp_path / "client.mjs"
    script.write_text("""
const ws = new WebSocket(process.argv[2]);
const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, 8000);
ws.onmessage = (e) => { console.log(e.data); clearTimeout(timer); ws.close(); };
ws.onclose = () => process.exit(0);
ws.onerror = (e) => { console.log('error ' + (e.message || e)); process.exit(1); };
""")
    url = f"wss://127.0.0.1:{gw.port}/ws/chess?token={gw.token('carol')}"
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=pki.ca)
    r = subprocess.run([node, "--experimental-websocket", str(script), url],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert '"type":"welcome"' in r.stdout.replace(" ", ""), r.stdout
    # Without the CA, Node refuses the certificate.
    env.pop("NODE_EXTRA_CA_CERTS")
    r = subprocess.run([node, "--experimental-websocket", str(script), url],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode != 0 and "welcome" not in r.stdout, r.stdout


# --------------------------------------------------------------------------
# The admin listener
# --------------------------------------------------------------------------

def test_admin_tls_serves_ready(gateway, pki):
    gw = tls_gateway(gateway, pki, admin_tls=True)
    conn = http.client.HTTPSConnection(HOST, gw.admin_port, timeout=5,
                                       context=pki.client_context())
    conn.request("GET", "/ready")
    r = conn.getresponse()
    assert r.status == 200 and b'"ready":true' in r.read()
    served = conn.sock.getpeercert()["serialNumber"]
    conn.close()
    assert int(served, 16) == 0x1001
    # Plain HTTP gets no answer from it.
    plain = http.client.HTTPConnection(HOST, gw.admin_port, timeout=5)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        plain.request("GET", "/ready")
        plain.getresponse().read()
    plain.close()


def test_admin_tls_follows_sighup(gateway, pki):
    gw = tls_gateway(gateway, pki, admin_tls=True)
    chain2, key2 = pki.server(0x4004, name="srv4")
    install(chain2, gw.cert_path)
    install(key2, gw.key_path)
    gw.send_signal(signal.SIGHUP)
    run(gw.wait_log(lambda r: r.get("event") == "tls_reloaded"))
    conn = http.client.HTTPSConnection(HOST, gw.admin_port, timeout=5,
                                       context=pki.client_context())
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    assert int(conn.sock.getpeercert()["serialNumber"], 16) == 0x4004
    conn.close()


def test_admin_without_tls_stays_plain(gateway, pki):
    gw = tls_gateway(gateway, pki)
    conn = http.client.HTTPConnection(HOST, gw.admin_port, timeout=5)
    conn.request("GET", "/ready")
    assert conn.getresponse().status == 200
    conn.close()


# --------------------------------------------------------------------------
# Start-up refusals
# --------------------------------------------------------------------------

def expect_startup_failure(gateway, want, **opts):
    gw = gateway(wait=False, **opts)
    gw.expect_failure = True
    rc = gw.wait_exit(10)
    assert rc not in (None, 0), f"started with {opts} ({rc})"
    text = gw.log_text()
    for w in want:
        assert w in text, f"{w!r} not in:\n{gw.log_tail()}"


def test_missing_certificate_fails_startup(gateway, pki):
    _, key = pki.server(1)
    missing = os.path.join(pki.d, "nope.pem")
    expect_startup_failure(gateway, ["--tls-cert", missing, "No such file"],
                           tls_cert=missing, tls_key=key)


def test_garbage_certificate_fails_startup(gateway, pki):
    _, key = pki.server(1)
    junk = os.path.join(pki.d, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    expect_startup_failure(gateway, ["--tls-cert", "no PEM certificate"],
                           tls_cert=junk, tls_key=key)


def test_mismatched_key_fails_startup(gateway, pki):
    chain, _ = pki.server(1)
    _, other_key = pki.server(2, name="other")
    expect_startup_failure(gateway, ["does not match"], tls_cert=chain,
                           tls_key=other_key)


def test_key_in_place_of_certificate_fails_startup(gateway, pki):
    _, key = pki.server(1)
    expect_startup_failure(gateway, ["--tls-cert", "no PEM certificate"],
                           tls_cert=key, tls_key=key)


def test_half_a_tls_config_fails_startup(gateway, pki):
    chain, _ = pki.server(1)
    expect_startup_failure(gateway, ["--tls-cert and --tls-key go together"],
                           tls_cert=chain)


def test_admin_tls_needs_a_certificate(gateway):
    expect_startup_failure(gateway, ["--admin-tls needs --tls-cert"],
                           admin_tls=True)
