-- Take ownership of an existing record: bump the epoch, name the new owner, tell the other nodes
-- (so that the old owner drops its copy now rather than at its next refused write), and return
-- {previous owner, HGETALL}; false when there is no record.
-- KEYS: record. ARGV: new owner, ownership channel, base id.
-- Announcement: '<base id> <new epoch> <new owner>'.
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if not cur[2] then return false end
local epoch = tonumber(cur[2]) + 1
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'epoch', epoch)
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. epoch .. ' ' .. ARGV[1])
return {cur[1], redis.call('HGETALL', KEYS[1])}
