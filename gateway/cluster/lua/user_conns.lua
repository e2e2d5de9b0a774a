-- user_conns.lua: where is a user connected? One round trip for the one
-- user lookup (common/gw_userconns.h), used by the nodes and gatewayctl.
-- ARGV: prefix user now_ms
-- Returns { HKEYS {P}:user:USER, the nodes whose lease has not expired }.
local P, user, now = ARGV[1], ARGV[2], ARGV[3]
return { redis.call('HKEYS', P .. ':user:' .. user),
         redis.call('ZRANGEBYSCORE', P .. ':nodes', '(' .. now, '+inf') }
