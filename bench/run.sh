#!/bin/sh
# bench/run.sh SCENARIO [gwbench options...]
#
# One reproducible benchmark run (docs/benchmarks.md): starts a throw-away
# redis-server (temp dir, free port), the gateway node(s) the scenario
# needs, then build/bin/gwbench with the scenario's fixed parameters; stops
# everything and leaves gwbench's report on stdout. Extra arguments go to
# gwbench after the fixed ones, so they win (e.g. --json, --rate 15).
#
#   SCENARIO: idle | idle-cluster | connect | fanout | fanout-cluster |
#             churn | slow | all
#
# Environment:
#   BENCH_SMOKE=1      tiny version (a few hundred connections, seconds)
#   GW_BUILD=DIR       build directory (default build)
#   BENCH_GW_CPU=LIST  CPUs the gateway nodes are pinned to (default 0;
#                      idle-cluster: 0-1)
#   BENCH_CLIENT_CPU=LIST  CPUs for gwbench and redis (default 1)
#   BENCH_GW_ARGS      extra gateway flags for every node
#   BENCH_KEEP=1       keep the temp dir (binaries, node logs) for perf
#
# The exit status is gwbench's (non-zero when a run fell short or a fan-out
# delivered nothing), or 1 when a node died during the run.
set -eu
cd "$(dirname "$0")/.."

BUILD=${GW_BUILD:-build}
BIN=$BUILD/bin
SMOKE=${BENCH_SMOKE:-0}
SCENARIO=${1:-}
[ -n "$SCENARIO" ] || { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
shift

if [ "$SCENARIO" = all ]; then
	rc=0
	for s in idle idle-cluster connect fanout fanout-cluster churn slow; do
		echo "=== $s"
		"$0" "$s" "$@" || rc=1
	done
	exit $rc
fi

for b in gateway gwbench; do
	[ -x "$BIN/$b" ] || { echo "run.sh: $BIN/$b missing (run make)" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "run.sh: redis-server not found" >&2; exit 2; }

SECRET=bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz
export GW_JWT_SECRET=$SECRET
NODE_PIDS=""
REDIS_PID=""
NODE_URLS=""
PID_ARGS=""
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gwbench.XXXXXX")

cleanup() {
	for p in $NODE_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $NODE_PIDS; do wait "$p" 2>/dev/null || true; done
	if [ -n "$REDIS_PID" ]; then
		kill -TERM "$REDIS_PID" 2>/dev/null || true
		wait "$REDIS_PID" 2>/dev/null || true
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "run.sh: binaries and logs kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run copies: a rebuild during the run cannot swap the binaries, and perf
# (BENCH_KEEP=1) can still resolve symbols afterwards.
mkdir -p "$TMP/bin"
cp "$BIN/gateway" "$BIN/gwbench" "$TMP/bin/"
BIN=$TMP/bin

# Pinning only makes sense with at least two CPUs. Six nodes holding
# 100k connections need both CPUs, so idle-cluster pins nothing by default.
GW_CPUS=${BENCH_GW_CPU:-0}
[ "$SCENARIO" = idle-cluster ] && GW_CPUS=${BENCH_GW_CPU:-0-1}
CL_CPUS=${BENCH_CLIENT_CPU:-1}
[ "$SCENARIO" = idle-cluster ] && CL_CPUS=${BENCH_CLIENT_CPU:-0-1}
if [ "$(nproc)" -ge 2 ]; then
	GW_PIN="taskset -c $GW_CPUS"
	CL_PIN="taskset -c $CL_CPUS"
else
	GW_PIN=""
	CL_PIN=""
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # TRIES COMMAND...: every 0.1 s until it succeeds
	n=$1; shift
	while [ "$n" -gt 0 ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		n=$((n - 1)); sleep 0.1
	done
	return 1
}

start_redis() {
	RPORT=$(free_port)
	$CL_PIN redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" \
		--save '' --appendonly no --maxclients 10000 \
		>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	wait_for 100 redis-cli -p "$RPORT" ping ||
		{ echo "run.sh: redis-server did not start" >&2; cat "$TMP/redis.log" >&2; exit 1; }
	REDIS_URL=redis://127.0.0.1:$RPORT
}

# start_nodes COUNT [gateway flags...]
start_nodes() {
	count=$1; shift
	i=1
	while [ "$i" -le "$count" ]; do
		port=$(free_port)
		# shellcheck disable=SC2086
		$GW_PIN "$BIN/gateway" --listen "127.0.0.1:$port" --node-id "bench-$i" \
			--jwt-secret "$SECRET" --redis "$REDIS_URL" \
			--log-file "$TMP/node-$i.log" --shutdown-timeout 5 \
			--max-connections 10000000 --max-per-lobby 100000 \
			"$@" ${BENCH_GW_ARGS:-} >"$TMP/node-$i.out" 2>&1 &
		NODE_PIDS="$NODE_PIDS $!"
		PID_ARGS="$PID_ARGS --pid $!"
		NODE_URLS="$NODE_URLS --url ws://127.0.0.1:$port"
		wait_for 100 curl -sf "http://127.0.0.1:$port/healthz" ||
			{ echo "run.sh: node $i did not start" >&2; cat "$TMP/node-$i.out" >&2; exit 1; }
		i=$((i + 1))
	done
	# Admission needs each node's Redis link: wait for every lease.
	wait_for 100 sh -c "[ \"\$(redis-cli -p $RPORT ZCARD '{gw}:nodes')\" -ge $count ]" ||
		{ echo "run.sh: nodes did not register in Redis" >&2; exit 1; }
}

# pick FULL SMOKE
pick() { if [ "$SMOKE" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# Fan-out lobbies hold 1001 members: presence events would cost ~n^2/2
# frames while they fill, so fan-out runs switch them off.
FANOUT_GW="--presence-events=false"
case "$SCENARIO" in
idle)
	NODES=1; GW_ARGS=""
	ARGS="idle --conns $(pick 19000 300) --lobby-size 10 --hold $(pick 5 0.5) --duration $(pick 30 2)"
	;;
idle-cluster)
	NODES=$(pick 6 2); GW_ARGS=""
	ARGS="idle --conns $(pick 100000 400) --lobby-size 10 --sources 4 --connect-rate $(pick 2000 0) --hold $(pick 10 0.5) --duration $(pick 30 2)"
	;;
connect)
	NODES=1; GW_ARGS=""
	ARGS="connect --conns $(pick 19000 300) --lobby-size 10 --connect-rate 0 --max-inflight 512"
	;;
fanout)
	# 10 lobbies of 1 publisher + 1000 receivers; 7.5/s per lobby is
	# 75k deliveries/s, half of the 150k/s-per-core target.
	NODES=1; GW_ARGS=$FANOUT_GW
	ARGS="fanout --conns $(pick 10010 303) --lobby-size $(pick 1001 101) --rate $(pick 7.5 20) --warmup $(pick 3 0.5) --duration $(pick 20 2) --drain 5"
	;;
fanout-cluster)
	# The same population over 3 nodes (round-robin), so 2/3 of the
	# deliveries cross Redis; 2/s per lobby is 20k deliveries/s.
	NODES=3; GW_ARGS=$FANOUT_GW
	ARGS="fanout --conns $(pick 10010 303) --lobby-size $(pick 1001 101) --rate $(pick 2 20) --warmup $(pick 3 0.5) --duration $(pick 20 2) --drain 5"
	;;
churn)
	NODES=1; GW_ARGS=""
	ARGS="churn --conns $(pick 10000 300) --lobby-size 10 --churn-rate $(pick 1000 100) --duration $(pick 20 2)"
	;;
slow)
	# One lobby of 500 receivers at 20 broadcasts/s of 2 KB (10k
	# deliveries/s, well under what one node sustains). Loopback lets a
	# socket's send buffer grow towards tcp_wmem's 4 MB, so a stopped reader
	# reaches the gateway's 256-frame queue only after ~100 s: the phases
	# last 120 s.
	NODES=1; GW_ARGS="$FANOUT_GW --send-queue-max 256"
	ARGS="slow --conns $(pick 501 303) --lobby-size $(pick 501 101) --rate 20 --payload $(pick 2000 100) --slow-fraction $(pick 0.02 0.05) --warmup $(pick 3 0.5) --duration $(pick 120 2) --drain 5"
	;;
*)
	echo "run.sh: unknown scenario '$SCENARIO'" >&2; exit 2
	;;
esac

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
	"nproc=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
	"kernel=$(uname -r) smoke=$SMOKE"
start_redis
# shellcheck disable=SC2086
start_nodes "$NODES" $GW_ARGS
echo "# nodes:$NODE_URLS  redis: $REDIS_URL  gateway cpu: ${GW_PIN:-any}  client cpu: ${CL_PIN:-any}"

rc=0
# shellcheck disable=SC2086
$CL_PIN "$BIN/gwbench" $ARGS $NODE_URLS $PID_ARGS --redis "$REDIS_URL" "$@" || rc=$?

for p in $NODE_PIDS; do
	# A dead child stays a zombie until waited for: look at its state.
	if ! grep -qs '^State:[[:space:]]*[^Z]' "/proc/$p/status"; then
		echo "run.sh: a gateway node (pid $p) died during the run; its output:" >&2
		tail -20 "$TMP"/node-*.out >&2 || true
		rc=1
	fi
done
exit $rc
