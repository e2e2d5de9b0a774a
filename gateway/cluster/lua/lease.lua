-- lease.lua: refresh this node's lease; returns the earliest lease expiry of
-- the cluster (ms), when the next sweep is due.
-- KEYS[1] = {P}:total   ARGV: prefix node ttl_ms now_ms addr started version
--   node_max messages_in messages_out admin [conns]
-- conns: the node's connection count when the shards share them (several
-- shards); absent, this shard's index of the node's connections counts.
local P, node, ttl, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local key = P .. ':node:' .. node
local conns = tonumber(ARGV[12]) or redis.call('HLEN', key .. ':conns')
redis.call('ZADD', P .. ':nodes', now + ttl, node)
redis.call('HSET', key, 'id', node, 'addr', ARGV[5], 'started', ARGV[6],
  'version', ARGV[7], 'conns', conns, 'load', conns / math.max(1, tonumber(ARGV[8])),
  'heartbeat', now, 'messages_in', ARGV[9], 'messages_out', ARGV[10], 'admin', ARGV[11])
redis.call('PEXPIRE', key, ttl)
local first = redis.call('ZRANGE', P .. ':nodes', 0, 0, 'WITHSCORES')
return tonumber(first[2])
