package dev.tether.tomcat.e2e.app;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Per-JVM (that is, per Tomcat node) event counters of the test web application, keyed by the base
 * of the session id (the part before the route suffix), so that each test reads its own session's.
 */
public final class Counters {

    static final Map<String, AtomicInteger> ACTIVATIONS = new ConcurrentHashMap<>();
    static final Map<String, AtomicInteger> PASSIVATIONS = new ConcurrentHashMap<>();
    static final Map<String, AtomicInteger> ID_CHANGES = new ConcurrentHashMap<>();
    /** Base of the id before a change to the id after it (route changes keep the base). */
    static final Map<String, String> LAST_NEW_ID = new ConcurrentHashMap<>();

    private Counters() {
    }

    static String base(String id) {
        if (id == null) {
            return "null";
        }
        int dot = id.indexOf('.');
        return dot < 0 ? id : id.substring(0, dot);
    }

    static void increment(Map<String, AtomicInteger> map, String id) {
        map.computeIfAbsent(base(id), k -> new AtomicInteger()).incrementAndGet();
    }

    static int get(Map<String, AtomicInteger> map, String base) {
        AtomicInteger n = map.get(base);
        return n == null ? 0 : n.get();
    }
}
