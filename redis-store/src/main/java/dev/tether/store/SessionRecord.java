package dev.tether.store;

import java.util.Map;

/**
 * A session read from Redis ({@link RedisSessionStore#load}, {@link RedisSessionStore#reload},
 * {@link RedisSessionStore#claimExpired}). The adapter builds or refreshes its own session from it,
 * bound to {@link #tracked()}.
 *
 * @param previousOwner sticky mode: the route that served it before ("" when none)
 * @param lastSaved when it was last written, epoch milliseconds (0: unknown)
 * @param extras container metadata written with it ({@link SessionSnapshot#extras()})
 */
public record SessionRecord(
        TrackedSession tracked,
        long creationTime,
        long lastAccessedTime,
        int maxInactiveSeconds,
        long lastSaved,
        String previousOwner,
        Map<String, Object> attributes,
        Map<String, String> notes,
        Map<String, String> extras) {
}
