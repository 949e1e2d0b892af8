-- Delete a record if the caller still owns it, leaving a tombstone so that a late write from a
-- node that missed the news cannot resurrect it, and tell the other nodes.
-- KEYS: record, tombstone. ARGV: owner, epoch, tombstone ttl seconds, ownership channel, base id.
-- Announcement: '<base id> gone <owner>'. Returns OK or FENCED.
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if cur[2] and (cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2]) then return 'FENCED' end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' gone ' .. ARGV[1])
return 'OK'
