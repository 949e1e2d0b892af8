-- Write one session: a delta, its full state, or a new record.
-- KEYS: record, tombstone.
-- ARGV: node (this writer's identity), base (the record version this node's copy reflects),
--       mode ('d' delta, 'f' full: the record is replaced, 'c' create: the record must not exist),
--       ttl seconds (0 keeps the TTL, -1 removes it), #sets, #dels, then the sets as field/value
--       pairs, then the fields to delete.
-- Data fields ('a:' attributes, 'n:' container notes) are stamped 'm:<field>' = '<version>:<node>'
-- when written or deleted; every other field is metadata, last writer wins.
-- Replies:
--   {'OK', version}               written; the record is now at version
--   {'CONFLICT', version, field}  another node changed that field since base: nothing written
--   {'GONE'}                      invalidated on purpose (tombstone): nothing written
--   {'MISSING'}                   no record and no tombstone (Redis lost it): resend the full state
--   {'STALE', version}            Redis holds an older version than base: resend the full state
local node, mode = ARGV[1], ARGV[3]
local base = tonumber(ARGV[2])
local nset, ndel = tonumber(ARGV[5]), tonumber(ARGV[6])
local lastSet = 6 + 2 * nset
local lastDel = lastSet + ndel
local ver = redis.call('HGET', KEYS[1], 'ver')
local new
if not ver then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'GONE'} end
  if mode == 'd' then return {'MISSING'} end
  new = base + 1
else
  ver = tonumber(ver)
  if mode == 'c' then return {'CONFLICT', ver, ''} end
  if ver == base then
    if mode == 'f' then redis.call('DEL', KEYS[1]) end
    new = ver + 1
  elseif ver < base then
    -- Redis holds an older state than this node wrote (a restart from an old snapshot, a promoted
    -- replica that missed writes): only this node's full state restores it.
    if mode ~= 'f' then return {'STALE', ver} end
    redis.call('DEL', KEYS[1])
    new = base + 1
  else
    -- Another node wrote since base: merge field by field, unless it changed one of ours.
    if mode == 'f' then return {'CONFLICT', ver, ''} end
    for i = 7, lastDel, (1) do
      local f = ARGV[i]
      if i > lastSet or (i - 7) % 2 == 0 then
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
  end
end
local stamp = new .. ':' .. node
local args = {'ver', new}
for i = 7, lastSet, 2 do
  local f = ARGV[i]
  args[#args + 1] = f
  args[#args + 1] = ARGV[i + 1]
  local p = string.sub(f, 1, 2)
  if p == 'a:' or p == 'n:' then
    args[#args + 1] = 'm:' .. f
    args[#args + 1] = stamp
  end
end
if ndel > 0 then
  local gone = {}
  for i = lastSet + 1, lastDel do
    gone[#gone + 1] = ARGV[i]
    args[#args + 1] = 'm:' .. ARGV[i]
    args[#args + 1] = stamp
  end
  for i = 1, #gone, 7000 do
    redis.call('HDEL', KEYS[1], unpack(gone, i, math.min(i + 6999, #gone)))
  end
end
for i = 1, #args, 7000 do
  redis.call('HSET', KEYS[1], unpack(args, i, math.min(i + 6999, #args)))
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) elseif ttl < 0 then redis.call('PERSIST', KEYS[1]) end
-- Read after writing: the write ended this client's tracking of the key (client-side caching), the
-- read renews it, so that this node hears of the next write by another node.
redis.call('HLEN', KEYS[1])
return {'OK', new}
