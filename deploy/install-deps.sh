#!/bin/sh
# Installs the Debian packages the gateway builds and tests with, by name,
# only when one is missing. Needs root (or sudo). Idempotent and quiet when
# everything is already there.
set -eu

# DEPS_PROFILE=build (the Dockerfile's build stage): only what compiling needs.
PKGS="build-essential cmake pkg-config patch xz-utils ca-certificates \
libevent-dev libhiredis-dev libmsgpack-dev libcmocka-dev libjansson-dev \
libjwt-dev libssl-dev zlib1g-dev libcap-dev"
if [ "${DEPS_PROFILE:-all}" != build ]; then
	# clang and its runtimes (libFuzzer, ASan, UBSan: libclang-rt-dev is
	# libclang-rt-14-dev on Debian 12) build `make fuzz` and the
	# fuzz-smoke step of `make test`.
	PKGS="$PKGS redis-server redis-sentinel haproxy python3 python3-websockets python3-pytest \
python3-yaml curl procps chromium clang libclang-rt-dev"
	# Node.js may come from elsewhere (e.g. nodesource); only install
	# Debian's when there is no node/npm at all.
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
		PKGS="$PKGS nodejs npm"
fi

[ "${GW_EXTRA_PKGS:-}" ] && PKGS="$PKGS $GW_EXTRA_PKGS"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
