-- admit_lobby.lua (several shards): the lobby's part of an admission, on
-- the lobby's shard: checks --max-per-lobby and reserves the connection in
-- the lobby, atomically. The user's part follows on the user's shard
-- (admit_user.lua); if that refuses, the node releases this part again.
-- KEYS[1] = {P}:total (this shard's)   ARGV: prefix node conn user lobby max_lobby
--   now_ms held_margin_ms
-- Returns {"ok"}, {"resumed", held_conn, held_value} or {"lobby_full"}.
-- Resumed: a held leave of this user in this lobby was taken, as in
-- admit.lua; its lobby part is released here, its user part by
-- admit_user.lua (told held_conn). See docs/redis-schema.md, Shards.
local P, node, conn, user, lobby = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_lobby, now = tonumber(ARGV[6]), tonumber(ARGV[7] or '0')
local margin = tonumber(ARGV[8] or '0')
local lobby_key = P .. ':lobby:' .. lobby
local lobbies = P .. ':lobbies'
local held_key = P .. ':held:' .. lobby

local function node_of(c)
  return string.match(c, '^(.*)%.[^.]*$') or ''
end

local held_conn, held_value, best
local pending = redis.call('HGETALL', held_key)
for i = 1, #pending, 2 do
  local u, d = string.match(pending[i + 1], '^(.*)\t(%d+)$')
  d = tonumber(d)
  if d and d + margin < now then
    redis.call('HDEL', held_key, pending[i])
  elseif d and u == user and (not best or d < best) then
    local lease = redis.call('ZSCORE', P .. ':nodes', node_of(pending[i]))
    if lease and tonumber(lease) > now then
      best, held_conn, held_value = d, pending[i], pending[i + 1]
    end
  end
end
local held_conns = held_conn and (P .. ':node:' .. node_of(held_conn) .. ':conns')
local freed = 0
if held_conn and redis.call('HEXISTS', held_conns, held_conn) == 1 then freed = 1 end

if redis.call('HLEN', lobby_key) - freed >= max_lobby then return {'lobby_full'} end
local out = {'ok'}
if held_conn then
  redis.call('HDEL', held_key, held_conn)
  if redis.call('HDEL', held_conns, held_conn) == 1 then
    redis.call('HDEL', lobby_key, held_conn)
    if redis.call('HINCRBY', lobbies, lobby, -1) <= 0 then redis.call('HDEL', lobbies, lobby) end
    redis.call('DECR', KEYS[1])
  end
  out = {'resumed', held_conn, held_value}
end
redis.call('HSET', P .. ':node:' .. node .. ':conns', conn, user .. '\t' .. lobby)
redis.call('HSET', lobby_key, conn, user)
redis.call('HINCRBY', lobbies, lobby, 1)
redis.call('INCR', KEYS[1])
return out
