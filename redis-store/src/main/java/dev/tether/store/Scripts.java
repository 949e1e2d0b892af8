package dev.tether.store;

/**
 * The Lua scripts that make every multi-step change to a record atomic. Each one checks the
 * fencing token (owner route + ownership epoch) inside Redis, so a node that lost a session can
 * never change the new owner's record, whatever the network did in between.
 */
final class Scripts {

    private Scripts() {
    }

    /**
     * Write a delta, a full state, or a new record.
     * KEYS: record, tombstone. ARGV: owner, epoch, mode (d|f|c), ttl seconds (0: keep the TTL, -1: none), #sets, #dels, sets as
     * field/value pairs, then fields to delete.
     * Returns OK, FENCED (someone else owns it), GONE (deleted on purpose), or MISSING (the record
     * vanished without a tombstone, e.g. Redis lost its data: resend the full state).
     */
    static final String SAVE = """
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
            """;

    /**
     * Take ownership of an existing record: bump the epoch, name the new owner, tell the other
     * nodes (so the old owner drops its copy now rather than at its next refused write), return
     * {previous owner, HGETALL}. KEYS: record. ARGV: new owner, channel, base id.
     */
    static final String TAKE_OVER = """
            local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
            if not cur[2] then return false end
            local epoch = tonumber(cur[2]) + 1
            redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'epoch', epoch)
            redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. epoch .. ' ' .. ARGV[1])
            return {cur[1], redis.call('HGETALL', KEYS[1])}
            """;

    /**
     * Delete a record if the caller still owns it, leaving a tombstone so that a late write from a
     * node that missed the news cannot resurrect it. KEYS: record, tombstone. ARGV: owner, epoch,
     * tombstone ttl seconds, channel, base id. Returns OK or FENCED.
     */
    static final String DELETE = """
            local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
            if cur[2] and (cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2]) then return 'FENCED' end
            redis.call('DEL', KEYS[1])
            redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
            redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' gone ' .. ARGV[1])
            return 'OK'
            """;
}
