-- release.lua: remove one connection; a no-op if already gone.
-- KEYS[1] = {P}:total   ARGV: prefix node conn user lobby
local P, node, conn, user, lobby = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('HDEL', P .. ':node:' .. node .. ':conns', conn) == 0 then return 0 end
redis.call('HDEL', P .. ':lobby:' .. lobby, conn)
redis.call('HDEL', P .. ':user:' .. user, conn)
local lobbies = P .. ':lobbies'
if redis.call('HINCRBY', lobbies, lobby, -1) <= 0 then redis.call('HDEL', lobbies, lobby) end
redis.call('DECR', KEYS[1])
return 1
