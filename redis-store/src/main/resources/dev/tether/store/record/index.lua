-- Put one session into its user's index: a sorted set of base ids, each scored with the time (ms)
-- until which the index keeps it. Members whose time has passed go; the set expires with its last.
-- KEYS: the user's index. ARGV: base id, until (ms), now (ms).
-- Reply: how many sessions the index holds for the user.
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return redis.call('ZCARD', KEYS[1])
