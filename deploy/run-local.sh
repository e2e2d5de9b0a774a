#!/bin/sh
# `make run`: one gateway node on this machine, with a development secret,
# and a token to try it with. Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
BIN=${GW_BUILD:-build}/bin
PORT=${GW_PORT:-8080}
export GW_JWT_SECRET=${GW_JWT_SECRET:-dev-secret-change-me-0123456789abcdef}
export GW_NODE_ID=${GW_NODE_ID:-node-1}
TOKEN=$("$BIN/gwtoken" alice 2>/dev/null || true)
cat <<BANNER

  gateway node $GW_NODE_ID on ws://127.0.0.1:$PORT/ws/{lobby}?token=JWT
  stats:   http://127.0.0.1:$PORT/stats
  a token for user "alice" (dev secret):
    $TOKEN
  try:  /usr/bin/python3 -m websockets "ws://127.0.0.1:$PORT/ws/lobby1?token=$TOKEN"

BANNER
exec "$BIN/gateway" --listen "0.0.0.0:$PORT" "$@"
