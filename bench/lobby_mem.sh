#!/bin/sh
# bench/lobby_mem.sh — heap bytes a node spends per lobby with local members
# (docs/benchmarks.md, "Memory per connection").
#
# usage: bench/lobby_mem.sh [CONNS_PER_NODE] [NODES] [OUTDIR]
#
# Starts one redis-server and NODES gateway nodes (default 3) and holds
# CONNS_PER_NODE (default 3000) idle connections on each, one gwbench per
# node (users a0…, b0…, …), node 1's first, twice:
#   spread: one member per node in each lobby: node 1 holds CONNS_PER_NODE
#           lobbies, each with NODES-1 remote members whose presence joins
#           it received (node 1 joined first) -- what idle-cluster's lobbies
#           of 10 over 6 nodes look like from one node;
#   packed: lobbies of 100 members per node (node 1 holds CONNS_PER_NODE/100).
# Same connections; only the number of lobbies differs. Node 1's heap in use
# (glibc malloc_stats() called through gdb: "in use bytes" of all arenas and
# mmap, chunk headers included) is read after the ramp in each run; the
# difference over the difference in lobbies is the bytes per lobby.
#
# LOBBY_MEM_MASSIF=1: node 1 runs under valgrind's massif instead, and a
# detailed snapshot per run (OUTDIR/massif-spread.out, massif-packed.out)
# gives the figure; bench/massif_diff.py says where the bytes go.
#
# The binaries come from ${GW_BUILD:-build}/bin; needs gdb (and ptrace) or
# valgrind.
set -eu
N=${1:-3000}
NODES=${2:-3}
OUT=${3:-/tmp/lobby-mem}
B=${GW_BUILD:-build}/bin
MASSIF=${LOBBY_MEM_MASSIF:-0}
mkdir -p "$OUT"
S=bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz
RP=$((21000 + $$ % 1000))

in_use() { # PID KIND: heap bytes in use on node 1
	if [ "$MASSIF" = 1 ]; then
		vgdb --pid="$1" detailed_snapshot "$OUT/massif-$2.out" >/dev/null
		sed -n 's/^mem_heap\(_extra\)\{0,1\}_B=//p' "$OUT/massif-$2.out" |
			awk '{ s += $1 } END { print s }'
		return
	fi
	before=$(wc -l <"$OUT/gw1.err")
	gdb -p "$1" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1
	sleep 0.2
	tail -n +"$((before + 1))" "$OUT/gw1.err" |
		sed -n 's/^in use bytes *= *\([0-9]*\)$/\1/p' | tail -1
}

metric() { # PORT NAME
	curl -sf "http://127.0.0.1:$1/metrics" | sed -n "s/^$2[{ ].* \([0-9]*\)\$/\1/p"
}

wait_conns() { # NODE: until it holds N connections
	until [ "$(metric $((RP + 10 * $1 + 1)) gw_connections)" = "$N" ]; do sleep 0.3; done
}

run() { # KIND LOBBY_SIZE: prints "bytes_in_use lobbies_on_node_1"
	redis-server --port $RP --save '' --appendonly no >"$OUT/redis.log" 2>&1 &
	RPID=$!
	until redis-cli -p $RP ping >/dev/null 2>&1; do sleep 0.1; done
	PIDS="" BPS=""
	i=1
	while [ $i -le "$NODES" ]; do
		p=$((RP + 10 * i))
		VG=""
		[ $i = 1 ] && [ "$MASSIF" = 1 ] &&
			VG="valgrind --tool=massif --threshold=0.01 --massif-out-file=$OUT/massif.final"
		$VG "$B/gateway" --listen 127.0.0.1:$p --admin-listen 127.0.0.1:$((p + 1)) \
			--jwt-secret $S --node-id m$i --redis redis://127.0.0.1:$RP \
			--max-connections 10000000 --max-per-lobby 100000 \
			--log-level warn 2>>"$OUT/gw$i.err" >/dev/null &
		PIDS="$PIDS $!"
		i=$((i + 1))
	done
	G1=${PIDS# }; G1=${G1%% *}
	until [ "$(redis-cli -p $RP ZCARD '{gw}:nodes')" -ge "$NODES" ]; do sleep 0.1; done
	i=1
	for u in a b c d e f g h i j; do
		[ $i -le "$NODES" ] || break
		"$B/gwbench" idle --url ws://127.0.0.1:$((RP + 10 * i)) --secret $S \
			--conns "$N" --lobby-size "$2" --user-prefix $u --hold 120 \
			--duration 1 --quiet >"$OUT/gwbench-$1-$i.txt" 2>&1 &
		BPS="$BPS $!"
		wait_conns $i # node 1 first: it sees every other node's join
		i=$((i + 1))
	done
	sleep 3 # the last presence joins, the heap trim
	echo "$(in_use "$G1" "$1") $(metric $((RP + 11)) gw_lobbies)"
	# shellcheck disable=SC2086
	kill $BPS
	# shellcheck disable=SC2086
	kill $PIDS $RPID
	wait 2>/dev/null || true
}

: >"$OUT/gw1.err"
# shellcheck disable=SC2046
set -- $(run spread 1) $(run packed 100)
echo "spread: $1 bytes in use, $2 lobbies; packed: $3 bytes in use, $4 lobbies"
echo "per lobby: $((($1 - $3) / ($2 - $4))) bytes ($N connections per node, $NODES nodes)"
