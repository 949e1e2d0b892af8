package dev.tether.jetty;

import dev.tether.store.LiveSession;
import dev.tether.store.SaveMode;
import dev.tether.store.SessionState;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.eclipse.jetty.session.SessionData;

/**
 * Jetty's session data, reporting to the core which attributes each request set, removed or read.
 * Jetty's own {@code SessionData} only keeps one dirty flag for all attributes.
 */
final class RedisSessionData extends SessionData implements LiveSession {

    static final String NOTE_MAX_INACTIVE_MS = "maxInactiveMs";
    static final String NOTE_COOKIE_SET = "cookieSet";

    private final transient SaveMode saveMode;
    private final transient Consumer<RedisSessionData> onLost;
    private transient volatile SessionState state;

    RedisSessionData(String id, String cpath, String vhost, long created, long accessed, long lastAccessed,
            long maxInactiveMs, SaveMode saveMode, Consumer<RedisSessionData> onLost) {
        super(id, cpath, vhost, created, accessed, lastAccessed, maxInactiveMs);
        this.saveMode = saveMode;
        this.onLost = onLost;
    }

    void attach(SessionState state) {
        this.state = state;
        state.bind(this);
    }

    SessionState state() {
        return state;
    }

    @Override
    public void setDirty(String name) {
        super.setDirty(name);
        SessionState s = state;
        if (s != null) {
            if (_attributes.containsKey(name)) {
                s.attributeSet(name);
            } else {
                s.attributeRemoved(name);
            }
        }
    }

    @Override
    public Object getAttribute(String name) {
        Object value = super.getAttribute(name);
        SessionState s = state;
        if (s != null && value != null && saveMode != SaveMode.ON_SET_ATTRIBUTE) {
            s.attributeRead(name, value);
            // Jetty only offers dirty data to the store; a read value may be changed in place.
            setDirty(true);
        }
        return value;
    }

    @Override
    public void setAccessed(long accessed) {
        super.setAccessed(accessed);
        if (saveMode == SaveMode.ALWAYS) {
            setDirty(true);
        }
    }

    // ------------------------------------------------------------ LiveSession

    @Override
    public Map<String, Object> attributes() {
        return _attributes;
    }

    @Override
    public long creationTime() {
        return getCreated();
    }

    @Override
    public long lastAccessedTime() {
        return getAccessed();
    }

    @Override
    public int maxInactiveSeconds() {
        long ms = getMaxInactiveMs();
        return ms <= 0 ? -1 : (int) Math.max(1, Math.min(Integer.MAX_VALUE, (ms + 999) / 1000));
    }

    @Override
    public Map<String, String> notes() {
        // Only values that change rarely: anything per-request would defeat "no write when unchanged".
        Map<String, String> notes = new HashMap<>(4);
        notes.put(NOTE_MAX_INACTIVE_MS, Long.toString(getMaxInactiveMs()));
        if (getCookieSet() > 0) {
            notes.put(NOTE_COOKIE_SET, Long.toString(getCookieSet()));
        }
        return notes;
    }

    @Override
    public void ownershipLost() {
        onLost.accept(this);
    }
}
