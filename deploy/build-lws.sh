#!/bin/sh
# Builds libwebsockets with libevent support into $1 (default build/lws).
#
# Debian 12's libwebsockets-dev is 4.1.6, unpatched, and built without
# LWS_WITH_LIBEVENT, but the gateway runs lws on its one libevent loop. So we
# build Debian 13's 4.3.5 source package (which carries Debian's security
# patches) as a static library. The archive URI is read from this machine's
# own apt configuration; apt is pointed at a private sources list and lists
# directory so the machine's apt state is never touched. apt verifies the
# tarballs against the signed Sources index; we also pin their sha256.
#
# If the system libwebsockets already has libevent support, nothing is built.
set -eu

PREFIX=${1:-build/lws}
HERE=$(cd "$(dirname "$0")" && pwd)
VER=4.3.5
DEBREV=4.3.5-1+deb13u2
ORIG_SHA=87f99ad32803ed325fceac5327aae1f5c1b417d54ee61ad36cffc8df5f5ab276
DEB_SHA=059db96dc878057a629843e754fa56b2091186049c2bd36ba79db7fec62b8aea

die() { echo "build-lws: $*" >&2; exit 1; }

mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
STAMP="$PREFIX/.built-$DEBREV-$(sha256sum "$HERE/lws-subprotocol-token.patch" | cut -c1-12)"
[ -f "$STAMP" ] && exit 0
if grep -qs '^#define LWS_WITH_LIBEVENT' /usr/include/lws_config.h; then
	echo "build-lws: system libwebsockets has libevent support; using it"
	exit 0
fi

WORK="$PREFIX/.src"
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial"
cd "$WORK"

# The first URI of the machine's deb822 sources is its main archive; a URI
# whose suite ends in -security is the security archive.
main_uri=""; sec_uri=""
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	eval "$(awk '
		/^URIs:/ { uri = $2 }
		/^Suites:/ { for (i = 2; i <= NF; i++)
			if ($i ~ /-security$/) print "sec_uri=${sec_uri:-" uri "}";
			else print "main_uri=${main_uri:-" uri "}" }' "$f")"
done
if [ -z "$main_uri" ] && [ -f /etc/apt/sources.list ]; then
	main_uri=$(awk '$1 == "deb" && $3 !~ /-security$/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$main_uri" ] || die "cannot find a Debian archive URI in /etc/apt; cannot fetch the libwebsockets source"
[ -n "$sec_uri" ] || sec_uri="${main_uri%/debian}/debian-security"

KEY=/usr/share/keyrings/debian-archive-keyring.gpg
cat > sources.list <<LIST
deb-src [signed-by=$KEY] $main_uri trixie main
deb-src [signed-by=$KEY] $main_uri trixie-updates main
deb-src [signed-by=$KEY] $sec_uri trixie-security main
LIST
APT="-o Dir::Etc::SourceList=$WORK/sources.list -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists=$WORK/lists -o Dir::Cache=$WORK/cache
     -o APT::Sandbox::User=root"

ORIG=libwebsockets_$VER.orig.tar.gz
DEB=libwebsockets_$DEBREV.debian.tar.xz
if [ ! -f "$ORIG" ] || [ ! -f "$DEB" ]; then
	echo "build-lws: fetching libwebsockets $DEBREV source from $main_uri"
	# shellcheck disable=SC2086
	apt-get $APT -qq update || die "apt-get update of the private source list failed"
	# The .dsc is sometimes missing from the mirror; apt still verifies
	# each tarball it does fetch against the signed index.
	# shellcheck disable=SC2086
	apt-get $APT -qq source --download-only "libwebsockets=$DEBREV" || true
fi
[ -f "$ORIG" ] && [ -f "$DEB" ] ||
	die "the libwebsockets $DEBREV source could not be fetched from $main_uri; it is needed because Debian 12's libwebsockets lacks libevent support"
echo "$ORIG_SHA  $ORIG" | sha256sum -c --quiet - || die "$ORIG: sha256 mismatch"
echo "$DEB_SHA  $DEB" | sha256sum -c --quiet - || die "$DEB: sha256 mismatch"

rm -rf "libwebsockets-$VER"
tar xzf "$ORIG"
tar xJf "$DEB" -C "libwebsockets-$VER"
cd "libwebsockets-$VER"
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	patch -p1 -s < "debian/patches/$p" || die "patch $p does not apply"
done < debian/patches/series
# Our one change: lws copies the Sec-WebSocket-Protocol list into 128 bytes
# and refuses the upgrade when it is longer, but browsers can only pass a
# token there (documented in docs/protocol.md).
patch -p1 -s < "$HERE/lws-subprotocol-token.patch" || die "lws-subprotocol-token.patch does not apply"

mkdir -p build && cd build
cmake .. -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
	-DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
	-DLWS_WITH_LIBEVENT=ON -DLWS_WITH_EVLIB_PLUGINS=OFF \
	-DLWS_WITH_STATIC=ON -DLWS_WITH_SHARED=OFF \
	-DLWS_WITH_HTTP2=OFF -DDISABLE_WERROR=ON \
	-DLWS_WITHOUT_TESTAPPS=ON -DLWS_WITH_MINIMAL_EXAMPLES=OFF \
	-DLWS_WITHOUT_TEST_SERVER=ON -DLWS_WITHOUT_TEST_CLIENT=ON \
	-DLWS_WITH_SSL=ON -DLWS_WITH_NETLINK=OFF -DLWS_WITH_SYS_SMD=OFF \
	-DLWS_WITH_CACHE_NSCOOKIEJAR=OFF -DLWS_MAX_SMP=1 > cmake.log 2>&1 ||
	{ tail -30 cmake.log; die "cmake configure failed"; }
make -j"$(nproc)" > make.log 2>&1 || { tail -30 make.log; die "build failed"; }
make install > install.log 2>&1 || die "install failed"
grep -q '^#define LWS_WITH_LIBEVENT' "$PREFIX/include/lws_config.h" ||
	die "built libwebsockets lacks LWS_WITH_LIBEVENT"
rm -f "$PREFIX"/.built-*; touch "$STAMP"
echo "build-lws: libwebsockets $DEBREV (static, libevent) installed in $PREFIX"
