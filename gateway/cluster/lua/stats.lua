-- stats.lua: a snapshot of the cluster for /cluster, /api/stats, /api/nodes.
-- KEYS[1] = {P}:total   ARGV: prefix now_ms
-- Returns {total, active_lobbies, node fields as flat [k, v, ...] per live node}.
local P, now = ARGV[1], tonumber(ARGV[2])
local out = {redis.call('GET', KEYS[1]) or '0', redis.call('HLEN', P .. ':lobbies')}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', P .. ':nodes', now, '+inf')) do
  local h = redis.call('HGETALL', P .. ':node:' .. node)
  if #h > 0 then out[#out + 1] = h end
end
return out
