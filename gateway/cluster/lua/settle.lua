-- settle.lua: the grace of a held leave ended (--leave-grace-ms), on the
-- lobby's shard. Drops its record in {P}:held:LOBBY and releases the held
-- connection as release.lua does.
-- KEYS[1] = {P}:total   ARGV: prefix node conn user lobby
-- Returns 1 when the record was still there (announce the leave), 0 when
-- it was not: an admission took it (the user came back, on any node), or
-- the sweep did (our lease had run out: it announced node_lost), or Redis
-- lost it (then the node sent gap to its lobbies).
local P, node, conn, user, lobby = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local found = redis.call('HDEL', P .. ':held:' .. lobby, conn)
if redis.call('HDEL', P .. ':node:' .. node .. ':conns', conn) == 1 then
  redis.call('HDEL', P .. ':lobby:' .. lobby, conn)
  local lobbies = P .. ':lobbies'
  if redis.call('HINCRBY', lobbies, lobby, -1) <= 0 then redis.call('HDEL', lobbies, lobby) end
  redis.call('DECR', KEYS[1])
end
redis.call('HDEL', P .. ':user:' .. user, conn)
return found
