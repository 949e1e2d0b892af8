package dev.tether.store.write;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One write of one session, decided by {@link WritePlanner}: what to send and what this node will
 * have written once it is applied.
 *
 * @param kind whether anything is sent, and whether the request waits for it
 * @param full the record is replaced rather than patched
 * @param sets field/value pairs, metadata included
 * @param dels fields to delete
 * @param ttlSeconds the record's new TTL; 0 keeps it, -1 removes it
 * @param notes the container notes the record holds after it
 * @param extras the container metadata the record holds after it
 * @param hashesSet attribute hashes written by this plan
 * @param hashesRemoved attributes no longer in the record after it
 * @param problems attributes that could not be written (not serializable, too large)
 * @param user the user the record names after it ({@code null}: nobody logged in)
 * @param indexUntil when not 0, the session goes into {@code user}'s index, until then (epoch ms),
 *     before the record is written: the index never misses a session that names the user
 * @param previousUser the user the record named before it: when that changes, that user's index
 *     drops the session after the write
 * @param unwritten attributes whose serialization failed for now (changed while written): left as
 *     Redis has them, and the write does not count as storing the request's change
 */
public record WritePlan(
        Kind kind,
        boolean full,
        List<byte[]> sets,
        List<byte[]> dels,
        long ttlSeconds,
        long now,
        long accessed,
        int maxInactive,
        Map<String, String> notes,
        Map<String, String> extras,
        Map<String, Long> hashesSet,
        Set<String> hashesRemoved,
        List<Problem> problems,
        String user,
        long indexUntil,
        String previousUser,
        List<String> unwritten) {

    public enum Kind {
        /** Nothing changed: no command. */
        NONE,
        /** Only the access time moved: sent, but no request waits for it. */
        TOUCH,
        /** Data changed: the request is acknowledged only once Redis has it. */
        WRITE
    }

    /**
     * An attribute left out of the write, for the store to count and log.
     *
     * @param type the value's class, or what the serializer named as not serializable
     * @param size the serialized size when it was too large, else 0
     */
    public record Problem(String name, String type, boolean tooLarge, int size) {
    }

    /** A login: the record names a user it did not name before. */
    public boolean login() {
        return user != null && !user.equals(previousUser);
    }

    /** The user whose index must drop the session after this write, or {@code null}. */
    public String unindexUser() {
        return previousUser != null && !previousUser.equals(user) ? previousUser : null;
    }

    public boolean sendsNothing() {
        return kind == Kind.NONE;
    }
}
