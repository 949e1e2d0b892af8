-- The second half of an id change: the new record is written first (nobody knows its id yet);
-- this deletes the old one, if nobody changed it since base, and leaves a tombstone.
-- KEYS: old record, old tombstone. ARGV: base, tombstone ttl seconds.
-- Replies: {'OK'}, {'CONFLICT', version} (changed elsewhere meanwhile), {'GONE'} (invalidated).
local ver = redis.call('HGET', KEYS[1], 'ver')
if not ver then return {'GONE'} end
if tonumber(ver) ~= tonumber(ARGV[1]) then return {'CONFLICT', tonumber(ver)} end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], 'moved', 'EX', ARGV[2])
return {'OK'}
