#!/bin/sh
# bench/lobby_mem.sh — heap bytes a node spends per lobby with local members
# (docs/benchmarks.md, "Memory per connection").
#
# usage: bench/lobby_mem.sh [CONNS_PER_NODE] [NODES] [OUTDIR]
#
# Starts one redis-server and NODES gateway nodes (default 3), then holds
# NODES × CONNS_PER_NODE (default 3000) idle connections with gwbench,
# round-robin over the nodes, twice:
#   spread: lobbies of NODES, so every lobby has one member on each node
#           (node 1 holds CONNS_PER_NODE lobbies, each with NODES-1 remote
#           members that published a presence join: what idle-cluster's
#           lobbies of 10 over 6 nodes look like from one node);
#   packed: lobbies of 100 × NODES (node 1 holds CONNS_PER_NODE / 100).
# Same connections, same users; only the number of lobbies differs. Node 1's
# heap in use (glibc malloc_stats(), called through gdb, "in use bytes" of
# all arenas and mmap) is read after the ramp in each run; the difference
# divided by the difference in lobbies is the bytes per lobby.
# The binaries come from ${GW_BUILD:-build}/bin; needs gdb and ptrace.
set -eu
N=${1:-3000}
NODES=${2:-3}
OUT=${3:-/tmp/lobby-mem}
B=${GW_BUILD:-build}/bin
mkdir -p "$OUT"
S=bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz
RP=$((21000 + $$ % 1000))

in_use() { # PID: heap bytes in use, from malloc_stats() on the node's stderr
	before=$(wc -l <"$OUT/gw1.err")
	gdb -p "$1" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1
	sleep 0.2
	tail -n +"$((before + 1))" "$OUT/gw1.err" |
		sed -n 's/^in use bytes *= *\([0-9]*\)$/\1/p' | tail -1
}

metric() { # PORT NAME
	curl -sf "http://127.0.0.1:$1/metrics" | sed -n "s/^$2[{ ].* \([0-9]*\)\$/\1/p"
}

run() { # LOBBY_SIZE: prints "bytes_in_use lobbies_on_node_1"
	redis-server --port $RP --save '' --appendonly no >"$OUT/redis.log" 2>&1 &
	RPID=$!
	until redis-cli -p $RP ping >/dev/null 2>&1; do sleep 0.1; done
	PIDS="" URLS=""
	i=1
	while [ $i -le "$NODES" ]; do
		p=$((RP + 10 * i))
		"$B/gateway" --listen 127.0.0.1:$p --admin-listen 127.0.0.1:$((p + 1)) \
			--jwt-secret $S --node-id m$i --redis redis://127.0.0.1:$RP \
			--max-connections 10000000 --max-per-lobby 100000 \
			--log-level warn 2>>"$OUT/gw$i.err" >/dev/null &
		PIDS="$PIDS $!"
		URLS="$URLS --url ws://127.0.0.1:$p"
		i=$((i + 1))
	done
	G1=${PIDS# }; G1=${G1%% *}
	until [ "$(redis-cli -p $RP ZCARD '{gw}:nodes')" -ge "$NODES" ]; do sleep 0.1; done
	# shellcheck disable=SC2086
	"$B/gwbench" idle $URLS --secret $S --conns $((N * NODES)) --lobby-size "$1" \
		--hold 60 --duration 1 --quiet >"$OUT/gwbench-$1.txt" 2>&1 &
	BP=$!
	A=$((RP + 11))
	until [ "$(metric $A gw_connections)" = "$N" ]; do sleep 0.5; done
	sleep 3 # presence joins from the other nodes, the heap trim
	echo "$(in_use "$G1") $(metric $A gw_lobbies)"
	kill "$BP"
	wait "$BP" 2>/dev/null || true
	# shellcheck disable=SC2086
	kill $PIDS $RPID
	wait 2>/dev/null || true
}

: >"$OUT/gw1.err"
set -- $(run "$NODES") $(run $((100 * NODES)))
echo "spread: $1 bytes in use, $2 lobbies; packed: $3 bytes in use, $4 lobbies"
echo "per lobby: $((($1 - $3) / ($2 - $4))) bytes ($N connections per node, $NODES nodes)"
