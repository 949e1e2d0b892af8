package dev.tether.tomcat;

import java.util.ArrayList;
import java.util.List;

/**
 * The sessions a request uses in other web applications than its own, through a cross-context
 * dispatch ({@code crossContext="true"}, {@code getContext("/other").getRequestDispatcher(..)}).
 * Tomcat runs only the first application's pipeline, so only its valve sees the request: it
 * counts those sessions in as the other application reaches them, and writes them with its own at
 * the end of the request. One per request, kept on the thread that runs the application.
 */
final class CrossContext {

    private static final ThreadLocal<CrossContext> CURRENT = new ThreadLocal<>();

    /** The manager whose valve runs the request. */
    private final RedisSessionManager owner;
    private final List<TomcatSession> sessions = new ArrayList<>(1);
    /** Applications that could not read a session for the request (Redis did not answer). */
    private final List<RedisSessionManager> lookupsFailed = new ArrayList<>(0);
    /** One of them handed the request a session all the same (a new, empty one). */
    private volatile boolean unreadable;

    private CrossContext(RedisSessionManager owner) {
        this.owner = owner;
    }

    /** A request enters {@code owner}'s valve: the first valve of the request starts it; {@code null} for the others. */
    static CrossContext begin(RedisSessionManager owner) {
        if (CURRENT.get() != null) {
            return null;
        }
        CrossContext c = new CrossContext(owner);
        CURRENT.set(c);
        return c;
    }

    /** The thread is done running the application (the request may go on asynchronously). */
    void leaveThread() {
        if (CURRENT.get() == this) {
            CURRENT.remove();
        }
    }

    /**
     * Tomcat handed out {@code session} of another application's manager to the request on this
     * thread: whether it is new to the request (then the caller counts it in).
     */
    static boolean reached(TomcatSession session, RedisSessionManager manager) {
        CrossContext c = CURRENT.get();
        if (c == null || c.owner == manager) {
            return false;
        }
        synchronized (c) {
            if (c.lookupsFailed.contains(manager)) {
                c.unreadable = true;
            }
            if (c.sessions.contains(session)) {
                return false;
            }
            c.sessions.add(session);
            return true;
        }
    }

    /**
     * Another application than the request's own could not read a session from Redis for the
     * request on this thread. It counts against the request only if that application then hands
     * the request a session ({@link #reached}): Tomcat also looks into every application's manager
     * to validate a session cookie of path "/", and such a look must not fail the request.
     */
    static void unreadable(RedisSessionManager manager) {
        CrossContext c = CURRENT.get();
        if (c != null && c.owner != manager) {
            synchronized (c) {
                c.lookupsFailed.add(manager);
            }
        }
    }

    /** Another application's session the request reached is known stale and Redis cannot refresh it. */
    static void failed() {
        CrossContext c = CURRENT.get();
        if (c != null) {
            c.unreadable = true;
        }
    }

    /** Whether another application could not read its session for the request. */
    boolean wasUnreadable() {
        return unreadable;
    }

    /** The other applications' sessions the request reached, once. */
    synchronized List<TomcatSession> take() {
        List<TomcatSession> out = List.copyOf(sessions);
        sessions.clear();
        return out;
    }
}
