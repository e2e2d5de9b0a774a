-- sweep.lua: remove every node whose lease expired, with all its entries.
-- KEYS[1] = {P}:total   ARGV: prefix now_ms [node...]
-- Nodes named after now_ms are removed whatever their lease (a node
-- leaving on SIGTERM removes itself this way).
-- Returns a flat list: node, conn, user, lobby, conn, user, lobby, ...
-- with each dead node's conns following its id, "" separating nodes.
-- With several shards a node's user parts whose lobby lives on another
-- shard are indexed in {P}:node:NODE:users; they go too (not listed: the
-- lobby's shard announces the connection). A dead node's held leaves
-- (--leave-grace-ms) are among its conns: their records in {P}:held:LOBBY
-- go too, and they are announced as node_lost like the others.
local P, now = ARGV[1], tonumber(ARGV[2])
local dead = redis.call('ZRANGEBYSCORE', P .. ':nodes', '-inf', now)
for i = 3, #ARGV do dead[#dead + 1] = ARGV[i] end
local out = {}
local lobbies = P .. ':lobbies'
for _, node in ipairs(dead) do
  local key = P .. ':node:' .. node .. ':conns'
  local entries = redis.call('HGETALL', key)
  out[#out + 1] = node
  for i = 1, #entries, 2 do
    local conn = entries[i]
    local user, lobby = string.match(entries[i + 1], '^(.*)\t(.*)$')
    redis.call('HDEL', P .. ':lobby:' .. lobby, conn)
    redis.call('HDEL', P .. ':user:' .. user, conn)
    redis.call('HDEL', P .. ':held:' .. lobby, conn)
    if redis.call('HINCRBY', lobbies, lobby, -1) <= 0 then redis.call('HDEL', lobbies, lobby) end
    redis.call('DECR', KEYS[1])
    out[#out + 1] = conn
    out[#out + 1] = user
    out[#out + 1] = lobby
  end
  local ukey = P .. ':node:' .. node .. ':users'
  local users = redis.call('HGETALL', ukey)
  for i = 1, #users, 2 do
    redis.call('HDEL', P .. ':user:' .. users[i + 1], users[i])
  end
  out[#out + 1] = ''
  redis.call('DEL', key, ukey, P .. ':node:' .. node)
  redis.call('ZREM', P .. ':nodes', node)
end
return out
