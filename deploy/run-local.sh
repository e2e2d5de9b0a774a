#!/bin/bash
# shellcheck disable=SC2317  # functions called from traps and wait_for
# `make run`: a three-node cluster on this machine, all plain processes —
# a redis-server, gateway nodes node-1..3 and haproxy in front of them —
# with a development secret, a token to try it with, and a banner of URLs.
# Ctrl-C (SIGINT), SIGTERM or SIGHUP stops them all, in order: the nodes
# first (they drain and release their entries while Redis is still up),
# then haproxy, then Redis. Exit status: 0 after a clean stop, 1 when
# something failed to start or had to be killed.
#
# Everything lives under GW_RUN_DIR (default build/run): logs/ (one file
# per process), redis/ (Redis's working dir) and pids ("NAME PID" lines).
#
# Knobs (environment). These GW_RUN_*/GW_*_PORT names belong to this script;
# the gateway ignores them. Real gateway settings (GW_JWT_SECRET,
# GW_API_KEY, GW_LOG_LEVEL, ... see docs/config.md) set in the environment
# reach every node; the per-node ones (listen, admin-listen, node-id, redis)
# are given as flags and win.
#
#   GW_BUILD            build dir holding bin/           default build
#   GW_RUN_DIR          state and logs                   default build/run
#   GW_RUN_HOST         address everything binds to      default 127.0.0.1
#   GW_BASE_PORT        haproxy; nodes use BASE+1..BASE+3  default 8080
#   GW_ADMIN_BASE_PORT  nodes' admin: ADMIN_BASE+1..+3   default 9090
#   GW_REDIS_PORT       redis-server                     default 6380
#   GW_LB_STATS_PORT    haproxy stats page               default 8404
#   GW_JWT_SECRET       shared token secret              default a dev secret
#   GW_API_KEY          server API key (admin /api/*)    default a dev key
#   GW_RUN_DEV_TOKENS_ANY_ADDRESS  1: keep /dev/token on a non-loopback
#                       GW_RUN_HOST (--dev-tokens-any-address)  default 0
#
# Works without a terminal (CI): nothing reads stdin, output is plain lines.
# Children run in their own sessions so a terminal's Ctrl-C reaches only
# this script, which stops them in order; they also get SIGTERM from the
# kernel should this script die without cleaning up (setpriv --pdeathsig),
# so no process outlives it.
set -euo pipefail

# A non-interactive shell that starts us in the background (`make run &` in
# a CI script) makes us ignore SIGINT, and bash cannot trap a signal that
# was ignored on entry: start again once with SIGINT at its default, so
# `kill -INT` stops the cluster there too.
sigign=$(awk '$1 == "SigIgn:" { print $2 }' /proc/$$/status 2>/dev/null || echo 0)
if [ -z "${RUN_LOCAL_SIGINT_RESET:-}" ] && (( 16#${sigign:-0} & 2 )) &&
	env --default-signal=INT true 2>/dev/null; then
	RUN_LOCAL_SIGINT_RESET=1 exec env --default-signal=INT "$0" "$@"
fi
unset RUN_LOCAL_SIGINT_RESET sigign

cd "$(dirname "$0")/.."
ROOT=$(pwd)

die() { echo "run-local: $*" >&2; exit 1; }
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$ROOT/$1" ;; esac; }
relpath() { case "$1" in "$ROOT"/*) echo "${1#"$ROOT"/}" ;; *) echo "$1" ;; esac; }

BUILD=$(abspath "${GW_BUILD:-build}")
BIN=$BUILD/bin
RUN_DIR=$(abspath "${GW_RUN_DIR:-build/run}")
HOST=${GW_RUN_HOST:-127.0.0.1}
BASE_PORT=${GW_BASE_PORT:-8080}
ADMIN_BASE_PORT=${GW_ADMIN_BASE_PORT:-9090}
REDIS_PORT=${GW_REDIS_PORT:-6380}
STATS_PORT=${GW_LB_STATS_PORT:-8404}
NODES=3
# The same defaults as docker-compose.yml. The API key must be at least
# 16 bytes (--api-key).
export GW_JWT_SECRET=${GW_JWT_SECRET:-dev-secret-change-me-0123456789abcdef}
API_KEY=${GW_API_KEY:-dev-api-key-change-me}
PREFIX=${GW_REDIS_PREFIX:-gw}
SHUTDOWN_TIMEOUT=${GW_SHUTDOWN_TIMEOUT:-10}
START_TIMEOUT=${GW_RUN_START_TIMEOUT:-30}

LOGS=$RUN_DIR/logs
PIDS_FILE=$RUN_DIR/pids
LB_CFG=$ROOT/deploy/haproxy.cfg
# A URL host: an IPv6 address needs brackets; 0.0.0.0 is reached locally.
case "$HOST" in
*:*) URL_HOST="[$HOST]" ;;
0.0.0.0) URL_HOST=127.0.0.1 ;;
*) URL_HOST=$HOST ;;
esac

# --- preflight -----------------------------------------------------------
for b in gateway gwtoken gatewayctl; do
	[ -x "$BIN/$b" ] || die "$BIN/$b not found: run 'make' first (or set GW_BUILD)"
done
for c in redis-server redis-cli haproxy curl setsid; do
	command -v "$c" >/dev/null 2>&1 ||
		die "$c not found: run deploy/install-deps.sh (Debian packages redis-server, haproxy, curl)"
done
for p in BASE_PORT ADMIN_BASE_PORT REDIS_PORT STATS_PORT SHUTDOWN_TIMEOUT START_TIMEOUT; do
	case "${!p}" in '' | *[!0-9]*) die "$p must be a number, not '${!p}'" ;; esac
done
if [ "$BASE_PORT" -lt 1 ] || [ $((BASE_PORT + NODES)) -gt 65535 ]; then die "GW_BASE_PORT=$BASE_PORT: need BASE..BASE+$NODES within 1..65535"; fi
[ $((ADMIN_BASE_PORT + NODES)) -le 65535 ] ||
	die "GW_ADMIN_BASE_PORT=$ADMIN_BASE_PORT: need ADMIN_BASE+1..+$NODES within 1..65535"

# Which flags this gateway build has: only those are passed, so the script
# works with older and newer builds alike.
HELP=$("$BIN/gateway" --help 2>&1) || die "$BIN/gateway --help failed:
$HELP"
has_flag() { grep -qE -- "^ *--(\[no-\])?$1( |$)" <<<"$HELP"; }

ws_port() { echo $((BASE_PORT + $1)); }
admin_port() { echo $((ADMIN_BASE_PORT + $1)); }

mkdir -p "$LOGS" "$RUN_DIR/redis"
# One cluster per run dir: the lock is held for the script's lifetime (fd 9
# is closed for the children so an orphan could never keep it).
exec 9>"$RUN_DIR/lock"
flock -n 9 || die "another run-local.sh is using $(relpath "$RUN_DIR") (see $(relpath "$PIDS_FILE")); stop it first or set GW_RUN_DIR"

port_busy() { (exec 3<>"/dev/tcp/$URL_HOST/$1") 2>/dev/null; }
ports="$BASE_PORT $REDIS_PORT $STATS_PORT"
for i in $(seq 1 "$NODES"); do
	ports="$ports $(ws_port "$i")"
	has_flag admin-listen && ports="$ports $(admin_port "$i")"
done
for p in $ports; do
	port_busy "$p" && die "port $p on $HOST is already in use; choose others with GW_BASE_PORT, GW_ADMIN_BASE_PORT, GW_REDIS_PORT, GW_LB_STATS_PORT"
done

# --- process bookkeeping -------------------------------------------------
NAMES=()   # parallel arrays: NAMES[i] runs as PIDS[i]
PIDS=()
FAILED=0
: >"$PIDS_FILE"

PDEATH=()
setpriv --help 2>/dev/null | grep -q -- --pdeathsig && PDEATH=(setpriv --pdeathsig TERM --)

# start NAME CMD...: runs CMD in the background, output to logs/NAME.log.
start() {
	local name=$1 log="$LOGS/$1.log"
	shift
	printf '# %s\n' "$*" >"$log"
	setsid "${PDEATH[@]}" "$@" </dev/null >>"$log" 2>&1 9>&- &
	NAMES+=("$name")
	PIDS+=("$!")
	echo "$name $!" >>"$PIDS_FILE"
}

# alive PID: running, and not a zombie (kill -0 succeeds on a zombie).
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}
pid_of() {
	local i
	for i in "${!NAMES[@]}"; do
		[ "${NAMES[$i]}" = "$1" ] && { echo "${PIDS[$i]}"; return 0; }
	done
	return 0
}
name_of() {
	local i
	for i in "${!PIDS[@]}"; do
		[ "${PIDS[$i]}" = "$1" ] && { echo "${NAMES[$i]}"; return 0; }
	done
	return 0
}
tail_log() { echo "--- last lines of $(relpath "$LOGS/$1.log") ---" >&2; tail -n 20 "$LOGS/$1.log" >&2 || true; }

# stop_group TIMEOUT NAME...: SIGTERM, wait up to TIMEOUT seconds, SIGKILL.
stop_group() {
	local timeout=$1 n pid deadline
	shift
	for n in "$@"; do
		pid=$(pid_of "$n")
		if [ -n "$pid" ] && alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
	done
	deadline=$((SECONDS + timeout))
	for n in "$@"; do
		pid=$(pid_of "$n")
		[ -n "$pid" ] || continue
		while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.1
		done
		if alive "$pid"; then
			echo "run-local: $n (pid $pid) did not stop within ${timeout}s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			FAILED=1
		fi
		wait "$pid" 2>/dev/null || true
	done
}

cleanup() {
	local rc=$? nodes=() i
	trap - EXIT INT TERM HUP
	[ ${#PIDS[@]} -eq 0 ] && exit "$rc"
	echo "run-local: stopping the cluster"
	for i in $(seq 1 "$NODES"); do nodes+=("node-$i"); done
	# Nodes drain for up to --shutdown-timeout; give them a little more.
	stop_group $((SHUTDOWN_TIMEOUT + 5)) "${nodes[@]}"
	stop_group 10 haproxy
	stop_group 10 redis
	rm -f "$PIDS_FILE"
	echo "run-local: stopped; logs are in $(relpath "$LOGS")/"
	[ "$rc" -ne 0 ] && exit "$rc"
	[ "$FAILED" -ne 0 ] && exit 1
	exit 0
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP

# wait_for WHAT NAME CMD...: polls CMD until it succeeds; fails when NAME's
# process exits or START_TIMEOUT passes.
wait_for() {
	local what=$1 name=$2 pid deadline=$((SECONDS + START_TIMEOUT))
	shift 2
	pid=$(pid_of "$name")
	until "$@" >/dev/null 2>&1; do
		if ! alive "$pid"; then
			tail_log "$name"
			die "$name exited while waiting for $what"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			tail_log "$name"
			die "$what: not ready within ${START_TIMEOUT}s"
		fi
		sleep 0.1
	done
}

# --- redis ---------------------------------------------------------------
# A throw-away Redis: no persistence (the cluster's state is leases and
# presence; nodes re-register and sweep on start).
start redis redis-server --port "$REDIS_PORT" --bind "$HOST" \
	--dir "$RUN_DIR/redis" --save "" --appendonly no --protected-mode no
redis_ping() { [ "$(redis-cli -h "$URL_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
wait_for "redis on port $REDIS_PORT" redis redis_ping
REDIS_URL="redis://$URL_HOST:$REDIS_PORT"

# --- gateway nodes -------------------------------------------------------
# /dev/token (the dashboard's demo login) mints a token for any user, so the
# gateway refuses it on a non-loopback --listen unless forced: forced here
# only when GW_RUN_DEV_TOKENS_ANY_ADDRESS=1 says so, else left off.
DEV_TOKENS=()
if has_flag dev-tokens; then
	case "$HOST" in
	127.* | ::1 | localhost) DEV_TOKENS=(--dev-tokens) ;;
	*)
		if [ "${GW_RUN_DEV_TOKENS_ANY_ADDRESS:-0}" = 1 ] && has_flag dev-tokens-any-address; then
			DEV_TOKENS=(--dev-tokens --dev-tokens-any-address)
		else
			echo "run-local: $HOST is not a loopback address: /dev/token is off (GW_RUN_DEV_TOKENS_ANY_ADDRESS=1 forces it)" >&2
		fi
		;;
	esac
fi
for i in $(seq 1 "$NODES"); do
	args=(--listen "$HOST:$(ws_port "$i")" --node-id "node-$i" --redis "$REDIS_URL")
	has_flag admin-listen && args+=(--admin-listen "$HOST:$(admin_port "$i")")
	has_flag api-key && args+=(--api-key "$API_KEY")
	[ ${#DEV_TOKENS[@]} -gt 0 ] && args+=("${DEV_TOKENS[@]}")
	# The dashboard's overview reads /cluster from the public port.
	has_flag public-cluster-info && args+=(--public-cluster-info)
	start "node-$i" "$BIN/gateway" "${args[@]}"
done
healthz() { curl -fsS -m 2 -o /dev/null "http://$URL_HOST:$1/healthz"; }
for i in $(seq 1 "$NODES"); do
	wait_for "node-$i /healthz" "node-$i" healthz "$(ws_port "$i")"
done

# Health-check mode for haproxy: GET /ready on the admin listener when the
# node serves it (200, or 503 while not ready yet), else GET /healthz on
# the WebSocket port.
# A build that lists --admin-listen but does not serve it yet refuses the
# connection (code 000) or has no /ready (404): fall back.
CHECK=healthz
if has_flag admin-listen; then
	for _ in $(seq 20); do
		code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://$URL_HOST:$(admin_port 1)/ready" || true)
		case "$code" in
		200 | 503) CHECK=ready; break ;;
		000) sleep 0.1 ;;
		*) break ;;
		esac
	done
fi
ready() { curl -fsS -m 2 -o /dev/null "http://$URL_HOST:$1/ready"; }
# Every node holds a lease once its Redis link is READY.
leased() { [ "$(redis-cli -h "$URL_HOST" -p "$REDIS_PORT" zscore "{$PREFIX}:nodes" "$1" 2>/dev/null)" != "" ]; }
for i in $(seq 1 "$NODES"); do
	if [ "$CHECK" = ready ]; then
		wait_for "node-$i /ready" "node-$i" ready "$(admin_port "$i")"
	else
		wait_for "node-$i lease in {$PREFIX}:nodes" "node-$i" leased "node-$i"
	fi
done

# --- haproxy -------------------------------------------------------------
export LB_BIND="$HOST:$BASE_PORT" LB_STATS_BIND="$HOST:$STATS_PORT"
for i in $(seq 1 "$NODES"); do
	export "LB_NODE${i}_ADDR=$HOST:$(ws_port "$i")"
	if [ "$CHECK" = ready ]; then
		export "LB_NODE${i}_CHECK=$(admin_port "$i")"
	else
		export "LB_NODE${i}_CHECK=$(ws_port "$i")"
	fi
done
export LB_CHECK_URI="/$CHECK"
out=$(haproxy -c -q -f "$LB_CFG" 2>&1) || die "haproxy rejects $LB_CFG:
$out"
start haproxy haproxy -db -f "$LB_CFG"
# All servers UP in the stats CSV (field 18 is the status).
all_up() {
	[ "$(curl -fsS -m 2 "http://$URL_HOST:$STATS_PORT/;csv" |
		awk -F, '$1 == "gateways" && $2 ~ /^node-/ && $18 == "UP"' | wc -l)" -eq "$NODES" ]
}
wait_for "haproxy with $NODES nodes UP" haproxy all_up

# --- banner --------------------------------------------------------------
TOKEN=$("$BIN/gwtoken" alice 86400 2>/dev/null) || TOKEN="(gwtoken failed)"
WS="ws://$URL_HOST:$BASE_PORT"
HTTP="http://$URL_HOST:$BASE_PORT"
REL_BIN=$(relpath "$BIN")
{
	echo
	echo "  gateway cluster: $NODES nodes behind haproxy, Redis at $REDIS_URL"
	echo
	echo "  clients (haproxy)  $WS/ws/{lobby}?token=JWT"
	echo "  dashboard          $HTTP/"
	echo "  haproxy stats      http://$URL_HOST:$STATS_PORT/"
	for i in $(seq 1 "$NODES"); do
		line="  node-$i             ws://$URL_HOST:$(ws_port "$i")"
		[ "$CHECK" = ready ] &&
			line="$line   admin http://$URL_HOST:$(admin_port "$i")  (/ready /metrics /api/...)"
		echo "$line"
	done
	echo "  logs               $(relpath "$LOGS")/{redis,node-1,node-2,node-3,haproxy}.log"
	echo
	echo "  dev secret   GW_JWT_SECRET=$GW_JWT_SECRET"
	has_flag api-key && echo "  API key      $API_KEY"
	echo "  token for \"alice\" (24 h):"
	echo "    $TOKEN"
	echo
	echo "  try:"
	echo "    /usr/bin/python3 -m websockets '$WS/ws/lobby1?token=$TOKEN'"
	echo "    GW_JWT_SECRET=$GW_JWT_SECRET $REL_BIN/gwtoken bob"
	[ ${#DEV_TOKENS[@]} -gt 0 ] && echo "    curl -s '$HTTP/dev/token?user=bob'"
	if [ "$CHECK" = ready ]; then
		A="http://$URL_HOST:$(admin_port 1)"
		echo "    curl -s $A/ready"
		echo "    curl -s $A/metrics | grep ^gw_connections"
		if has_flag api-key; then
			echo "    curl -s -H 'Authorization: Bearer $API_KEY' $A/api/stats"
			echo "    curl -s -H 'Authorization: Bearer $API_KEY' -d '{\"lobby\":\"lobby1\",\"data\":\"hi\"}' $A/api/publish"
		fi
	else
		echo "    curl -s http://$URL_HOST:$(ws_port 1)/stats"
	fi
	echo "    $REL_BIN/gatewayctl --redis $REDIS_URL stats"
	echo "    $REL_BIN/gatewayctl --redis $REDIS_URL lobby lobby1"
	echo "    redis-cli -p $REDIS_PORT zrange '{$PREFIX}:nodes' 0 -1 withscores"
	echo
	echo "==> cluster ready (run dir $(relpath "$RUN_DIR")); Ctrl-C stops it"
}

# --- supervise -----------------------------------------------------------
# Report any process that exits on its own, and keep the rest running: a
# killed node is a demo of failover (its lease expires, the others sweep
# it). When nothing is left, stop.
LIVE=("${PIDS[@]}")
while [ ${#LIVE[@]} -gt 0 ]; do
	done_pid=""
	rc=0
	wait -n -p done_pid "${LIVE[@]}" || rc=$?
	[ -n "$done_pid" ] || { [ "$rc" -eq 127 ] && break; continue; }
	name=$(name_of "$done_pid")
	echo "run-local: $name (pid $done_pid) exited with status $rc; see $(relpath "$LOGS")/$name.log" >&2
	rest=()
	for p in "${LIVE[@]}"; do [ "$p" = "$done_pid" ] || rest+=("$p"); done
	LIVE=("${rest[@]}")
done
echo "run-local: every process has exited" >&2
exit 1
