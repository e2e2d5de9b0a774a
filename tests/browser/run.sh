#!/bin/sh
# tests/browser/run.sh — the dashboard's browser test (see dashboard.test.mjs).
#
# Installs playwright-core into tests/browser/node_modules when it is missing
# or does not match package.json (npm, no lock file; node_modules is
# git-ignored), checks for Debian's chromium (installing it with apt-get when
# run as root), then runs `node --test` here. Arguments go to node --test.
# The gateway binary comes from ${GW_BUILD:-build}/bin: build it first (make).
set -eu
cd "$(dirname "$0")"

command -v node >/dev/null 2>&1 || {
	echo "run.sh: node (>= 18) is missing: apt-get install -y nodejs npm" >&2; exit 1; }

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "run.sh: installing Debian's chromium" >&2
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null
	fi
	[ -x "$CHROMIUM" ] || {
		echo "run.sh: $CHROMIUM is missing: apt-get install -y chromium" >&2; exit 1; }
fi

if ! npm ls playwright-core >/dev/null 2>&1; then
	echo "run.sh: npm install (playwright-core)" >&2
	npm install --no-package-lock --no-audit --no-fund --loglevel=error >&2
fi

mkdir -p ../artifacts
exec node --test "$@"
