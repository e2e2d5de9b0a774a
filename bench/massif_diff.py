#!/usr/bin/env python3
"""bench/massif_diff.py A.out B.out DIVISOR [DEPTH]

Where two massif snapshots differ (bench/lobby_mem.sh, LOBBY_MEM_MASSIF=1):
the last detailed snapshot of each, bytes summed per allocation path down to
DEPTH frames (default 3, the allocator wrappers included), printed as
(A - B) / DIVISOR per path, largest first. Bytes are massif's useful heap;
malloc's per-chunk overhead (extra-heap) is printed as one line.
"""
import re
import sys


def load(path, depth):
    text = open(path).read()
    snap = text.split("snapshot=")[-1]
    extra = int(re.search(r"mem_heap_extra_B=(\d+)", snap).group(1))
    paths, stack = {}, []
    for line in snap.splitlines():
        m = re.match(r"( *)n(\d+): (\d+) (.*)", line)
        if not m:
            continue
        d, kids, size, what = len(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
        what = re.sub(r"^0x[0-9A-F]+: ", "", what)
        what = re.sub(r" \((in|at) [^)]*\)$", "", what)
        del stack[d:]
        stack.append(what)
        if d == depth or (d < depth and kids == 0):
            key = " <- ".join(stack[1:])
            paths[key] = paths.get(key, 0) + size
    return paths, extra


def main():
    a, b, div = sys.argv[1], sys.argv[2], float(sys.argv[3])
    depth = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    pa, ea = load(a, depth)
    pb, eb = load(b, depth)
    rows = [(pa.get(k, 0) - pb.get(k, 0), k) for k in set(pa) | set(pb)]
    rows.sort(reverse=True)
    total = 0.0
    for d, k in rows:
        if abs(d / div) >= 1:
            print(f"{d / div:8.1f}  {k}")
        total += d / div
    print(f"{(ea - eb) / div:8.1f}  malloc chunk overhead (extra-heap)")
    print(f"{total + (ea - eb) / div:8.1f}  total")


main()
