-- Invalidate a session: delete its record and leave a tombstone, so that no late write from any
-- node can bring it back. Final on every node, whoever calls it.
-- KEYS: record, tombstone. ARGV: tombstone ttl seconds, why ('invalidated').
-- Reply: the user the record named ('' when none, or no record): its index drops the session.
local user = redis.call('HGET', KEYS[1], 'user')
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[1])
return user or ''
