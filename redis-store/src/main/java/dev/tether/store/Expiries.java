package dev.tether.store;

import dev.tether.store.record.RecordFormat;
import dev.tether.store.record.RecordFormat.Reply;
import dev.tether.store.record.Script;
import dev.tether.store.redis.Failure;
import dev.tether.store.redis.RedisConnection;
import dev.tether.store.redis.ScriptRunner;
import dev.tether.store.write.PendingWrites;
import dev.tether.store.write.WritePlanner;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Expiry across the cluster: a session expires once, on one node, and never while another node
 * serves it. A node claims an expiry in Redis before it fires the destruction events (the claim
 * takes the record's contents and deletes it in one step), and sweeps an index of expiry times for
 * the sessions no node holds any more (their node crashed or stopped for good). Redis' TTL stays
 * the backstop.
 */
final class Expiries {

    private static final Logger LOG = Core.LOG;
    /** Buckets of the expiry index; each is one sorted set, in its own Redis Cluster slot. */
    static final int EXPIRY_BUCKETS = 16;
    /** Most claims (one script each) one sweep runs, so that a sweep never loads Redis for long. */
    private static final int SWEEP_LIMIT = 500;
    /** Index entries read per page, and most pages one sweep reads. */
    private static final int SWEEP_PAGE = 100;
    private static final int SWEEP_PAGES = 50;

    private final Core core;
    private final SessionStoreOptions options;
    private final String route;
    private final RecordFormat format;
    private final RedisConnection redis;
    private final ScriptRunner scripts;
    private final StoreStats stats;
    private final Map<String, TrackedSession> owned;
    private final WritePlanner planner;
    private final Reads reads;
    private final Writes writes;
    /** The bucket the next sweep starts with. */
    private int nextBucket;

    Expiries(Core core, Reads reads, Writes writes) {
        this.core = core;
        this.options = core.options;
        this.route = core.route;
        this.format = core.format;
        this.redis = core.redis;
        this.scripts = core.scripts;
        this.stats = core.stats;
        this.owned = core.owned;
        this.planner = core.planner;
        this.reads = reads;
        this.writes = writes;
    }

    /**
     * Before a node fires a session's destruction events because its copy sat idle: claims the
     * expiry in Redis, so that it happens once in the cluster and never to a session that another
     * node still serves.
     */
    RedisSessionStore.Expiry expire(TrackedSession s) {
        if (s.dropped) {
            return RedisSessionStore.Expiry.GONE;
        }
        if (!s.persisted && !s.maybeStored) {
            return expiredUnstored(s); // never stored: nobody else can hold it
        }
        if (!redis.isUp()) {
            // Another node may be serving it: neither events nor a delete until Redis can say.
            return RedisSessionStore.Expiry.UNKNOWN;
        }
        Object reply;
        try {
            reply = core.await(scripts.run(Script.EXPIRE, ScriptOutputType.MULTI, format.recordAndTombstone(s.baseId),
                    format.expireArgs(System.currentTimeMillis(), planner.touchMillis(), options.shared() ? "" : route,
                            core.tombstoneSeconds(s))), null);
        } catch (RuntimeException e) {
            core.failed(e);
            reply = null;
        }
        if (reply == null) {
            return RedisSessionStore.Expiry.UNKNOWN;
        }
        Reply r = Reply.of(reply);
        if (r.kind() == Reply.Kind.GONE && !s.persisted && r.version() == 0) {
            return expiredUnstored(s); // its create never ran (no record, no tombstone)
        }
        if (r.kind() == Reply.Kind.ALIVE && s.inUse()) {
            return RedisSessionStore.Expiry.ALIVE; // a request came back to this copy (within the slack): it stays
        }
        if (r.kind() == Reply.Kind.ALIVE && s.holdsUnsent && !writes.flushUnsent(s) && !s.dropped) {
            // Changes acknowledged while Redis was away, not replayed yet: dropped with the copy,
            // they would be lost unseen. Written first (merged with what the other node made);
            // if Redis does not take them now, the copy stays for the replay.
            return RedisSessionStore.Expiry.ALIVE;
        }
        owned.remove(s.baseId, s);
        s.dropped = true;
        if (r.kind() != Reply.Kind.ALIVE) {
            // Alive, it stays in the index: if no node holds it when it expires, the sweep must find it.
            unindexExpiry(s.baseId);
        }
        return switch (r.kind()) {
            case EXPIRED -> {
                core.users.unindex(s.saved.user(), s.baseId);
                stats.expired.increment();
                yield RedisSessionStore.Expiry.EXPIRED;
            }
            case ALIVE -> RedisSessionStore.Expiry.ALIVE;
            default -> RedisSessionStore.Expiry.GONE;
        };
    }

    /** A session Redis never held expires here, with its events; a create queued in an outage must not follow. */
    private RedisSessionStore.Expiry expiredUnstored(TrackedSession s) {
        owned.remove(s.baseId, s);
        core.pending.cancel(s.baseId, s);
        s.dropped = true;
        stats.expired.increment();
        return RedisSessionStore.Expiry.EXPIRED;
    }

    /**
     * Finds sessions that expired while no node held them (their node crashed or stopped for good)
     * and claims each one, so that exactly one node fires its destruction events. Bounded: at most
     * {@value #SWEEP_LIMIT} claims (one script each) and {@value #SWEEP_PAGES} pages of the index
     * per call, starting where the last call stopped, so that no bucket starves the others.
     * Entries it passes over cannot stall it: a session found alive is moved in the index to its
     * real expiry time, one held here is paged past, a member that is no session id is removed.
     *
     * @param before only sessions whose expiry time is before this (epoch ms)
     * @return the claimed sessions, their attributes decoded with {@code loader}
     */
    List<SessionRecord> claimExpired(long before, ClassLoader loader) {
        List<SessionRecord> out = new ArrayList<>();
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp()) {
            return out;
        }
        long slack = planner.touchMillis();
        Range<Double> due = Range.create(0.0, (double) (before - slack));
        int scripts = SWEEP_LIMIT;
        int pages = SWEEP_PAGES;
        for (int n = 0; n < EXPIRY_BUCKETS && scripts > 0 && pages > 0; n++) {
            int b = Math.floorMod(nextBucket++, EXPIRY_BUCKETS);
            byte[] bucket = format.expiryKey(b);
            int offset = 0; // entries left in place before this page
            while (scripts > 0 && pages-- > 0) {
                List<byte[]> page = core.await(cmd.zrangebyscore(bucket, due, Limit.create(offset, SWEEP_PAGE)), List.of());
                for (byte[] member : page) {
                    String baseId = RecordFormat.string(member);
                    if (SessionId.parse(baseId) == null) {
                        cmd.zrem(bucket, member); // not a session id: never one of ours
                        continue;
                    }
                    if (owned.containsKey(baseId) || scripts <= 0) {
                        offset++; // held here: its own expiry handles it
                        continue;
                    }
                    scripts--;
                    Object reply = core.await(this.scripts.run(Script.EXPIRE, ScriptOutputType.MULTI, format.recordAndTombstone(baseId),
                            format.expireArgs(System.currentTimeMillis(), slack, "", 60)), null);
                    if (reply == null) {
                        offset++; // try again next sweep
                        continue;
                    }
                    Reply r = Reply.of(reply);
                    if (r.kind() == Reply.Kind.ALIVE) {
                        // Used since: moved to its real expiry time (no node may touch it again). Sent
                        // before the next page is read, so it has left the due range by then, unless
                        // that time is due too.
                        long moved = reindex(cmd, bucket, member, r);
                        if (moved < 0 || moved <= before - slack) {
                            offset++;
                        }
                        continue;
                    }
                    cmd.zrem(bucket, member);
                    if (r.kind() == Reply.Kind.EXPIRED) {
                        SessionRecord claimed = claimed(baseId, r, loader);
                        if (claimed != null) {
                            out.add(claimed);
                        }
                    }
                }
                if (page.size() < SWEEP_PAGE) {
                    break;
                }
            }
        }
        return out;
    }

    /** A claimed record, decoded; {@code null} when it is damaged or forged (deleted, but no application code runs for it). */
    private SessionRecord claimed(String baseId, Reply r, ClassLoader loader) {
        @SuppressWarnings("unchecked")
        List<Object> fields = (List<Object>) r.rest().get(0);
        RecordFormat.StoredRecord stored;
        try {
            stored = RecordFormat.parse("", fields, System.currentTimeMillis());
        } catch (RecordFormat.DamagedRecordException e) {
            core.damaged(baseId, e);
            return null;
        }
        core.users.unindex(stored.user(), baseId);
        if (!core.authentic(baseId, stored)) {
            return null;
        }
        TrackedSession s = new TrackedSession(baseId);
        s.dropped = true;
        Map<String, Object> attributes = new HashMap<>();
        stored.attributes().forEach((name, bytes) -> {
            Object value = reads.decode(baseId, name, bytes, loader, s);
            if (value != null) {
                attributes.put(name, value);
            }
        });
        stats.expired.increment();
        return new SessionRecord(s, stored.created(), stored.lastAccessed(), stored.maxInactive(), stored.lastSaved(),
                stored.previousOwner(), attributes, stored.notes(), stored.extras());
    }

    /**
     * Moves an entry found alive to the expiry time its record names now, only if it is still
     * there; returns that time, or -1 when it is left as it is (asked again next sweep).
     */
    private static long reindex(RedisClusterAsyncCommands<byte[], byte[]> cmd, byte[] bucket, byte[] member, Reply r) {
        try {
            long accessed = Long.parseLong(RecordFormat.string((byte[]) r.rest().get(0)));
            int maxInactive = r.rest().size() > 1 ? Integer.parseInt(RecordFormat.string((byte[]) r.rest().get(1))) : -1;
            long expiry = maxInactive <= 0 ? RecordFormat.NEVER : accessed + maxInactive * 1000L;
            cmd.zadd(bucket, io.lettuce.core.ZAddArgs.Builder.xx(), (double) expiry, member);
            return expiry;
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "Tether: expiry index", e);
            return -1;
        }
    }

    /** Puts a session's expiry time in the index; not awaited, and a failure is only logged once. */
    void indexExpiry(String baseId, long accessed, int maxInactive) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null) {
            return;
        }
        // A session that never expires is indexed too (at the end of time): the index counts them all.
        long expiry = maxInactive <= 0 ? RecordFormat.NEVER : accessed + maxInactive * 1000L;
        try {
            cmd.zadd(format.expiryKey(bucket(baseId)), (double) expiry, RecordFormat.bytes(baseId))
                    .whenComplete((n, e) -> {
                        if (e != null && core.once("index:" + Failure.of(e))) {
                            LOG.warning("Tether: cannot update the expiry index (" + RedisConnection.describe(e)
                                    + "); sessions of a node that stops for good may expire without sessionDestroyed (logged once)");
                        }
                    });
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "Tether: expiry index", e);
        }
    }

    void unindexExpiry(String baseId) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd != null) {
            try {
                cmd.zrem(format.expiryKey(bucket(baseId)), RecordFormat.bytes(baseId));
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "Tether: expiry index", e);
            }
        }
    }

    static int bucket(String baseId) {
        return Math.floorMod(baseId.hashCode(), EXPIRY_BUCKETS);
    }
}
