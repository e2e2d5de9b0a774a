-- history_publish.lua: one lobby broadcast with history (--history-size > 0).
-- Assigns the lobby's next offset, appends the frame to the lobby's stream,
-- publishes the envelope and keeps both keys for the TTL, in one atomic step:
-- every node receives the offsets in the order they were assigned.
-- KEYS[1] = {P}:hmeta:L (hash: offset, epoch)   KEYS[2] = {P}:hist:L (stream)
-- ARGV: channel, frame head (ends with "offset":), envelope head (a msgpack
--       map ending with the key "p"), maxlen, ttl, epoch candidate,
--       excluded connection id ("" none)
-- Returns the offset.
local meta, hist = KEYS[1], KEYS[2]
local off = redis.call('HINCRBY', meta, 'offset', 1)
if off == 1 then
	-- A new epoch (first broadcast, or the history was lost): a stream left
	-- from the old one would refuse our ids.
	redis.call('HSETNX', meta, 'epoch', ARGV[6])
	redis.call('DEL', hist)
end
local n = string.format('%d', off)
local frame = ARGV[2] .. n .. '}'
redis.call('XADD', hist, 'MAXLEN', '~', ARGV[4], '0-' .. n, 'f', frame, 'x', ARGV[7])
-- The payload as a msgpack bin32: 0xc6, a big-endian length, the bytes.
redis.call('PUBLISH', ARGV[1], ARGV[3] .. '\198' .. struct.pack('>I4', #frame) .. frame)
redis.call('EXPIRE', meta, ARGV[5])
redis.call('EXPIRE', hist, ARGV[5])
return off
