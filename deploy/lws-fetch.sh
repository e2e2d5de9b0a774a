#!/bin/sh
# Fetches the newest libwebsockets 4.3.x source that Debian's signed trixie
# Sources indexes list, into the current directory, and prints its revision
# (e.g. 4.3.5-1+deb13u3) as the last line on stdout.
#
#   deploy/lws-fetch.sh            called by deploy/build-lws.sh from its work dir
#
# Why it works this way: Debian rotates security revisions (+deb13uN) and
# drops the old one from the index, and a new revision's .debian.tar.xz may be
# served by the security archive's pool only while the main archive's index
# already lists it. So nothing here names a revision: the trust anchor is apt's
# verification of the signed InRelease files, and every file we download is
# checked against the SHA256 those indexes give (apt-helper does it). Each
# file is tried from every archive, the security suite first. Only the
# upstream orig.tar.gz, which never changes between revisions, is pinned, in
# build-lws.sh; an upstream version without a pin is skipped.
#
# Environment (tests and unusual machines):
#   LWS_APT_MAIN, LWS_APT_SECURITY  archive URIs; default: this machine's apt config
#   LWS_APT_OPTIONS                 deb-src options; default: signed-by the Debian keyring
#   LWS_UPSTREAM                    upstream versions to accept (space-separated)
#
# Exit status: 0 with the two tarballs present and verified, 1 otherwise
# (with a message that names the offline path, LWS_SRC).
set -eu

die() {
	echo "lws-fetch: $*" >&2
	echo "lws-fetch: offline or air-gapped? build from a source you provide:" >&2
	echo "lws-fetch:   LWS_SRC=/path/to/libwebsockets-4.3.x (an unpacked tree with debian/)" >&2
	echo "lws-fetch:   LWS_SRC=/path/to/dir (holding the .orig.tar.gz and .debian.tar.xz)" >&2
	exit 1
}
log() { echo "lws-fetch: $*" >&2; }

UPSTREAM=${LWS_UPSTREAM:-4.3.5}
WORK=$(pwd)

# --- archives ---------------------------------------------------------------
# The first URI of the machine's deb822 sources is its main archive; a URI
# whose suite ends in -security is the security archive.
main_uri=${LWS_APT_MAIN:-}; sec_uri=${LWS_APT_SECURITY:-}
if [ -z "$main_uri" ]; then
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
fi
[ -n "$main_uri" ] || die "cannot find a Debian archive URI in /etc/apt"
[ -n "$sec_uri" ] || sec_uri="${main_uri%/debian}/debian-security"

OPTS=${LWS_APT_OPTIONS:-signed-by=/usr/share/keyrings/debian-archive-keyring.gpg}
mkdir -p lists/partial cache/archives/partial
cat > sources.list <<LIST
deb-src [$OPTS] $sec_uri trixie-security main
deb-src [$OPTS] $main_uri trixie-updates main
deb-src [$OPTS] $main_uri trixie main
LIST
APT="-o Dir::Etc::SourceList=$WORK/sources.list -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists=$WORK/lists -o Dir::Cache=$WORK/cache
     -o Dir::State::status=/dev/null -o APT::Sandbox::User=root"

log "reading the signed trixie Sources indexes ($sec_uri, $main_uri)"
# shellcheck disable=SC2086
apt-get $APT -qq update >&2 || die "apt-get update of the private source list failed"

# --- resolve ----------------------------------------------------------------
# One line per index record: VERSION DIRECTORY ORIG_SHA DEB_SHA. A revision
# listed by several suites gives several lines (the pool directories differ).
# shellcheck disable=SC2086
apt-cache $APT showsrc --only-source libwebsockets 2>/dev/null | awk '
	function flush() { if (v != "") print v, d, o, b; v = d = o = b = ""; sha = 0 }
	/^Package:/ { flush() }
	/^Version:/ { v = $2 }
	/^Directory:/ { d = $2 }
	/^[^ ]/ && !/^Checksums-Sha256:/ { sha = 0 }
	/^Checksums-Sha256:/ { sha = 1; next }
	sha && /^ / { if ($3 ~ /\.orig\.tar\.gz$/) o = $1; if ($3 ~ /\.debian\.tar\.xz$/) b = $1 }
	END { flush() }' > records

# Candidate revisions: upstream accepted, newest first (dpkg's ordering).
versions=$(awk '{ print $1 }' records | sort -u)
cands=""
for v in $versions; do
	up=${v%%-*}
	case " $UPSTREAM " in
	*" $up "*) ;;
	*) log "skipping $v: upstream $up is not pinned"; continue ;;
	esac
	ins=""; placed=0
	for c in $cands; do
		if [ "$placed" = 0 ] && dpkg --compare-versions "$v" gt "$c"; then
			ins="$ins $v"; placed=1
		fi
		ins="$ins $c"
	done
	[ "$placed" = 1 ] || ins="$ins $v"
	cands=$ins
done
[ -n "$cands" ] || die "no libwebsockets $UPSTREAM revision is listed by the trixie Sources indexes"
log "revisions listed, newest first:$cands"

# fetch FILE SHA VERSION: from every archive and every pool directory the
# index gives for VERSION, the security archive first; apt-helper refuses a
# file whose SHA256 differs from the index's.
fetch() {
	[ -f "$1" ] && echo "$2  $1" | sha256sum -c --quiet - 2>/dev/null && return 0
	rm -f "$1"
	for uri in $sec_uri $main_uri; do
		for dir in $(awk -v v="$3" '$1 == v { print $2 }' records | sort -u); do
			if /usr/lib/apt/apt-helper -o APT::Sandbox::User=root \
				download-file "$uri/$dir/$1" "$WORK/$1" "SHA256:$2" >/dev/null 2>&1; then
				log "fetched $1 from $uri/$dir"
				return 0
			fi
		done
	done
	log "$1 is served by none of the archives"
	return 1
}

for v in $cands; do
	up=${v%%-*}
	orig_sha=$(awk -v v="$v" '$1 == v && $3 != "" { print $3; exit }' records)
	deb_sha=$(awk -v v="$v" '$1 == v && $4 != "" { print $4; exit }' records)
	if [ -z "$orig_sha" ] || [ -z "$deb_sha" ]; then
		log "skipping $v: its index record lacks a tarball"
		continue
	fi
	if fetch "libwebsockets_$up.orig.tar.gz" "$orig_sha" "$v" &&
		fetch "libwebsockets_$v.debian.tar.xz" "$deb_sha" "$v"; then
		echo "$v"
		exit 0
	fi
	log "revision $v could not be fetched; trying an older one"
done
die "no listed libwebsockets revision could be fetched from $sec_uri or $main_uri"
