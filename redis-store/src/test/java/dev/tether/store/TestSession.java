package dev.tether.store;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A container session as small as the contract allows: concurrent attribute and note maps, settable
 * times, and a counter of {@link #ownershipLost()} calls. The {@code set/get/remove} helpers report
 * to a {@link SessionState} the way the Tomcat and Jetty adapters do.
 */
final class TestSession implements LiveSession {

    final Map<String, Object> attributes = new ConcurrentHashMap<>();
    final Map<String, String> notes = new ConcurrentHashMap<>();
    volatile long creationTime;
    volatile long lastAccessedTime;
    volatile int maxInactiveSeconds;
    final AtomicInteger ownershipLost = new AtomicInteger();

    TestSession(long creationTime, int maxInactiveSeconds) {
        this.creationTime = creationTime;
        this.lastAccessedTime = creationTime;
        this.maxInactiveSeconds = maxInactiveSeconds;
    }

    TestSession() {
        this(System.currentTimeMillis(), 1800);
    }

    /** The local session an adapter would build from a record it took over. */
    static TestSession from(LoadedSession loaded) {
        TestSession t = new TestSession(loaded.creationTime(), loaded.maxInactiveSeconds());
        t.lastAccessedTime = loaded.lastAccessedTime();
        t.attributes.putAll(loaded.attributes());
        t.notes.putAll(loaded.notes());
        loaded.state().bind(t);
        return t;
    }

    void set(SessionState state, String name, Object value) {
        attributes.put(name, value);
        state.attributeSet(name);
    }

    Object get(SessionState state, String name) {
        Object v = attributes.get(name);
        state.attributeRead(name, v);
        return v;
    }

    void remove(SessionState state, String name) {
        attributes.remove(name);
        state.attributeRemoved(name);
    }

    @Override
    public Map<String, Object> attributes() {
        return attributes;
    }

    @Override
    public long creationTime() {
        return creationTime;
    }

    @Override
    public long lastAccessedTime() {
        return lastAccessedTime;
    }

    @Override
    public int maxInactiveSeconds() {
        return maxInactiveSeconds;
    }

    @Override
    public Map<String, String> notes() {
        return notes;
    }

    @Override
    public void ownershipLost() {
        ownershipLost.incrementAndGet();
    }
}
