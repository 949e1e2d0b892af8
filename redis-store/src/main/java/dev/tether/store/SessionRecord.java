package dev.tether.store;

import java.util.Map;

/**
 * A session read from Redis by {@link RedisSessionStore#takeOver}, now owned by this node. The
 * adapter builds its own session from it and binds it to {@link #tracked()}.
 *
 * @param previousOwner the route that owned it before (this node's own after a restart)
 * @param lastSaved when it was last written, epoch milliseconds (0: unknown)
 */
public record SessionRecord(
        TrackedSession tracked,
        long creationTime,
        long lastAccessedTime,
        int maxInactiveSeconds,
        long lastSaved,
        String previousOwner,
        Map<String, Object> attributes,
        Map<String, String> notes) {
}
