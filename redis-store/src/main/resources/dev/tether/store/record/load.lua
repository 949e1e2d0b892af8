-- Read a session for this node; in sticky mode also name this node its owner (a write, so every
-- other node holding a copy is told to drop it).
-- KEYS: record. ARGV: owner to set ('' to leave the owner as it is).
-- Reply: {previous owner or '', HGETALL} or false when there is no record.
local prev = redis.call('HGET', KEYS[1], 'owner')
if not prev then
  if redis.call('EXISTS', KEYS[1]) == 0 then return false end
  prev = ''
end
if ARGV[1] ~= '' and prev ~= ARGV[1] then redis.call('HSET', KEYS[1], 'owner', ARGV[1]) end
return {prev, redis.call('HGETALL', KEYS[1])}
