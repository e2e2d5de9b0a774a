#!/bin/sh
# Builds libwebsockets with libevent support into $1 (default build/lws), and
# writes the revision it built to $1/REVISION (shown by `gateway --version`
# and by gw_build_info in /metrics).
#
# Debian 12's libwebsockets-dev is 4.1.6, unpatched, and built without
# LWS_WITH_LIBEVENT, but the gateway runs lws on its one libevent loop. So we
# build Debian 13's 4.3.x source package (which carries Debian's security
# patches) as a static library: deploy/lws-fetch.sh picks the newest revision
# the signed indexes list. The only pin is the upstream tarball's sha256
# (ORIG_SHA below), which no Debian revision changes.
#
# Then Debian's patch series of that revision, then ours, deploy/lws-patches/
# in name order; a patch that does not apply stops the build, naming it.
#
# Offline: LWS_SRC=/path/to/libwebsockets-4.3.x (an unpacked source tree,
# with or without debian/) or LWS_SRC=/path/to/dir holding
# libwebsockets_4.3.x.orig.tar.gz and libwebsockets_*.debian.tar.xz.
#
# If the system libwebsockets already has libevent support, nothing is built.
set -eu

PREFIX=${1:-build/lws}
HERE=$(cd "$(dirname "$0")" && pwd)
# Upstream versions we accept, with the sha256 of their .orig.tar.gz.
ORIG_PINS="4.3.5:87f99ad32803ed325fceac5327aae1f5c1b417d54ee61ad36cffc8df5f5ab276"

die() { echo "build-lws: $*" >&2; exit 1; }

mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
# The stamp names what shaped the build (this script, our patches, LWS_SRC);
# the Debian revision is whatever the index offered when it was built.
KEY=$(cat "$0" "$HERE"/lws-patches/*.patch | sha256sum | cut -c1-12)
STAMP="$PREFIX/.built-$KEY-$(echo "${LWS_SRC:-apt}" | sha256sum | cut -c1-8)"
[ -f "$STAMP" ] && [ -f "$PREFIX/REVISION" ] && exit 0
if grep -qs '^#define LWS_WITH_LIBEVENT' /usr/include/lws_config.h; then
	echo "build-lws: system libwebsockets has libevent support; using it"
	dpkg-query -W -f='${Version} (system)\n' libwebsockets-dev > "$PREFIX/REVISION" 2>/dev/null ||
		echo "system" > "$PREFIX/REVISION"
	exit 0
fi

WORK="$PREFIX/.src"
mkdir -p "$WORK"
cd "$WORK"
rm -rf src

pinned_sha() { # UPSTREAM -> sha256 or nothing
	for p in $ORIG_PINS; do [ "${p%%:*}" = "$1" ] && echo "${p#*:}"; done
}

if [ -n "${LWS_SRC:-}" ] && [ -d "$LWS_SRC" ] && [ -f "$LWS_SRC/CMakeLists.txt" ]; then
	echo "build-lws: building the source tree LWS_SRC=$LWS_SRC"
	cp -a "$LWS_SRC" src
	REV=$(sed -n '1s/^libwebsockets (\([^)]*\)).*/\1/p' src/debian/changelog 2>/dev/null || true)
	REV="${REV:-$(basename "$LWS_SRC")} (LWS_SRC)"
else
	if [ -n "${LWS_SRC:-}" ]; then
		[ -d "$LWS_SRC" ] || die "LWS_SRC=$LWS_SRC is neither a source tree nor a directory of tarballs"
		echo "build-lws: using the tarballs in LWS_SRC=$LWS_SRC"
		deb=$(ls "$LWS_SRC"/libwebsockets_*.debian.tar.xz 2>/dev/null | sort -V | tail -1)
		[ -n "$deb" ] || die "LWS_SRC=$LWS_SRC holds no libwebsockets_*.debian.tar.xz"
		REV=$(basename "$deb" .debian.tar.xz); REV=${REV#libwebsockets_}
		cp "$deb" "$LWS_SRC/libwebsockets_${REV%%-*}.orig.tar.gz" . ||
			die "LWS_SRC=$LWS_SRC lacks libwebsockets_${REV%%-*}.orig.tar.gz"
	else
		REV=$(LWS_UPSTREAM="$(for p in $ORIG_PINS; do printf '%s ' "${p%%:*}"; done)" \
			"$HERE/lws-fetch.sh") || exit 1
		REV=$(echo "$REV" | tail -1)
	fi
	UP=${REV%%-*}
	ORIG=libwebsockets_$UP.orig.tar.gz
	SHA=$(pinned_sha "$UP")
	[ -n "$SHA" ] || die "upstream $UP has no pinned sha256 in build-lws.sh (ORIG_PINS)"
	echo "$SHA  $ORIG" | sha256sum -c --quiet - ||
		die "$ORIG: sha256 differs from the pin in build-lws.sh"
	mkdir src
	tar xzf "$ORIG" -C src --strip-components=1
	tar xJf "libwebsockets_$REV.debian.tar.xz" -C src
fi

cd src
# A tree unpacked by dpkg-source already has Debian's series applied (.pc/).
if [ -f debian/patches/series ] && [ ! -f .pc/applied-patches ]; then
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		patch -p1 -s < "debian/patches/$p" || die "Debian's patch $p ($REV) does not apply"
	done < debian/patches/series
fi
for p in "$HERE"/lws-patches/*.patch; do
	patch -p1 -s < "$p" ||
		die "our patch deploy/lws-patches/$(basename "$p") does not apply to libwebsockets $REV; refresh it"
done

mkdir -p build && cd build
# Git off: lws would stamp its version with the hash of whatever repository
# it is built inside (ours); "unknown" is honest, and REVISION says which.
cmake .. -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
	-DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
	-DLWS_WITH_LIBEVENT=ON -DLWS_WITH_EVLIB_PLUGINS=OFF \
	-DLWS_WITH_STATIC=ON -DLWS_WITH_SHARED=OFF \
	-DLWS_WITH_HTTP2=OFF -DDISABLE_WERROR=ON \
	-DLWS_WITHOUT_TESTAPPS=ON -DLWS_WITH_MINIMAL_EXAMPLES=OFF \
	-DLWS_WITHOUT_TEST_SERVER=ON -DLWS_WITHOUT_TEST_CLIENT=ON \
	-DLWS_WITH_SSL=ON -DLWS_WITH_NETLINK=OFF -DLWS_WITH_SYS_SMD=OFF \
	-DLWS_WITH_CACHE_NSCOOKIEJAR=OFF -DLWS_MAX_SMP=1 \
	-DLWS_WITHOUT_CLIENT=ON -DLWS_CLIENT_HTTP_PROXYING=OFF \
	-DLWS_WITH_CONMON=OFF -DLWS_WITH_TLS_SESSIONS=OFF -DLWS_WITH_UDP=OFF \
	-DLWS_ROLE_RAW_FILE=OFF -DLWS_WITH_FILE_OPS=OFF \
	-DLWS_WITH_HTTP_UNCOMMON_HEADERS=OFF \
	-DCMAKE_DISABLE_FIND_PACKAGE_Git=TRUE > cmake.log 2>&1 ||
	{ tail -30 cmake.log; die "cmake configure failed"; }
make -j"$(nproc)" > make.log 2>&1 || { tail -30 make.log; die "build failed"; }
make install > install.log 2>&1 || die "install failed"
grep -q '^#define LWS_WITH_LIBEVENT' "$PREFIX/include/lws_config.h" ||
	die "built libwebsockets lacks LWS_WITH_LIBEVENT"
echo "$REV" > "$PREFIX/REVISION"
rm -f "$PREFIX"/.built-*; touch "$STAMP"
echo "build-lws: libwebsockets $REV (static, libevent) installed in $PREFIX"
