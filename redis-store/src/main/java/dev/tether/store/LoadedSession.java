package dev.tether.store;

import java.util.Map;

/**
 * A session read from Redis by {@link RedisSessionStore#takeOver}, now owned by this node. The
 * adapter builds its own session from it and binds it to {@link #state()}.
 */
public record LoadedSession(
        SessionState state,
        long creationTime,
        long lastAccessedTime,
        int maxInactiveSeconds,
        long lastSaved,
        String previousOwner,
        Map<String, Object> attributes,
        Map<String, String> notes) {
}
