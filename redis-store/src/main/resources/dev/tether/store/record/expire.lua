-- Claim an expired session: if it has been idle longer than its max-inactive interval, take its
-- contents and delete it in one step, so that exactly one node fires its destruction events.
-- KEYS: record, tombstone.
-- ARGV: now (ms), slack (ms; the most the record's last-access time may lag behind a request
--       served elsewhere; the touch interval), owner whose copy needs no slack (or ''), tombstone ttl
--       seconds (at least; the record's own TTL if longer).
-- Replies: {'EXPIRED', HGETALL}, {'ALIVE', lastAccessed, maxInactive}, {'GONE', whether a tombstone is there}.
local f = redis.call('HMGET', KEYS[1], 'lastAccessed', 'maxInactive', 'owner')
if not f[1] then return {'GONE', redis.call('EXISTS', KEYS[2])} end
local maxInactive = tonumber(f[2] or '-1')
if maxInactive <= 0 then return {'ALIVE', f[1], f[2] or '-1'} end
local touch = tonumber(ARGV[2])
local slack = touch
if ARGV[3] ~= '' and f[3] == ARGV[3] then slack = 0 end
if tonumber(f[1]) + maxInactive * 1000 + slack > tonumber(ARGV[1]) then return {'ALIVE', f[1], f[2]} end
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
-- The tombstone lasts at least as long as the record could have (its TTL): a node cut off meanwhile
-- that still holds a copy must find it when it writes that copy back, not bring the session back.
local keep = math.max(tonumber(ARGV[4]), maxInactive + 4 * math.ceil(touch / 1000))
redis.call('SET', KEYS[2], 'expired', 'EX', keep)
return {'EXPIRED', all}
