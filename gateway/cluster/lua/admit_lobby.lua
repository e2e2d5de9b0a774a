-- admit_lobby.lua (several shards): the lobby's part of an admission, on
-- the lobby's shard: checks --max-per-lobby and reserves the connection in
-- the lobby, atomically. The user's part follows on the user's shard
-- (admit_user.lua); if that refuses, the node releases this part again.
-- KEYS[1] = {P}:total (this shard's)   ARGV: prefix node conn user lobby max_lobby
-- Returns {"ok"} or {"lobby_full"}. See docs/redis-schema.md, Shards.
local P, node, conn, user, lobby = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_lobby = tonumber(ARGV[6])
local lobby_key = P .. ':lobby:' .. lobby
if redis.call('HLEN', lobby_key) >= max_lobby then return {'lobby_full'} end
redis.call('HSET', P .. ':node:' .. node .. ':conns', conn, user .. '\t' .. lobby)
redis.call('HSET', lobby_key, conn, user)
redis.call('HINCRBY', P .. ':lobbies', lobby, 1)
redis.call('INCR', KEYS[1])
return {'ok'}
