package dev.tether.store.write;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * What this node last wrote of one session: a hash of each attribute's bytes, the times, and the
 * container notes. The planner compares against it so that only what changed is sent; the store
 * updates it from each plan. Guarded by the owning session's lock, except for the volatile times
 * read by the lock-free "nothing to write" check.
 */
public final class Saved {

    final Map<String, Long> hashes = new HashMap<>();
    volatile long accessed;
    volatile long writeMillis;
    /** When a write last set the record's TTL; a delta leaves it alone for up to one touch interval. */
    volatile long expireMillis;
    volatile int maxInactive = Integer.MIN_VALUE;
    private volatile Map<String, String> notes = Map.of();

    /** After a load: the record as read is what this node has written. */
    public void loaded(Map<String, Long> attributeHashes, long lastAccessed, int maxInactiveSeconds, long now) {
        hashes.putAll(attributeHashes);
        accessed = lastAccessed;
        writeMillis = now;
        maxInactive = maxInactiveSeconds;
    }

    /** Applies a plan: from now on its state is what this node has written. */
    public void apply(WritePlan plan) {
        if (plan.full()) {
            hashes.clear();
        }
        for (String name : plan.hashesRemoved()) {
            hashes.remove(name);
        }
        hashes.putAll(plan.hashesSet());
        accessed = plan.accessed();
        writeMillis = plan.now();
        maxInactive = plan.maxInactive();
        if (plan.ttlSeconds() != 0) {
            expireMillis = plan.now();
        }
        if (!notes.equals(plan.notes())) {
            notes = Map.copyOf(plan.notes());
        }
    }

    public boolean notesChanged(Map<String, String> current) {
        return !notes.equals(current);
    }

    Set<String> removedNotes(Map<String, String> current) {
        Set<String> gone = new java.util.HashSet<>(notes.keySet());
        gone.removeAll(current.keySet());
        return gone;
    }

    Long hash(String name) {
        return hashes.get(name);
    }

    public long accessed() {
        return accessed;
    }

    public long writeMillis() {
        return writeMillis;
    }

    public int maxInactive() {
        return maxInactive;
    }

    /** A copy of the hashes, for tests of the planner. */
    Map<String, Long> hashesCopy() {
        return new HashMap<>(hashes);
    }
}
