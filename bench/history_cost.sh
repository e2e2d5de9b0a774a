#!/bin/sh
# bench/history_cost.sh — what lobby history costs per broadcast
# (docs/benchmarks.md, "Lobby history: cost per broadcast").
#
# usage: bench/history_cost.sh HISTORY_SIZE [OUTDIR]
#
# Starts one redis-server and two gateway nodes (--history-size HISTORY_SIZE;
# 0 is history off) on free-ish local ports, runs `gwbench fanout` across
# both, and leaves in OUTDIR (default /tmp/history-cost): the gwbench JSON
# report, Redis `INFO commandstats` (per-command cost) and `INFO cpu`.
# The binaries come from ${GW_BUILD:-build}/bin.
set -eu
SIZE=${1:?usage: history_cost.sh HISTORY_SIZE [OUTDIR]}
OUT=${2:-/tmp/history-cost}
B=${GW_BUILD:-build}/bin
mkdir -p "$OUT"
RP=$((20000 + $$ % 1000)); P1=$((RP + 1)); P2=$((RP + 2))
S=bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz
redis-server --port $RP --save '' --appendonly no >"$OUT/redis.log" 2>&1 &
RPID=$!
until redis-cli -p $RP ping >/dev/null 2>&1; do sleep 0.1; done
start() {
	"$B/gateway" --listen 127.0.0.1:$1 --admin-listen 127.0.0.1:$(($1 + 100)) \
		--jwt-secret $S --node-id b$2 --redis redis://127.0.0.1:$RP \
		--history-size "$SIZE" --history-ttl 60 --log-level warn \
		--rate-limit 1000 --rate-burst 1000 >"$OUT/gw$2.log" 2>&1 &
}
start $P1 1; G1=$!
start $P2 2; G2=$!
sleep 1
redis-cli -p $RP CONFIG RESETSTAT >/dev/null
"$B/gwbench" fanout --url ws://127.0.0.1:$P1 --url ws://127.0.0.1:$P2 --secret $S \
	--conns 400 --lobby-size 20 --rate 50 --publishers 2 --warmup 2 --duration 8 \
	--redis redis://127.0.0.1:$RP --pid $G1 --pid $G2 --quiet --json >"$OUT/fanout-$SIZE.json" || true
redis-cli -p $RP INFO commandstats >"$OUT/commandstats-$SIZE.txt"
redis-cli -p $RP INFO cpu >"$OUT/cpu-$SIZE.txt"
kill $G1 $G2 $RPID
wait $G1 $G2 $RPID 2>/dev/null || true
echo "history_cost: results in $OUT (*-$SIZE.*)"
