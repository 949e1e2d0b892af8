package dev.tether.store;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Counters of one store, read by the adapters' management beans and by tests. */
public final class StoreStats {
    final LongAdder created = new LongAdder();
    final LongAdder loaded = new LongAdder();
    final LongAdder missed = new LongAdder();
    final LongAdder writes = new LongAdder();
    final LongAdder deletes = new LongAdder();
    final LongAdder fenced = new LongAdder();
    final LongAdder redisErrors = new LongAdder();
    final LongAdder unavailable = new LongAdder();
    final LongAdder queued = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder notSerializable = new LongAdder();
    final LongAdder tooLarge = new LongAdder();
    final LongAdder writeNanos = new LongAdder();
    final LongAdder replicaShortfalls = new LongAdder();
    /** Write latency in log-scale buckets: bucket i holds times below 2^(i/4) microseconds. */
    private final java.util.concurrent.atomic.AtomicLongArray latency = new java.util.concurrent.atomic.AtomicLongArray(128);
    private final Map<String, LongAdder> takenOverFrom = new ConcurrentHashMap<>();

    void takenOver(String previousOwner) {
        takenOverFrom.computeIfAbsent(previousOwner, k -> new LongAdder()).increment();
    }

    void writeNanos(long nanos) {
        writeNanos.add(nanos);
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

    public long sessionsCreated() { return created.sum(); }
    /** Sessions loaded from Redis that this node had owned before (for example after its restart). */
    public long sessionsLoaded() { return loaded.sum(); }
    /** Ids looked up in Redis and not found. */
    public long sessionsNotFound() { return missed.sum(); }
    /** Sessions taken over from another route, by that route. */
    public Map<String, Long> sessionsTakenOver() {
        Map<String, Long> out = new java.util.TreeMap<>();
        takenOverFrom.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
    /** Sessions taken over from other routes, in total. */
    public long sessionsTakenOverTotal() {
        long n = 0;
        for (LongAdder a : takenOverFrom.values()) {
            n += a.sum();
        }
        return n;
    }
    /** {@link #sessionsTakenOver()} as {@code route=count,...}, for JMX. */
    public String sessionsTakenOverByRoute() {
        return sessionsTakenOver().toString().replaceAll("[{} ]", "");
    }
    public long writes() { return writes.sum(); }
    public long deletes() { return deletes.sum(); }
    /** Writes and deletes refused because another node owns the session. */
    public long writesFenced() { return fenced.sum(); }
    public long redisErrors() { return redisErrors.sum(); }
    /** Writes queued while Redis was unreachable. */
    public long writesQueued() { return queued.sum(); }
    /** Attributes dropped on read: refused by the class filter, unknown class, or corrupt bytes. */
    public long attributesRejected() { return rejected.sum(); }
    public long attributesNotSerializable() { return notSerializable.sum(); }
    public long attributesTooLarge() { return tooLarge.sum(); }
    /** Writes that fewer than waitReplicas replicas acknowledged in time. */
    public long replicaShortfalls() { return replicaShortfalls.sum(); }
    /** Mean time from dispatch to Redis' answer of the writes so far, in microseconds. */
    public double meanWriteMicros() {
        long n = writes.sum();
        return n == 0 ? 0 : writeNanos.sum() / 1000.0 / n;
    }
}
