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
    private final Map<String, LongAdder> takenOverFrom = new ConcurrentHashMap<>();

    void takenOver(String previousOwner) {
        takenOverFrom.computeIfAbsent(previousOwner, k -> new LongAdder()).increment();
    }

    void writeNanos(long nanos) {
        writeNanos.add(nanos);
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
    /** Mean time from dispatch to Redis' answer of the writes so far, in microseconds. */
    public double meanWriteMicros() {
        long n = writes.sum();
        return n == 0 ? 0 : writeNanos.sum() / 1000.0 / n;
    }
}
