package dev.tether.store;

import dev.tether.store.codec.AttributeCodec;
import dev.tether.store.codec.RecordSigner;
import dev.tether.store.record.RecordFormat;
import dev.tether.store.redis.Failure;
import dev.tether.store.redis.RedisConnection;
import dev.tether.store.redis.ScriptRunner;
import dev.tether.store.write.PendingWrites;
import dev.tether.store.write.WritePlanner;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What the parts of one store share: the settings, the record format, the planner, the connection,
 * the sessions this node holds and what waits for Redis; and the few things every part does: count
 * and log a failed command once per kind, drop a copy, wait for one command.
 */
final class Core {

    /** Test hook, see {@link RedisSessionStore#onReadSent}. */
    volatile java.util.function.Consumer<java.util.concurrent.CompletableFuture<?>> readSent;
    /** Test hook, see {@link RedisSessionStore#onRecovery}. */
    volatile Runnable recovering;

    static final Logger LOG = Logger.getLogger("dev.tether.store");

    final SessionStoreOptions options;
    final String route;
    /** This store's identity in field stamps: the route and a per-start random part. */
    final byte[] node;
    final RecordFormat format;
    final AttributeCodec codec;
    final WritePlanner planner;
    /** Signs and verifies records; {@code null} when they are not signed. */
    final RecordSigner signer;
    final RedisConnection redis;
    final ScriptRunner scripts;
    final StoreStats stats;
    final Users users;
    final Census census;
    /** Every session this node holds, by base id. */
    final Map<String, TrackedSession> owned = new ConcurrentHashMap<>();
    final PendingWrites<TrackedSession> pending;
    /** One log line per kind of problem, not one per request. */
    private final LogOnce reported = new LogOnce(System::currentTimeMillis);
    private final LongAdder dropped = new LongAdder();
    private final AtomicLong lastDropSummary = new AtomicLong();

    Core(SessionStoreOptions options, String route, RedisConnection.Listener listener, RedisSessionStore store) {
        this.options = options;
        this.route = route == null || route.isEmpty() ? "" : route;
        this.node = RecordFormat.bytes((this.route.isEmpty() ? "node" : this.route) + "/"
                + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36));
        this.format = new RecordFormat(options.keyPrefix());
        this.codec = new AttributeCodec(options);
        this.signer = RecordSigner.of(options.signingKeys());
        this.planner = new WritePlanner(options.saveMode(), options.touchInterval().toMillis(), codec, format, signer);
        this.pending = new PendingWrites<>(options.maxPendingSessions());
        this.stats = new StoreStats(store::isRedisAvailable, store::pendingWrites);
        this.redis = new RedisConnection(options, listener);
        this.scripts = new ScriptRunner(redis);
        this.users = new Users(this);
        this.census = new Census(this);
    }

    /**
     * Whether every data field of a record carries a valid signature (always, when records are not
     * signed). A record that fails is treated as missing: someone wrote it without the key.
     */
    boolean authentic(String baseId, RecordFormat.StoredRecord r) {
        if (signer == null) {
            return true;
        }
        boolean ok = true;
        for (Map.Entry<String, byte[]> a : r.attributes().entrySet()) {
            String f = RecordFormat.ATTRIBUTE_PREFIX + a.getKey();
            ok &= signer.verify(baseId, f, a.getValue(), r.signatures().get(f));
        }
        for (Map.Entry<String, String> n : r.notes().entrySet()) {
            String f = RecordFormat.NOTE_PREFIX + n.getKey();
            ok &= signer.verify(baseId, f, RecordFormat.bytes(n.getValue()), r.signatures().get(f));
        }
        if (!ok) {
            stats.forged.increment();
            if (once("forged")) {
                LOG.warning("Tether: the record of session " + SessionId.redact(baseId) + " carries a field without a valid"
                        + " signature (signingKeys): it was written without the key, and is treated as missing. Check who can write"
                        + " to Redis (logged once; counted as RecordsRefused)");
            }
        }
        return ok;
    }

    /**
     * Invalidations this node made lately, newest last: sent again after an outage, in case Redis
     * came back from a snapshot taken before them (the record would be back, and with it the login).
     */
    private final Map<String, Long> invalidatedLately = new java.util.LinkedHashMap<>();
    private static final int INVALIDATIONS_KEPT = 10_000;
    /** How far back a restart from a snapshot is assumed to reach. */
    static final long INVALIDATIONS_KEPT_MILLIS = 3_600_000;

    void invalidated(String baseId) {
        synchronized (invalidatedLately) {
            invalidatedLately.putIfAbsent(baseId, System.currentTimeMillis()); // made again after an outage: still as old
            if (invalidatedLately.size() > INVALIDATIONS_KEPT) {
                invalidatedLately.remove(invalidatedLately.keySet().iterator().next());
            }
        }
    }

    /** Whether this node invalidated the session within the last hour (a record of it in Redis is an older state). */
    boolean invalidatedLately(String baseId) {
        synchronized (invalidatedLately) {
            Long at = invalidatedLately.get(baseId);
            return at != null && at >= System.currentTimeMillis() - INVALIDATIONS_KEPT_MILLIS;
        }
    }

    /** The invalidations of the last hour, oldest first. */
    java.util.List<String> invalidatedLately() {
        long since = System.currentTimeMillis() - INVALIDATIONS_KEPT_MILLIS;
        synchronized (invalidatedLately) {
            invalidatedLately.values().removeIf(t -> t < since);
            return java.util.List.copyOf(invalidatedLately.keySet());
        }
    }

    /** A record whose metadata Tether did not write: treated as missing, left in Redis, logged once. */
    void damaged(String baseId, RecordFormat.DamagedRecordException e) {
        stats.forged.increment();
        if (once("damaged")) {
            LOG.warning("Tether: the record of session " + SessionId.redact(baseId) + " is damaged (" + e.getMessage()
                    + "): it is treated as missing and left in Redis for inspection. Check who writes to Redis"
                    + " (logged once; counted as RecordsRefused)");
        }
    }

    /** Whether this occurrence of a kind of problem gets its log line (the first, then at most once an hour). */
    boolean once(String kind) {
        return reported.report(kind);
    }

    /** Forgets a kind of problem, so that its next occurrence is logged again. */
    void reset(String kind) {
        reported.reset(kind);
    }

    /** Waits for one command within the command timeout; on failure reports it and answers {@code fallback}. */
    <T> T await(Future<T> reply, T fallback) {
        try {
            return reply.get(options.commandTimeout().toMillis() + 250, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fallback;
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            failed(e);
            return fallback;
        }
    }

    /**
     * Classifies a failed command, counts it, and logs it once per kind. Only a lost connection
     * makes Redis count as unreachable.
     */
    Failure failed(Throwable error) {
        return failed(error, Failure.of(error));
    }

    Failure failed(Throwable error, Failure f) {
        stats.redisErrors.increment();
        if (f.isOutage()) {
            redis.reportFailure(ScriptRunner.unwrap(error));
            return f;
        }
        if (f == Failure.READ_ONLY || f == Failure.CLUSTER_DOWN || f == Failure.REDIRECTED) {
            redis.later(redis::refreshTopology, 0);
        }
        if (once("err:" + f)) {
            LOG.warning("Tether: " + f.description() + " (" + RedisConnection.describe(ScriptRunner.unwrap(error))
                    + "); the session writes it hits are refused with 503 and Retry-After, nothing is queued (logged once per kind)");
        }
        return f;
    }

    RedisSessionStore.UnavailableException unavailable(RuntimeException e) {
        return new RedisSessionStore.UnavailableException(failed(e), e);
    }

    /** The core found this node's copy gone: it goes, without destruction events. */
    void drop(TrackedSession s, String why) {
        s.dropped = true;
        owned.remove(s.baseId, s);
        pending.cancel(s.baseId, s);
        if (LOG.isLoggable(Level.FINE)) {
            LOG.fine("Tether: session " + SessionId.redact(s.baseId) + " " + why + "; dropping this node's copy");
        }
        dropped.increment();
        long now = System.currentTimeMillis();
        long last = lastDropSummary.get();
        if (now - last >= 60_000 && lastDropSummary.compareAndSet(last, now)) {
            // One line a minute at most, however many sessions went.
            LOG.info("Tether: " + dropped.sumThenReset() + " session(s) were invalidated or expired on other nodes"
                    + " (e.g. " + SessionId.redact(s.baseId) + " " + why + "); this node dropped its copies");
        }
        ContainerSession c = s.container;
        if (c != null) {
            c.drop();
        }
    }

    long tombstoneSeconds(TrackedSession s) {
        ContainerSession c = s.container;
        int maxInactive = c == null ? 1800 : c.snapshot().maxInactiveSeconds();
        return Math.max(60, planner.ttlSeconds(maxInactive <= 0 ? 86_400 : maxInactive));
    }
}
