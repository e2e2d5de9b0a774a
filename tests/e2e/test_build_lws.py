"""How the build finds libwebsockets' source (deploy/lws-fetch.sh, build-lws.sh).

Offline: each test lays out a fake Debian archive (a main and a security
archive, file: URIs) with its own Sources indexes and pools, and runs the
real scripts against it. This is what broke a fresh build when Debian
rotated +deb13u2 to +deb13u3 and served the new .debian.tar.xz from the
security pool only; it must not silently come back.
"""
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FETCH = ROOT / "deploy" / "lws-fetch.sh"
BUILD = ROOT / "deploy" / "build-lws.sh"

ORIG = b"upstream tarball bytes"
DEB = {rev: f"debian tarball {rev}".encode() for rev in ("u2", "u3", "u4")}
MAIN_DIR = "pool/main/libw/libwebsockets"
SEC_DIR = "pool/updates/main/libw/libwebsockets"


def rev(u):
    return f"4.3.5-1+deb13{u}"


def record(version, directory, files):
    lines = [
        "Package: libwebsockets", "Binary: libwebsockets-dev",
        f"Version: {version}", "Maintainer: t <t@example.invalid>",
        "Architecture: any", "Format: 3.0 (quilt)",
        f"Directory: {directory}", "Checksums-Sha256:",
    ]
    lines += [f" {hashlib.sha256(b).hexdigest()} {len(b)} {n}" for n, b in files]
    return "\n".join(lines) + "\n"


def tarballs(u, deb=None):
    return [("libwebsockets_4.3.5.orig.tar.gz", ORIG),
            (f"libwebsockets_{rev(u)}.debian.tar.xz", deb or DEB[u])]


class Archive:
    """A main and a security archive under one temp dir."""

    def __init__(self, root):
        self.root = root
        self.index = {"main/trixie": [], "main/trixie-updates": [],
                      "sec/trixie-security": []}

    def list(self, where, u, directory, files=None):
        self.index[where].append(record(rev(u), directory, files or tarballs(u)))

    def serve(self, where, directory, name, data):
        p = self.root / where / directory / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    def write(self):
        for key, recs in self.index.items():
            arch, suite = key.split("/")
            p = self.root / arch / "dists" / suite / "main" / "source" / "Sources"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("\n".join(recs))

    def env(self):
        e = dict(os.environ)
        e.update(LWS_APT_MAIN=f"file:{self.root / 'main'}",
                 LWS_APT_SECURITY=f"file:{self.root / 'sec'}",
                 LWS_APT_OPTIONS="trusted=yes")
        return e


def fetch(archive, work):
    archive.write()
    work.mkdir(exist_ok=True)
    return subprocess.run([str(FETCH)], cwd=work, env=archive.env(),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def archive(tmp_path):
    return Archive(tmp_path / "archive")


def test_newest_revision_from_the_pool_that_serves_it(archive, tmp_path):
    """Today's case: main lists u2 and u3 but serves only u2's debian
    tarball; security lists and serves u3. u3 wins, from security."""
    archive.list("main/trixie", "u2", MAIN_DIR)
    archive.list("main/trixie", "u3", MAIN_DIR)
    archive.list("sec/trixie-security", "u3", SEC_DIR)
    archive.serve("main", MAIN_DIR, "libwebsockets_4.3.5.orig.tar.gz", ORIG)
    archive.serve("main", MAIN_DIR, f"libwebsockets_{rev('u2')}.debian.tar.xz", DEB["u2"])
    archive.serve("sec", SEC_DIR, f"libwebsockets_{rev('u3')}.debian.tar.xz", DEB["u3"])

    r = fetch(archive, tmp_path / "w")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == rev("u3")
    assert (tmp_path / "w" / f"libwebsockets_{rev('u3')}.debian.tar.xz").read_bytes() == DEB["u3"]
    assert (tmp_path / "w" / "libwebsockets_4.3.5.orig.tar.gz").read_bytes() == ORIG
    assert f"from file:{archive.root / 'sec'}/{SEC_DIR}" in r.stderr


def test_security_archive_is_tried_first(archive, tmp_path):
    """Both archives serve u3: the copy comes from security."""
    archive.list("main/trixie", "u3", MAIN_DIR)
    archive.list("sec/trixie-security", "u3", SEC_DIR)
    archive.serve("main", MAIN_DIR, "libwebsockets_4.3.5.orig.tar.gz", ORIG)
    for where, d in (("main", MAIN_DIR), ("sec", SEC_DIR)):
        archive.serve(where, d, f"libwebsockets_{rev('u3')}.debian.tar.xz", DEB["u3"])
    r = fetch(archive, tmp_path / "w")
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stderr.splitlines() if "debian.tar.xz from" in l]
    assert line and "/sec/" in line[0], r.stderr


def test_unfetchable_newest_falls_back_to_an_older_listed_revision(archive, tmp_path):
    """u4 is listed but no pool has it: u3, still listed and served, is built,
    and the log says why."""
    archive.list("main/trixie", "u3", MAIN_DIR)
    archive.list("sec/trixie-security", "u4", SEC_DIR)
    archive.serve("main", MAIN_DIR, "libwebsockets_4.3.5.orig.tar.gz", ORIG)
    archive.serve("main", MAIN_DIR, f"libwebsockets_{rev('u3')}.debian.tar.xz", DEB["u3"])
    r = fetch(archive, tmp_path / "w")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == rev("u3")
    assert f"revision {rev('u4')} could not be fetched" in r.stderr


def test_a_tarball_that_differs_from_the_index_is_refused(archive, tmp_path):
    """The signed index is the trust anchor: a pool file with other bytes
    than the index's SHA256 is never used."""
    archive.list("sec/trixie-security", "u3", SEC_DIR)
    archive.serve("sec", SEC_DIR, "libwebsockets_4.3.5.orig.tar.gz", ORIG)
    archive.serve("sec", SEC_DIR, f"libwebsockets_{rev('u3')}.debian.tar.xz", b"tampered")
    r = fetch(archive, tmp_path / "w")
    assert r.returncode != 0
    assert not (tmp_path / "w" / f"libwebsockets_{rev('u3')}.debian.tar.xz").exists()
    assert "LWS_SRC=" in r.stderr, "the error must name the offline path"


def test_unpinned_upstream_is_skipped(archive, tmp_path):
    """A 4.3.6 (no pin for its orig tarball) is listed but not used."""
    archive.list("main/trixie", "u3", MAIN_DIR)
    newer = [("libwebsockets_4.3.6.orig.tar.gz", b"x"),
             ("libwebsockets_4.3.6-1.debian.tar.xz", b"y")]
    archive.index["sec/trixie-security"].append(record("4.3.6-1", SEC_DIR, newer))
    archive.serve("sec", SEC_DIR, "libwebsockets_4.3.6.orig.tar.gz", b"x")
    archive.serve("sec", SEC_DIR, "libwebsockets_4.3.6-1.debian.tar.xz", b"y")
    archive.serve("main", MAIN_DIR, "libwebsockets_4.3.5.orig.tar.gz", ORIG)
    archive.serve("main", MAIN_DIR, f"libwebsockets_{rev('u3')}.debian.tar.xz", DEB["u3"])
    r = fetch(archive, tmp_path / "w")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == rev("u3")
    assert "skipping 4.3.6-1: upstream 4.3.6 is not pinned" in r.stderr


def test_nothing_listed_names_the_offline_path(archive, tmp_path):
    r = fetch(archive, tmp_path / "w")
    assert r.returncode != 0
    assert "no libwebsockets 4.3.5 revision is listed" in r.stderr
    assert "LWS_SRC=" in r.stderr


def test_offline_tarballs_are_checked_against_the_upstream_pin(tmp_path):
    """LWS_SRC with tarballs: the upstream tarball must match the pin."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "libwebsockets_4.3.5.orig.tar.gz").write_bytes(b"not the real one")
    (src / f"libwebsockets_{rev('u3')}.debian.tar.xz").write_bytes(b"x")
    env = dict(os.environ, LWS_SRC=str(src))
    r = subprocess.run(["sh", str(BUILD), str(tmp_path / "prefix")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "sha256 differs from the pin" in r.stderr, r.stderr


def test_offline_path_that_is_not_a_source_says_so(tmp_path):
    env = dict(os.environ, LWS_SRC=str(tmp_path / "nowhere"))
    r = subprocess.run(["sh", str(BUILD), str(tmp_path / "prefix")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "neither a source tree nor a directory of tarballs" in r.stderr, r.stderr
