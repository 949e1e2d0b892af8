package dev.tether.store;

import java.util.Map;

/**
 * One session as an adapter hands it to the core at the end of a request: everything a write
 * needs, read from the container once.
 *
 * @param attributes the current attributes that may leave this node (a live concurrent view or a copy)
 * @param maxInactiveSeconds zero or less: the session never times out
 * @param notes container data stored beside the attributes (for example the authenticated principal);
 *     built once per change by the adapter, since it is compared on every request; a change is
 *     written at once
 * @param extras container metadata that changes with every request (Jetty's access times): written
 *     along with any write, never a reason for one
 * @param user the authenticated user's name, {@code null} before login: kept in plain text beside the
 *     record and in the per-user index, for "log out everywhere" and {@code maxSessionsPerUser}
 */
public record SessionSnapshot(Map<String, Object> attributes, long creationTime, long lastAccessedTime,
        int maxInactiveSeconds, Map<String, String> notes, Map<String, String> extras, String user) {

    public SessionSnapshot(Map<String, Object> attributes, long creationTime, long lastAccessedTime, int maxInactiveSeconds,
            Map<String, String> notes, Map<String, String> extras) {
        this(attributes, creationTime, lastAccessedTime, maxInactiveSeconds, notes, extras, null);
    }

    public SessionSnapshot(Map<String, Object> attributes, long creationTime, long lastAccessedTime, int maxInactiveSeconds,
            Map<String, String> notes) {
        this(attributes, creationTime, lastAccessedTime, maxInactiveSeconds, notes, Map.of());
    }
}
