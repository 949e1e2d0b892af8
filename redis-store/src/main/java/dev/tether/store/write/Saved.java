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
    private volatile Map<String, String> extras = Map.of();
    /** The user the record names ({@code null}: nobody logged in). */
    private volatile String user;
    /** Until when (epoch ms) the per-user index holds this session; 0: it must be indexed again. */
    private volatile long indexedUntil;
    /** The notes must be written again whether or not they changed (a write was not stored). */
    private volatile boolean resend;
    /** The user likewise (a login or logout in a write that was not stored). */
    private volatile boolean resendUser;

    /** After a load: the record as read is what this node has written. */
    public void loaded(Map<String, Long> attributeHashes, long lastAccessed, int maxInactiveSeconds, Map<String, String> notes,
            Map<String, String> extras, String user, long now) {
        hashes.clear();
        hashes.putAll(attributeHashes);
        accessed = lastAccessed;
        writeMillis = now;
        expireMillis = 0;
        maxInactive = maxInactiveSeconds;
        this.notes = Map.copyOf(notes);
        this.extras = Map.copyOf(extras);
        this.user = user;
        indexedUntil = 0;
        resend = false;
        resendUser = false;
    }

    /**
     * A write that was not stored but is kept for later (Redis unreachable): what it carried must go
     * again, its attributes whatever their hash says (they are named again in {@link Changes#requeue}).
     */
    public void unsent(java.util.Collection<String> attributes) {
        hashes.keySet().removeAll(attributes);
        resend = true;
        resendUser = true;
        maxInactive = Integer.MIN_VALUE;
        extras = Map.of();
        indexedUntil = 0;
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
        resend = false;
        resendUser = false;
        user = plan.user();
        if (plan.indexUntil() != 0) {
            indexedUntil = plan.indexUntil();
        }
        if (!extras.equals(plan.extras())) {
            extras = Map.copyOf(plan.extras());
        }
    }

    public boolean notesChanged(Map<String, String> current) {
        return resend || !notes.equals(current);
    }

    public boolean userChanged(String current) {
        return resendUser || !java.util.Objects.equals(user, current);
    }

    /**
     * The notes as they are count as written: another node's change of one of them stands, and the
     * next write must not carry them again (it would be refused again).
     */
    public void notesWritten(Map<String, String> current) {
        notes = Map.copyOf(current);
        resend = false;
    }

    public String user() {
        return user;
    }

    long indexedUntil() {
        return indexedUntil;
    }

    boolean extrasChanged(Map<String, String> current) {
        return !extras.equals(current);
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
