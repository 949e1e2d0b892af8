package dev.tether.store;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/** Counters of one store; the adapters register this object as its JMX bean. */
public final class StoreStats implements StoreStatsMBean {
    final LongAdder created = new LongAdder();
    final LongAdder loaded = new LongAdder();
    final LongAdder missed = new LongAdder();
    final LongAdder writes = new LongAdder();
    final LongAdder deletes = new LongAdder();
    final LongAdder conflicts = new LongAdder();
    final LongAdder merged = new LongAdder();
    final LongAdder reloaded = new LongAdder();
    final LongAdder restored = new LongAdder();
    final LongAdder notRestored = new LongAdder();
    final LongAdder expired = new LongAdder();
    final LongAdder refusedRequests = new LongAdder();
    final LongAdder acknowledgedUnstored = new LongAdder();
    final LongAdder forged = new LongAdder();
    final LongAdder redisErrors = new LongAdder();
    final LongAdder unreadableRequests = new LongAdder();
    final LongAdder queued = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder notSerializable = new LongAdder();
    final LongAdder tooLarge = new LongAdder();
    final LongAdder replicaShortfalls = new LongAdder();
    /** Write latency in log-scale buckets: bucket i holds times below 2^(i/4) microseconds. */
    private final AtomicLongArray latency = new AtomicLongArray(128);
    private final Map<String, LongAdder> takenOverFrom = new ConcurrentHashMap<>();
    private final BooleanSupplier available;
    private final IntSupplier pending;

    private volatile Census census;
    private volatile Invalidator invalidator;

    /** Ends a user's sessions; the JMX operation's way into the store. */
    interface Invalidator {
        int invalidateSessionsOf(String user) throws RedisSessionStore.UnavailableException;
    }

    StoreStats(BooleanSupplier available, IntSupplier pending) {
        this.available = available;
        this.pending = pending;
    }

    void use(Census census, Invalidator invalidator) {
        this.census = census;
        this.invalidator = invalidator;
    }

    void takenOver(String previousOwner) {
        takenOverFrom.computeIfAbsent(previousOwner, k -> new LongAdder()).increment();
    }

    void writeNanos(long nanos) {
        long micros = Math.max(1, nanos / 1000);
        int bucket = Math.min(127, (int) Math.ceil(4 * Math.log(micros) / Math.log(2)));
        latency.incrementAndGet(Math.max(0, bucket));
    }

    /** The write latency below which {@code fraction} of writes completed, in microseconds (bucket upper bound). */
    public long writeLatencyMicros(double fraction) {
        long total = 0;
        for (int i = 0; i < latency.length(); i++) {
            total += latency.get(i);
        }
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(fraction * total);
        long seen = 0;
        for (int i = 0; i < latency.length(); i++) {
            seen += latency.get(i);
            if (seen >= rank) {
                return (long) Math.ceil(Math.pow(2, i / 4.0));
            }
        }
        return Long.MAX_VALUE;
    }

    /** Sessions taken over from another route, by that route. */
    public Map<String, Long> sessionsTakenOverByRoute() {
        Map<String, Long> out = new TreeMap<>();
        takenOverFrom.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    @Override public boolean isRedisAvailable() { return available.getAsBoolean(); }
    @Override public long getSessionsCreated() { return created.sum(); }
    @Override public long getSessionsLoaded() { return loaded.sum(); }
    @Override public long getSessionsNotFound() { return missed.sum(); }
    @Override public long getSessionsTakenOver() {
        long n = 0;
        for (LongAdder a : takenOverFrom.values()) {
            n += a.sum();
        }
        return n;
    }
    @Override public String getSessionsTakenOverByRoute() { return sessionsTakenOverByRoute().toString().replaceAll("[{} ]", ""); }
    @Override public long getWrites() { return writes.sum(); }
    @Override public long getDeletes() { return deletes.sum(); }
    @Override public long getWriteConflicts() { return conflicts.sum(); }
    @Override public long getWritesMerged() { return merged.sum(); }
    @Override public long getSessionsReloaded() { return reloaded.sum(); }
    @Override public long getSessionsRestored() { return restored.sum(); }
    @Override public long getSessionsNotRestored() { return notRestored.sum(); }
    @Override public long getSessionsExpired() { return expired.sum(); }
    @Override public long getRefusedRequests() { return refusedRequests.sum(); }
    @Override public long getUnreadableRequests() { return unreadableRequests.sum(); }
    @Override public long getAcknowledgedUnstored() { return acknowledgedUnstored.sum(); }
    @Override public long getRecordsRefused() { return forged.sum(); }
    @Override public long getRedisErrors() { return redisErrors.sum(); }
    @Override public long getWritesQueued() { return queued.sum(); }
    @Override public long getWritesPending() { return pending.getAsInt(); }
    @Override public long getAttributesRejected() { return rejected.sum(); }
    @Override public long getAttributesNotSerializable() { return notSerializable.sum(); }
    @Override public long getAttributesTooLarge() { return tooLarge.sum(); }
    @Override public long getReplicaShortfalls() { return replicaShortfalls.sum(); }
    @Override public long getWriteLatencyP50Micros() { return writeLatencyMicros(0.50); }
    @Override public long getWriteLatencyP99Micros() { return writeLatencyMicros(0.99); }

    @Override public long getClusterSessions() {
        Census c = census;
        return c == null ? -1 : c.total();
    }

    @Override public String getClusterSessionsByRoute() {
        Census c = census;
        return c == null ? "" : c.byNode().toString().replaceAll("[{} ]", "");
    }

    @Override public int invalidateSessionsOf(String user) {
        Invalidator i = invalidator;
        try {
            return i == null ? 0 : i.invalidateSessionsOf(user);
        } catch (RedisSessionStore.UnavailableException e) {
            // A JMX client shows the message: say why nothing happened.
            throw new IllegalStateException("Tether: " + e.failure.description() + "; no session was invalidated, retry");
        }
    }
}
