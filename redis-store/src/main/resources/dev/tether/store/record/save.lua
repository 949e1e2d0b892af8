-- Write a delta, a full state, or a new record, if the caller still owns it.
-- KEYS: record, tombstone.
-- ARGV: owner, epoch, mode ('d' delta, 'f' full: the record is replaced), ttl seconds (0 keeps
--       the TTL, -1 removes it), #sets, #dels, then the sets as field/value pairs, then the
--       fields to delete.
-- Returns OK, FENCED (another node owns it), GONE (invalidated on purpose) or MISSING (the record
-- vanished without a tombstone, e.g. Redis lost its data: the caller resends the full state).
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
local mode = ARGV[3]
if not cur[2] then
  if redis.call('EXISTS', KEYS[2]) == 1 then return 'GONE' end
  if mode == 'd' then return 'MISSING' end
else
  if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 'FENCED' end
  if mode == 'f' then redis.call('DEL', KEYS[1]) end
end
local nset = tonumber(ARGV[5])
local ndel = tonumber(ARGV[6])
local i = 7
local last = 6 + 2 * nset
while i <= last do
  local stop = math.min(i + 199, last)
  redis.call('HSET', KEYS[1], unpack(ARGV, i, stop))
  i = stop + 1
end
last = last + ndel
while i <= last do
  local stop = math.min(i + 199, last)
  redis.call('HDEL', KEYS[1], unpack(ARGV, i, stop))
  i = stop + 1
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) elseif ttl < 0 then redis.call('PERSIST', KEYS[1]) end
return 'OK'
