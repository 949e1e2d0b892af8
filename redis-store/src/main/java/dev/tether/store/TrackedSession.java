package dev.tether.store;

import dev.tether.store.write.Changes;
import dev.tether.store.write.Saved;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the core keeps about one session this node holds: its record's identity and the version
 * this node's copy reflects, whether that copy is still current, what changed since the last write
 * ({@link Changes}) and what was written ({@link Saved}). Adapters report attribute activity here;
 * {@link RedisSessionStore#commit} turns it into one write.
 */
public final class TrackedSession {

    volatile String baseId;
    volatile ContainerSession container;

    final Changes changes = new Changes();
    /** Guarded by {@code this}. */
    final Saved saved = new Saved();
    final AtomicInteger activeRequests = new AtomicInteger();
    /**
     * One write of this session at a time: the next waits until Redis has answered the last, so
     * that no retry (a NOSCRIPT fallback, a cluster redirect) can ever reorder two of its writes.
     */
    final Semaphore writing = new Semaphore(1);

    /** The record version this node last read or wrote (0: never written). */
    volatile long version;
    /**
     * The record version this copy's contents reflect, which its writes name as their base: behind
     * {@link #version} after a merged write (the record holds another node's change this copy
     * lacks), so that a later write of an attribute that node changed is refused, not made on top.
     */
    volatile long baseVersion;
    /** The tracking epoch under which this copy was last read or written; -1: not covered. */
    volatile long trackedEpoch = -1;
    /** Another node changed the record since this copy was read or written. */
    volatile boolean invalidated;
    /**
     * Invalidation messages Redis sent about this record, counted as they are read. A copy is
     * current only if none came since its read was sent ({@link #heardAtRead}): the read's reply
     * may be handled on the request thread after a later message was, and marking the copy current
     * then would undo that message.
     */
    final java.util.concurrent.atomic.AtomicLong heard = new java.util.concurrent.atomic.AtomicLong();
    /** {@link #heard} as it stood when the read this copy reflects was sent. */
    volatile long heardAtRead;
    /** Whether the record exists in Redis (written at least once, or loaded from there). */
    volatile boolean persisted;
    /** A create was sent and its reply never came (a timeout, a lost connection): the record may be in Redis. */
    volatile boolean maybeStored;
    /** The next write must carry the full state (Redis lost the record, or holds an older one). */
    volatile boolean needsFull;
    /** This node dropped the session: invalidated or expired elsewhere, or left on purpose. */
    volatile boolean dropped;
    /** The copy holds changes acknowledged as queued (Redis was away) that no write has stored yet. */
    volatile boolean holdsUnsent;
    /** The attributes among those changes. Guarded by {@code this}. */
    final java.util.Set<String> unsentNames = new java.util.HashSet<>();
    /** Those of them a request changed again since (set, removed, or read mutable). Guarded by {@code this}. */
    final java.util.Set<String> changedSinceQueued = new java.util.HashSet<>();
    /** What the last write came to: a commit that found its changes already sent reports this. */
    volatile WriteOutcome lastOutcome = WriteOutcome.UNCHANGED;
    /**
     * A write refused while other requests were using the copy: it carried their changes too, so
     * none of them may be acknowledged. Cleared when the last of them ends.
     */
    volatile WriteOutcome carriedRefusal;
    /** The id change of this session in progress, if any: the next one waits for it. */
    java.util.concurrent.CompletableFuture<WriteOutcome> idChange;

    TrackedSession(String baseId) {
        this.baseId = baseId;
    }

    public String baseId() {
        return baseId;
    }

    /** The record version this node's copy reflects. */
    public long version() {
        return version;
    }

    /** Whether this node dropped its copy (invalidated or expired elsewhere, or left on purpose). */
    public boolean isDropped() {
        return dropped;
    }

    /** The container's session bound to this one. */
    public ContainerSession container() {
        return container;
    }

    public void bind(ContainerSession session) {
        this.container = session;
    }

    public void attributeSet(String name) {
        changes.attributeSet(name);
        if (holdsUnsent) {
            changedAgain(name);
        }
    }

    /** A read of a mutable value: it may be changed in place, so it is re-checked at commit. */
    public void attributeRead(String name, Object value) {
        changes.attributeRead(name, value);
        if (holdsUnsent && !dev.tether.store.codec.AttributeCodec.isImmutable(value)) {
            changedAgain(name);
        }
    }

    public void attributeRemoved(String name) {
        changes.attributeRemoved(name);
        if (holdsUnsent) {
            changedAgain(name);
        }
    }

    /** A request changes again an attribute whose queued change is not stored yet: refused with it, it is that request's too. */
    private synchronized void changedAgain(String name) {
        if (unsentNames.contains(name)) {
            changedSinceQueued.add(name);
        }
    }

    /** A request using this session began; pair with {@link RedisSessionStore#commit}. */
    public void requestStarted() {
        activeRequests.incrementAndGet();
    }

    /** Whether a request is using this session now. */
    public boolean inUse() {
        return activeRequests.get() > 0;
    }

    /** A request ended; returns whether no other request is using the session now. */
    boolean requestEnded() {
        boolean last = activeRequests.get() <= 0 || activeRequests.decrementAndGet() <= 0;
        if (activeRequests.get() < 0) {
            activeRequests.set(0);
        }
        return last;
    }
}
