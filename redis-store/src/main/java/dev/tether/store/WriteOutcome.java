package dev.tether.store;

/** What became of a session write; {@link #stored()} says whether a request may be acknowledged. */
public enum WriteOutcome {
    /** Nothing had changed; no command was sent. */
    UNCHANGED(true),
    /** Redis applied the write. */
    SAVED(true),
    /** Redis applied the write beside another node's concurrent change of other attributes. */
    MERGED(true),
    /** Redis is unreachable; the change is kept in memory and written when Redis returns. */
    QUEUED(true),
    /**
     * {@code asyncWrites}: the write is on its way and the request is acknowledged without waiting
     * for Redis; lost if this node dies first, or if Redis refuses it (then counted and logged).
     */
    SENT(true),
    /** Another node changed the same attribute meanwhile: this change was not written. */
    CONFLICT(false),
    /** The session was invalidated (or expired) meanwhile: this change was not written. */
    GONE(false),
    /** Redis refused or did not answer the write (see the log): this change was not written. */
    FAILED(false),
    /** This node had dropped its copy before the write: nothing was written. */
    DROPPED(false);

    private final boolean stored;

    WriteOutcome(boolean stored) {
        this.stored = stored;
    }

    /** Whether the change is in Redis, or kept for it: the request may be acknowledged. */
    public boolean stored() {
        return stored;
    }
}
