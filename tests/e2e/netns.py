"""netns.py — a network namespace as a second "host" for tests and benchmarks.

Netns(links=N) makes a fresh namespace with N veth pairs to the root
namespace, each its own /30 from 10.213.7.0/24 (used only here, on links
this object made): pair i has address host_ip(i) on the root side and
ns_ip(i) inside. cut(i) sets the root-side end down, so packets are dropped
without any reset (a cut cable, a frozen VM); heal(i) brings it back.
close() deletes the namespace, which deletes every pair.

available() says whether this machine lets us (root, iproute2, kernel
support); tests skip with that reason only when it does not.
"""
import os
import shutil
import subprocess

_seq = 0


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True,
                          timeout=10, check=check)


def available():
    if shutil.which("ip") is None:
        return False, "iproute2 (ip) is not installed"
    if os.geteuid() != 0:
        return False, "network namespaces need root"
    name = f"gwprobe{os.getpid() % 100000}"
    r = _ip("netns", "add", name, check=False)
    if r.returncode != 0:
        return False, f"cannot create a network namespace: {r.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    return True, ""


class Netns:
    def __init__(self, links=1):
        global _seq
        _seq += 1
        tag = f"{os.getpid() % 10000}{_seq}"
        self.name = f"gwns{tag}"
        self.links = [(f"gw{tag}h{i}", f"gw{tag}n{i}") for i in range(links)]
        _ip("netns", "add", self.name)
        try:
            self.run("ip", "link", "set", "lo", "up")
            for i, (h, n) in enumerate(self.links):
                _ip("link", "add", h, "type", "veth", "peer", "name", n)
                _ip("link", "set", n, "netns", self.name)
                _ip("addr", "add", f"{self.host_ip(i)}/30", "dev", h)
                _ip("link", "set", h, "up")
                self.run("ip", "addr", "add", f"{self.ns_ip(i)}/30", "dev", n)
                self.run("ip", "link", "set", n, "up")
        except Exception:
            self.close()
            raise

    @staticmethod
    def host_ip(i):
        return f"10.213.7.{4 * i + 1}"

    @staticmethod
    def ns_ip(i):
        return f"10.213.7.{4 * i + 2}"

    def argv(self, argv):
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.name] + list(argv)

    def run(self, *argv):
        return subprocess.run(self.argv(argv), capture_output=True, text=True,
                              timeout=10, check=True)

    def cut(self, i):
        _ip("link", "set", self.links[i][0], "down")

    def heal(self, i):
        _ip("link", "set", self.links[i][0], "up")

    def close(self):
        for h, _ in self.links:
            _ip("link", "del", h, check=False)
        _ip("netns", "del", self.name, check=False)
