package dev.tether.jetty;

import dev.tether.store.ContainerSession;
import dev.tether.store.SaveMode;
import dev.tether.store.SessionSnapshot;
import dev.tether.store.TrackedSession;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.eclipse.jetty.session.SessionData;

/**
 * Tether's Jetty session data: it reports to the core which attributes each request set, removed
 * or read. Jetty's own {@code SessionData} only keeps one dirty flag for all attributes.
 */
final class JettySessionData extends SessionData implements ContainerSession {

    static final String NOTE_MAX_INACTIVE_MS = "maxInactiveMs";
    static final String NOTE_COOKIE_SET = "cookieSet";

    private final transient SaveMode saveMode;
    private final transient Consumer<JettySessionData> onDrop;
    private transient volatile TrackedSession state;
    private transient volatile Map<String, String> notes;
    private transient volatile long notesMaxInactiveMs;
    private transient volatile long notesCookieSet;

    JettySessionData(String id, String cpath, String vhost, long created, long accessed, long lastAccessed,
            long maxInactiveMs, SaveMode saveMode, Consumer<JettySessionData> onDrop) {
        super(id, cpath, vhost, created, accessed, lastAccessed, maxInactiveMs);
        this.saveMode = saveMode;
        this.onDrop = onDrop;
    }

    void attach(TrackedSession state) {
        this.state = state;
        state.bind(this);
    }

    TrackedSession tracked() {
        return state;
    }

    @Override
    public void setDirty(String name) {
        super.setDirty(name);
        TrackedSession s = state;
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
        TrackedSession s = state;
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

    // ------------------------------------------------------------ ContainerSession

    @Override
    public SessionSnapshot snapshot() {
        return new SessionSnapshot(_attributes, getCreated(), getAccessed(), maxInactiveSeconds(), notes());
    }

    private int maxInactiveSeconds() {
        long ms = getMaxInactiveMs();
        return ms <= 0 ? -1 : (int) Math.max(1, Math.min(Integer.MAX_VALUE, (ms + 999) / 1000));
    }

    /** Only values that change rarely, built again only when they do: they are compared on every request. */
    private Map<String, String> notes() {
        long maxInactiveMs = getMaxInactiveMs();
        long cookieSet = getCookieSet();
        Map<String, String> cached = notes;
        if (cached != null && maxInactiveMs == notesMaxInactiveMs && cookieSet == notesCookieSet) {
            return cached;
        }
        Map<String, String> out = new HashMap<>(4);
        out.put(NOTE_MAX_INACTIVE_MS, Long.toString(maxInactiveMs));
        if (cookieSet > 0) {
            out.put(NOTE_COOKIE_SET, Long.toString(cookieSet));
        }
        notesMaxInactiveMs = maxInactiveMs;
        notesCookieSet = cookieSet;
        notes = Map.copyOf(out);
        return notes;
    }

    @Override
    public void drop() {
        onDrop.accept(this);
    }
}
