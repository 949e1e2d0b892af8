package dev.tether.store;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A container session as small as the contract allows: concurrent attribute and note maps, settable
 * times, and a counter of {@link #drop()} calls. The {@code set/get/remove} helpers report
 * to a {@link TrackedSession} the way the Tomcat and Jetty adapters do.
 */
final class TestSession implements ContainerSession {

    final Map<String, Object> attributes = new ConcurrentHashMap<>();
    final Map<String, String> notes = new ConcurrentHashMap<>();
    volatile long creationTime;
    volatile long lastAccessedTime;
    volatile int maxInactiveSeconds;
    final AtomicInteger dropped = new AtomicInteger();
    final AtomicInteger ended = new AtomicInteger();
    /** The logged-in user's name, {@code null} before login. */
    volatile String user;

    TestSession(long creationTime, int maxInactiveSeconds) {
        this.creationTime = creationTime;
        this.lastAccessedTime = creationTime;
        this.maxInactiveSeconds = maxInactiveSeconds;
    }

    TestSession() {
        this(System.currentTimeMillis(), 1800);
    }

    /** The local session an adapter would build from a record it took over. */
    static TestSession from(SessionRecord loaded) {
        TestSession t = new TestSession(loaded.creationTime(), loaded.maxInactiveSeconds());
        t.lastAccessedTime = loaded.lastAccessedTime();
        t.attributes.putAll(loaded.attributes());
        t.notes.putAll(loaded.notes());
        loaded.tracked().bind(t);
        return t;
    }

    void set(TrackedSession state, String name, Object value) {
        attributes.put(name, value);
        state.attributeSet(name);
    }

    Object get(TrackedSession state, String name) {
        Object v = attributes.get(name);
        state.attributeRead(name, v);
        return v;
    }

    void remove(TrackedSession state, String name) {
        attributes.remove(name);
        state.attributeRemoved(name);
    }

    @Override
    public SessionSnapshot snapshot() {
        return new SessionSnapshot(attributes, creationTime, lastAccessedTime, maxInactiveSeconds, Map.copyOf(notes), Map.of(), user);
    }

    @Override
    public void drop() {
        dropped.incrementAndGet();
    }

    @Override
    public void end() {
        ended.incrementAndGet();
    }
}
