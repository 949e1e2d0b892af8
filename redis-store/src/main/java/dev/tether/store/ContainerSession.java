package dev.tether.store;

/**
 * A container's in-memory session as the core sees it. The Tomcat and Jetty adapters implement
 * this over their own session objects.
 */
public interface ContainerSession {

    /** What the core writes: the attributes and times as they are now. */
    SessionSnapshot snapshot();

    /**
     * Drop the local copy: another node took the session over, or it was invalidated there. No
     * destruction events: the session lives on elsewhere (or already died there).
     */
    void drop();
}
