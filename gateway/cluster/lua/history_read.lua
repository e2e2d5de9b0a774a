-- history_read.lua: a lobby's history state for a joining connection and,
-- when it resumes (since, epoch) and the history still holds everything
-- after `since`, the frames it missed. Creates the lobby's epoch when there
-- is none yet, so the welcome always carries one.
-- KEYS[1] = {P}:hmeta:L   KEYS[2] = {P}:hist:L
-- ARGV: epoch candidate, ttl, since ("" none), the client's epoch ("*": the
--       current one, for an SSE Last-Event-ID, which names none), max count
-- Returns {epoch, offset, recovered (0/1), frame1, excluded1, frame2, ...}.
local meta, hist = KEYS[1], KEYS[2]
if redis.call('HSETNX', meta, 'epoch', ARGV[1]) == 1 then
	redis.call('HSETNX', meta, 'offset', 0)
end
-- Refreshed so that the epoch cannot change within a TTL of this welcome.
redis.call('EXPIRE', meta, ARGV[2])
local v = redis.call('HMGET', meta, 'epoch', 'offset')
local epoch, off = v[1], tonumber(v[2] or '0')
local out = { epoch, off, 0 }
if ARGV[3] == '' or (ARGV[4] ~= '*' and ARGV[4] ~= epoch) then return out end
local since = tonumber(ARGV[3])
if since > off then return out end
if since == off then out[3] = 1; return out end
if off - since > tonumber(ARGV[5]) then return out end
local e = redis.call('XRANGE', hist, string.format('0-%d', since + 1),
	string.format('0-%d', off))
-- Ids are unique within the range: the count says nothing is missing.
if #e ~= off - since then return out end
redis.call('EXPIRE', hist, ARGV[2])
out[3] = 1
for i = 1, #e do
	out[#out + 1] = e[i][2][2]
	out[#out + 1] = e[i][2][4]
end
return out
