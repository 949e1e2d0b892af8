package dev.tether.store;

/** What became of a write to Redis. */
public enum WriteOutcome {
    /** Nothing had changed; no command was sent. */
    UNCHANGED,
    /** Redis applied the write. */
    SAVED,
    /** Redis is unreachable; the session's latest state will be written when it returns. */
    QUEUED,
    /** Another node owns the session now; this node's copy was dropped. */
    FENCED,
    /** The session was invalidated elsewhere; this node's copy was dropped. */
    GONE,
    /** The write was not attempted because this node had already lost the session. */
    LOST
}
