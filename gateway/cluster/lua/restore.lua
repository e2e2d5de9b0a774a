-- restore.lua: make Redis hold exactly this node's live connections again
-- after an outage (Redis restarted empty, or entries went stale while the
-- link was down). The first batch has reset=1: it drops whatever Redis
-- still holds for this node; every batch then re-adds its connections
-- without limit checks (they are already connected).
-- KEYS[1] = {P}:total   ARGV: prefix node reset then (conn user lobby since parts)*
-- parts: "lu" the whole entry (one shard, or lobby and user on this shard),
-- "l" the lobby's part only (the user lives on another shard), "u" the
-- user's part only (the lobby lives on another shard).
local P, node, reset = ARGV[1], ARGV[2], ARGV[3]
local node_conns = P .. ':node:' .. node .. ':conns'
local node_users = P .. ':node:' .. node .. ':users'
local lobbies = P .. ':lobbies'
if reset == '1' then
  local entries = redis.call('HGETALL', node_conns)
  for i = 1, #entries, 2 do
    local conn = entries[i]
    local user, lobby = string.match(entries[i + 1], '^(.*)\t(.*)$')
    redis.call('HDEL', P .. ':lobby:' .. lobby, conn)
    redis.call('HDEL', P .. ':user:' .. user, conn)
    if redis.call('HINCRBY', lobbies, lobby, -1) <= 0 then redis.call('HDEL', lobbies, lobby) end
    redis.call('DECR', KEYS[1])
  end
  local users = redis.call('HGETALL', node_users)
  for i = 1, #users, 2 do
    redis.call('HDEL', P .. ':user:' .. users[i + 1], users[i])
  end
  redis.call('DEL', node_conns, node_users)
end
local added = 0
for i = 4, #ARGV, 5 do
  local conn, user, lobby, since, parts = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local entry = cjson.encode({node = node, lobby = lobby, since = tonumber(since)})
  if parts == 'u' then
    if redis.call('HSET', node_users, conn, user) == 1 then
      redis.call('HSET', P .. ':user:' .. user, conn, entry)
      added = added + 1
    end
  elseif redis.call('HSET', node_conns, conn, user .. '\t' .. lobby) == 1 then
    redis.call('HSET', P .. ':lobby:' .. lobby, conn, user)
    if parts == 'lu' then redis.call('HSET', P .. ':user:' .. user, conn, entry) end
    redis.call('HINCRBY', lobbies, lobby, 1)
    redis.call('INCR', KEYS[1])
    added = added + 1
  end
end
return added
