#!/bin/sh
# The container's HEALTHCHECK (deploy/Dockerfile, docker-compose.yml): exits
# 0 when this gateway node can take clients.
#
# With an admin listener (GW_ADMIN_LISTEN set) that is GET /ready: not
# draining and, in a cluster, the Redis link and a pub/sub round trip to
# itself are fine. Without one, GET /healthz on the WebSocket port (the
# process serves). Ports come from the same GW_* variables the gateway
# reads; the defaults are the gateway's.
set -u

# url HOST:PORT PATH: a wildcard address is asked on the loopback.
url() {
	host=${1%:*}
	case "$host" in '' | 0.0.0.0 | '[::]' | '*') host=127.0.0.1 ;; esac
	echo "http://$host:${1##*:}$2"
}

if [ -n "${GW_ADMIN_LISTEN:-}" ]; then
	curl -fsS -m 2 -o /dev/null "$(url "$GW_ADMIN_LISTEN" /ready)"
	rc=$?
	# 7: nothing listens there (a gateway build without the admin
	# listener); anything else is the answer.
	[ "$rc" -ne 7 ] && exit "$rc"
fi
exec curl -fsS -m 2 -o /dev/null "$(url "${GW_LISTEN:-0.0.0.0:8080}" /healthz)"
