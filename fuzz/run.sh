#!/bin/sh
# Runs one libFuzzer target for a fixed time from a scratch copy of its seed
# corpus, so nothing is written into the repository.
#
#   fuzz/run.sh BUILD_DIR NAME SECONDS [extra libFuzzer flags...]
#
# New corpus entries land in BUILD_DIR/work/NAME/corpus; a crash leaves its
# input in BUILD_DIR/work/NAME/ (crash-*, leak-*, timeout-*) and fails the
# run. The last line printed is a one-line summary:
#   NAME: SECONDS s, N execs, cov C ft F, corpus K
set -eu

BUILD=$1 NAME=$2 SECS=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
BIN="$BUILD/bin/fuzz_$NAME"
WORK="$BUILD/work/$NAME"
LOG="$WORK/fuzz.log"

[ -x "$BIN" ] || { echo "fuzz: $BIN is not built (make fuzz-build)" >&2; exit 2; }
rm -rf "$WORK"
mkdir -p "$WORK/corpus"
[ -d "$HERE/corpus/$NAME" ] && cp "$HERE/corpus/$NAME"/* "$WORK/corpus/" 2>/dev/null || true
set -- -max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$WORK/" "$@"
[ -f "$HERE/$NAME.dict" ] && set -- -dict="$HERE/$NAME.dict" "$@"

rc=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$BIN" "$@" "$WORK/corpus" >"$LOG" 2>&1 || rc=$?

# libFuzzer's last status line ("#N DONE cov: C ft: F corp: K/...") and
# its final stats give the figures.
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -n 1)
last=$(grep -E '^#[0-9]+' "$LOG" | tail -n 1)
cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
if [ "$rc" -ne 0 ]; then
	tail -n 80 "$LOG"
	echo "fuzz: $NAME FAILED (exit $rc); input and log in $WORK/"
	exit 1
fi
echo "$NAME: $SECS s, ${execs:-?} execs, cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?}"
