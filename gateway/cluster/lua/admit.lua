-- admit.lua: decide and reserve one connection, atomically.
-- KEYS[1] = {P}:total   ARGV: prefix node conn user lobby max_total
--   node_max max_lobby policy max_per_user now_ms held_margin_ms
-- Returns {"ok", replaced_conn...}, {"resumed", held_conn, held_value,
-- replaced_conn...} or {reason}; reasons: server_full, node_full,
-- lobby_full, user_limit. See docs/redis-schema.md.
--
-- Resumed: a held leave of this user in this lobby ({P}:held:LOBBY, on a
-- live node, not past its deadline + held_margin_ms) is taken: the held
-- connection's entries are released (they count as free for the caps and
-- the user policy) and the record goes, so its node's settle.lua answers
-- "not announced". The oldest is taken; records past the margin are
-- dropped (their node could not settle them).
local P, node, conn, user, lobby = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_total, node_max, max_lobby = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local policy, max_per_user, now = ARGV[9], tonumber(ARGV[10]), ARGV[11]
local margin = tonumber(ARGV[12] or '0')

local total_key = KEYS[1]
local user_key = P .. ':user:' .. user
local lobby_key = P .. ':lobby:' .. lobby
local node_conns = P .. ':node:' .. node .. ':conns'
local lobbies = P .. ':lobbies'

local function node_of(c)
  return string.match(c, '^(.*)%.[^.]*$') or ''
end

-- The held leave this admission resumes, if any.
local held_key = P .. ':held:' .. lobby
local held_conn, held_value, held_live, best
local pending = redis.call('HGETALL', held_key)
for i = 1, #pending, 2 do
  local u, d = string.match(pending[i + 1], '^(.*)\t(%d+)$')
  d = tonumber(d)
  if d and d + margin < tonumber(now) then
    redis.call('HDEL', held_key, pending[i])
  elseif d and u == user and (not best or d < best) then
    local lease = redis.call('ZSCORE', P .. ':nodes', node_of(pending[i]))
    if lease and tonumber(lease) > tonumber(now) then
      best, held_conn, held_value = d, pending[i], pending[i + 1]
    end
  end
end
local freed_total, freed_node, freed_lobby = 0, 0, 0
if held_conn then
  held_live = redis.call('HEXISTS', P .. ':node:' .. node_of(held_conn) .. ':conns', held_conn) == 1
  if held_live then
    freed_total, freed_lobby = 1, 1
    if node_of(held_conn) == node then freed_node = 1 end
  end
end

local existing = {}
for _, c in ipairs(redis.call('HKEYS', user_key)) do
  if c ~= held_conn then existing[#existing + 1] = c end
end
local replaced = {}
if #existing > 0 then
  if policy == 'reject' then return {'user_limit'} end
  if policy == 'multi' and #existing >= max_per_user then return {'user_limit'} end
  if policy == 'replace' then
    for _, c in ipairs(existing) do
      local info = cjson.decode(redis.call('HGET', user_key, c))
      freed_total = freed_total + 1
      if info.lobby == lobby then freed_lobby = freed_lobby + 1 end
      if node_of(c) == node then freed_node = freed_node + 1 end
      replaced[#replaced + 1] = {c, info.lobby, node_of(c)}
    end
  end
end

local total = tonumber(redis.call('GET', total_key) or '0')
if total - freed_total >= max_total then return {'server_full'} end
if redis.call('HLEN', node_conns) - freed_node >= node_max then return {'node_full'} end
if redis.call('HLEN', lobby_key) - freed_lobby >= max_lobby then return {'lobby_full'} end

local out = {'ok'}
if held_conn then
  redis.call('HDEL', held_key, held_conn)
  if redis.call('HDEL', P .. ':node:' .. node_of(held_conn) .. ':conns', held_conn) == 1 then
    redis.call('HDEL', lobby_key, held_conn)
    if redis.call('HINCRBY', lobbies, lobby, -1) <= 0 then redis.call('HDEL', lobbies, lobby) end
    redis.call('DECR', total_key)
  end
  redis.call('HDEL', user_key, held_conn)
  out = {'resumed', held_conn, held_value}
end
for _, r in ipairs(replaced) do
  local c, l, n = r[1], r[2], r[3]
  if redis.call('HDEL', P .. ':node:' .. n .. ':conns', c) == 1 then
    redis.call('HDEL', P .. ':lobby:' .. l, c)
    if redis.call('HINCRBY', lobbies, l, -1) <= 0 then redis.call('HDEL', lobbies, l) end
    redis.call('DECR', total_key)
  end
  redis.call('HDEL', user_key, c)
  out[#out + 1] = c
end

redis.call('HSET', node_conns, conn, user .. '\t' .. lobby)
redis.call('HSET', lobby_key, conn, user)
redis.call('HSET', user_key, conn, cjson.encode({node = node, lobby = lobby, since = tonumber(now)}))
redis.call('HINCRBY', lobbies, lobby, 1)
redis.call('INCR', total_key)
return out
