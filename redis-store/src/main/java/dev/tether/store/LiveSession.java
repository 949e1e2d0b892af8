package dev.tether.store;

import java.util.Map;

/**
 * A container's in-memory session as the core sees it. The Tomcat and Jetty adapters implement this
 * over their own session objects; the core reads through it when it writes a session to Redis.
 */
public interface LiveSession {

    /** The current attributes; a snapshot or a concurrent view. */
    Map<String, Object> attributes();

    long creationTime();

    long lastAccessedTime();

    /** Max inactive interval in seconds; zero or less means the session never times out. */
    int maxInactiveSeconds();

    /** Container metadata stored beside the attributes (for example the authenticated principal). */
    Map<String, String> notes();

    /**
     * This node no longer owns the session: another node took it over, or it was invalidated there.
     * Drop the local copy without firing destruction events; the session lives on elsewhere.
     */
    void ownershipLost();
}
