-- admit_user.lua (several shards): the user's part of an admission, on the
-- user's shard when the lobby lives on another one: the user policy,
-- atomically, then the user's entry and this node's index of user parts.
-- KEYS[1] = {P}:total (unused)   ARGV: prefix node conn user lobby policy
--   max_per_user now_ms [held_conn]
-- held_conn: the held connection admit_lobby.lua resumed; its user part
-- goes first (it no longer counts for the policy).
-- Returns {"ok", replaced_conn...} or {"user_limit"}. A replaced
-- connection's other entries go when its node closes and releases it.
local P, node, conn, user, lobby = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local policy, max_per_user, now = ARGV[6], tonumber(ARGV[7]), ARGV[8]
local user_key = P .. ':user:' .. user
local held = ARGV[9]
if held and held ~= '' then
  redis.call('HDEL', user_key, held)
  local hn = string.match(held, '^(.*)%.[^.]*$') or ''
  redis.call('HDEL', P .. ':node:' .. hn .. ':users', held)
end
local existing = redis.call('HKEYS', user_key)
local out = {'ok'}
if #existing > 0 then
  if policy == 'reject' then return {'user_limit'} end
  if policy == 'multi' and #existing >= max_per_user then return {'user_limit'} end
  if policy == 'replace' then
    for _, c in ipairs(existing) do
      redis.call('HDEL', user_key, c)
      out[#out + 1] = c
    end
  end
end
redis.call('HSET', user_key, conn, cjson.encode({node = node, lobby = lobby, since = tonumber(now)}))
redis.call('HSET', P .. ':node:' .. node .. ':users', conn, user)
return out
