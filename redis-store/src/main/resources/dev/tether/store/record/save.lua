-- Write one session: a delta, its full state, or a new record.
-- KEYS: record, tombstone.
-- ARGV: node (this writer's identity), base (the record version this node's copy reflects),
--       mode ('d' delta, 'f' full: the record is replaced, 'c' create: the record must not exist),
--       ttl seconds (0 keeps the TTL, -1 removes it), #sets, #dels, then the sets as field/value
--       pairs, then the fields to delete.
-- The sets come ready for the usual case, a write on the version Redis holds: 'ver' = base + 1,
-- and each data field written or deleted ('a:' attribute, 'n:' container note) stamped
-- 'm:<field>' = '<base + 1>:<node>'. Only a merge, which makes another version, rewrites them.
-- Every other field is metadata, last writer wins (but a merge never moves lastAccessed back).
-- Replies:
--   {'OK', version}               written (or found written by this same write); the record is now at version
--   {'CONFLICT', version, field}  another node changed that field since base: nothing written
--   {'GONE'}                      invalidated on purpose (tombstone): nothing written
--   {'MISSING'}                   no record and no tombstone (Redis lost it): resend the full state
--   {'STALE', version}            Redis holds an older version than base: resend the full state
local mode = ARGV[3]
local base = tonumber(ARGV[2])
local lastSet = 6 + 2 * tonumber(ARGV[5])
local lastDel = lastSet + tonumber(ARGV[6])
local ver = redis.call('HGET', KEYS[1], 'ver')
local new = base + 1
-- Whether the record holds this very write: its reply was lost with the connection, and the write
-- came again (Lettuce sends it again after reconnecting, or the outage queue replays it). The record
-- is at the version the write made, and every data field the write sets or deletes is as it left
-- it, stamped by this writer at that version. A write without data fields is never taken for one.
-- A full write or a create names no deletions: then the record must hold no data field (nor a
-- user) beyond the write's own, else something the write left out since (an attribute removed, a
-- logout) would be taken for written.
local function replayed()
  local stamped = false
  local own = {}
  for i = 7, lastSet, 2 do
    local f = ARGV[i]
    local p = string.sub(f, 1, 2)
    own[f] = true
    if p == 'm:' or p == 'a:' or p == 'n:' or f == 'user' or f == 'maxInactive' then
      if redis.call('HGET', KEYS[1], f) ~= ARGV[i + 1] then return false end
      stamped = stamped or p == 'm:'
    end
  end
  for i = lastSet + 1, lastDel do
    if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then return false end
  end
  if stamped and mode ~= 'd' then
    for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
      local p = string.sub(f, 1, 2)
      if not own[f] and (p == 'm:' or p == 'a:' or p == 'n:' or f == 'user') then return false end
    end
  end
  return stamped
end
local sets = ARGV
local first, last = 7, lastSet
if not ver then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'GONE'} end
  if mode == 'd' then return {'MISSING'} end
else
  ver = tonumber(ver)
  if ver == base + 1 and replayed() then
    redis.call('HLEN', KEYS[1]) -- tracking renewed, as below
    return {'OK', ver}
  end
  if mode == 'c' then return {'CONFLICT', ver, ''} end
  if ver < base and mode ~= 'f' then
    -- Redis holds an older state than this node wrote (a restart from an old snapshot, a promoted
    -- replica that missed writes): only this node's full state restores it.
    return {'STALE', ver}
  end
  if ver > base then
    -- Another node wrote since base: merge field by field, unless it changed one of ours.
    if mode == 'f' then return {'CONFLICT', ver, ''} end
    local node = ARGV[1]
    for i = 7, lastDel do
      if i > lastSet or (i - 7) % 2 == 0 then
        local f = ARGV[i]
        local p = string.sub(f, 1, 2)
        if p == 'a:' or p == 'n:' then
          local m = redis.call('HGET', KEYS[1], 'm:' .. f)
          if m then
            local at = string.find(m, ':', 1, true)
            if tonumber(string.sub(m, 1, at - 1)) > base and string.sub(m, at + 1) ~= node then
              return {'CONFLICT', ver, f}
            end
          end
        end
      end
    end
    new = ver + 1
    local stamp = new .. ':' .. node
    sets = {}
    for i = 7, lastSet, 2 do
      local f = ARGV[i]
      sets[#sets + 1] = f
      if f == 'ver' then
        sets[#sets + 1] = new
      elseif f == 'lastAccessed' then
        -- The later access wins: a write merged late (replayed after an outage) must not make a
        -- session another node served since look idle, and be claimed as expired.
        local seen = redis.call('HGET', KEYS[1], f)
        sets[#sets + 1] = (seen and tonumber(seen) > tonumber(ARGV[i + 1])) and seen or ARGV[i + 1]
      elseif string.sub(f, 1, 2) == 'm:' then
        sets[#sets + 1] = stamp
      else
        sets[#sets + 1] = ARGV[i + 1]
      end
    end
    first, last = 1, #sets
  elseif mode == 'f' then
    redis.call('DEL', KEYS[1])
  end
end
-- unpack in slices: Lua's stack holds about 8000 values (slices of pairs, so even sizes).
if lastDel > lastSet then
  for i = lastSet + 1, lastDel, 7000 do
    redis.call('HDEL', KEYS[1], unpack(ARGV, i, math.min(i + 6999, lastDel)))
  end
end
for i = first, last, 7000 do
  redis.call('HSET', KEYS[1], unpack(sets, i, math.min(i + 6999, last)))
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) elseif ttl < 0 then redis.call('PERSIST', KEYS[1]) end
-- Read after writing: the write ended this client's tracking of the key (client-side caching), the
-- read renews it, so that this node hears of the next write by another node.
redis.call('HLEN', KEYS[1])
return {'OK', new}
