#!/bin/sh
# bench/shards.sh SHARDS [gwbench options...]
#
# The same population on 1 or N Redis shards (docs/benchmarks.md, Shards):
# SHARDS throw-away redis-servers, 3 gateway nodes with --redis listing them
# all, then gwbench fanout with 10,010 connections in 1,001 lobbies of 10
# spread over the nodes (cross-node fan-out). Afterwards, per shard: the
# lobbies placed on it, the commands it ran and its CPU seconds during the
# run, and how even the spread was (max / mean). Stops everything it
# started; bounded by gwbench's own duration.
#
# Environment: GW_BUILD (default build), BENCH_SMOKE=1 (tiny).
set -eu
cd "$(dirname "$0")/.."

SHARDS=${1:-}
[ -n "$SHARDS" ] && [ "$SHARDS" -ge 1 ] 2>/dev/null ||
	{ echo "usage: bench/shards.sh SHARDS [gwbench options...]" >&2; exit 2; }
shift
BIN=${GW_BUILD:-build}/bin
SMOKE=${BENCH_SMOKE:-0}
SECRET=bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz
export GW_JWT_SECRET=$SECRET
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gwshards.XXXXXX")
PIDS=""
PORTS=""
URLS=""

cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {
	n=$1; shift
	while [ "$n" -gt 0 ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		n=$((n - 1)); sleep 0.1
	done
	return 1
}
stat_of() { # PORT FIELD: one INFO field
	redis-cli -p "$1" INFO all | tr -d '\r' | sed -n "s/^$2://p"
}

i=1
while [ "$i" -le "$SHARDS" ]; do
	p=$(free_port)
	redis-server --port "$p" --bind 127.0.0.1 --dir "$TMP" --save '' \
		--appendonly no --maxclients 10000 >"$TMP/redis-$i.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 100 redis-cli -p "$p" ping || { echo "shards.sh: redis $i did not start" >&2; exit 1; }
	PORTS="$PORTS $p"
	URLS="$URLS redis://127.0.0.1:$p"
	i=$((i + 1))
done
URLS=${URLS# }

NODE_URLS=""
PID_ARGS=""
for n in 1 2 3; do
	port=$(free_port)
	"$BIN/gateway" --listen "127.0.0.1:$port" --node-id "shard-bench-$n" \
		--redis "$URLS" --presence-events=false --log-file "$TMP/node-$n.log" \
		--max-connections 10000000 --max-per-lobby 100000 --shutdown-timeout 5 \
		>"$TMP/node-$n.out" 2>&1 &
	PIDS="$PIDS $!"
	PID_ARGS="$PID_ARGS --pid $!"
	NODE_URLS="$NODE_URLS --url ws://127.0.0.1:$port"
	wait_for 100 curl -sf "http://127.0.0.1:$port/healthz" ||
		{ echo "shards.sh: node $n did not start" >&2; cat "$TMP/node-$n.out" >&2; exit 1; }
done

for p in $PORTS; do
	echo "$p $(stat_of "$p" total_commands_processed) $(stat_of "$p" used_cpu_sys) $(stat_of "$p" used_cpu_user)"
done >"$TMP/before"

if [ "$SMOKE" = 1 ]; then
	ARGS="fanout --conns 300 --lobby-size 10 --rate 1 --warmup 0.5 --duration 2 --drain 2"
	MID=2; SECS=5
else
	ARGS="fanout --conns 10010 --lobby-size 10 --rate 1 --warmup 3 --duration 20 --drain 5"
	MID=15; SECS=28
fi
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?') shards=$SHARDS load: $(cut -d' ' -f1-3 /proc/loadavg)"
# Lobbies per shard, sampled mid-run (they empty when gwbench leaves).
( sleep "$MID"; for p in $PORTS; do echo "$p $(redis-cli -p "$p" HLEN '{gw}:lobbies')"; done \
	>"$TMP/lobbies" ) &
SAMPLER=$!
rc=0
"$BIN/gwbench" $ARGS $NODE_URLS $PID_ARGS "$@" || rc=$?
wait "$SAMPLER" 2>/dev/null || true

echo
echo "Per shard (during the run)"
printf '  %-6s %8s %12s %10s %8s\n' shard lobbies commands "cmds/s" "cpu s"
n=0; sumc=0; maxc=0; suml=0; maxl=0
while read -r p c0 s0 u0; do
	n=$((n + 1))
	c1=$(stat_of "$p" total_commands_processed)
	cpu=$(echo "$(stat_of "$p" used_cpu_sys) $(stat_of "$p" used_cpu_user) $s0 $u0" |
		awk '{ printf "%.2f", ($1 + $2) - ($3 + $4) }')
	l=$(awk -v p="$p" '$1 == p { print $2 }' "$TMP/lobbies" 2>/dev/null)
	l=${l:-0}
	c=$((c1 - c0))
	printf '  %-6s %8s %12s %10s %8s\n' "$n" "$l" "$c" "$((c / SECS))" "$cpu"
	sumc=$((sumc + c)); suml=$((suml + l))
	[ "$c" -gt "$maxc" ] && maxc=$c
	[ "$l" -gt "$maxl" ] && maxl=$l
done <"$TMP/before"
echo "$n $sumc $maxc $suml $maxl" | awk '{ printf "  spread: lobbies max/mean %.2f, commands max/mean %.2f\n", ($5 * $1) / ($4 ? $4 : 1), ($3 * $1) / ($2 ? $2 : 1) }'
exit $rc
