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

    /**
     * End the local copy with its destruction events ({@code sessionDestroyed}, unbinding): an
     * administrator or the per-user session limit ended the session, and its record is gone
     * already, so nothing is to be written. Called on a thread of Tether's, not a request's.
     */
    default void end() {
        drop();
    }
}
