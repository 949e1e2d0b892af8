package dev.tether.jetty;

import dev.tether.store.ContainerSession;
import dev.tether.store.SaveMode;
import dev.tether.store.SessionRecord;
import dev.tether.store.SessionSnapshot;
import dev.tether.store.TrackedSession;
import java.util.HashMap;
import java.util.Map;
import org.eclipse.jetty.session.SessionData;

/**
 * Tether's Jetty session data: it reports to the core which attributes each request set, removed
 * or read (Jetty's own {@code SessionData} keeps one dirty flag for all), and when requests begin
 * and the last one leaves.
 *
 * <p>Jetty tells a session's data nothing when a request ends, except when the last one leaves:
 * {@code ManagedSession.access} calls {@code setAccessed} and then {@code calcAndSetExpiry(time)}
 * as each request begins, and {@code release} calls {@code calcAndSetExpiry(now)} alone when the
 * count of requests reaches zero, right before the store is asked to save. So a
 * {@code calcAndSetExpiry} without a {@code setAccessed} just before it is the last request leaving.
 *
 * <p>In the record (see {@code RecordFormat}): {@code created}; {@code lastAccessed} is when the
 * session became idle, Jetty's expiry minus the max-inactive interval (Jetty's {@code accessed}
 * for a session that never expires), so that the core's expiry, {@code lastAccessed} +
 * {@code maxInactive}, is Jetty's own: one answer to "has it expired" for Jetty and for every
 * Tether node, also for a request that ran longer than the touch interval. Jetty's own values ride
 * along unchanged as notes ({@code n:maxInactiveMs}, {@code n:cookieSet}) and extras
 * ({@code x:accessed}, {@code x:lastAccessed}, {@code x:expiry}, {@code x:lastNode}), and come
 * back verbatim on a load.
 */
final class JettySessionData extends SessionData implements ContainerSession {

    static final String NOTE_MAX_INACTIVE_MS = "maxInactiveMs";
    static final String NOTE_COOKIE_SET = "cookieSet";
    static final String EXTRA_ACCESSED = "accessed";
    static final String EXTRA_LAST_ACCESSED = "lastAccessed";
    static final String EXTRA_EXPIRY = "expiry";
    static final String EXTRA_LAST_NODE = "lastNode";

    /** What the store does for this data when Jetty calls it. */
    interface Events {
        /** A request begins with this session: make the copy current (refreshed if not), then count the request. */
        void accessed(JettySessionData data);

        /** Another node invalidated the session, or it expired there: take it out of Jetty's cache. */
        void dropped(JettySessionData data);

        /**
         * This copy's times say it expired; whether the session did: another node may have served it
         * since (this copy is refreshed only when a request begins, after Jetty asked).
         */
        boolean expiredElsewhereToo(JettySessionData data);
    }

    private final transient SaveMode saveMode;
    private final transient Events events;
    private transient volatile TrackedSession state;
    private transient volatile Map<String, String> notes;
    private transient volatile long notesMaxInactiveMs;
    private transient volatile long notesCookieSet;
    /** A request began ({@code setAccessed}) and its {@code calcAndSetExpiry} has not come yet. */
    private transient boolean entering;
    /** The last request left: the next store is Jetty's release. Guarded by Jetty's session lock. */
    private transient boolean lastLeft;
    /**
     * The changes not stored yet were refused to their request with a 503 already (set by the store
     * under Jetty's session lock, cleared by the next stored write).
     */
    transient boolean answeredRefusal;
    /** The requests using this session now, as the {@link RefusalHandler} counts them. */
    final transient java.util.Set<RefusalHandler.Exchange> exchanges = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** A request found the session ended on another node (its copy emptied, then left Jetty's cache). */
    transient volatile boolean endedElsewhere;

    JettySessionData(String id, String cpath, String vhost, long created, long accessed, long lastAccessed,
            long maxInactiveMs, SaveMode saveMode, Events events) {
        super(id, cpath, vhost, created, accessed, lastAccessed, maxInactiveMs);
        this.saveMode = saveMode;
        this.events = events;
    }

    void attach(TrackedSession state) {
        this.state = state;
        state.bind(this);
    }

    TrackedSession tracked() {
        return state;
    }

    /** Whether the last request left since the previous store (and forgets it). */
    boolean takeLastLeft() {
        boolean left = lastLeft;
        lastLeft = false;
        return left;
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
        // After the last request left, Jetty reads every attribute to passivate the session before
        // it stores it: no request can change those values any more, so they are not "reads".
        if (s != null && value != null && saveMode != SaveMode.ON_SET_ATTRIBUTE && !lastLeft) {
            s.attributeRead(name, value);
            // Jetty only offers dirty data to the store; a read value may be changed in place.
            setDirty(true);
        }
        return value;
    }

    @Override
    public void setAccessed(long accessed) {
        super.setAccessed(accessed);
        entering = true;
        lastLeft = false;
        if (state != null) {
            events.accessed(this); // the copy made current, then the request counted
        }
        if (saveMode == SaveMode.ALWAYS) {
            setDirty(true);
        }
    }

    @Override
    public void calcAndSetExpiry(long time) {
        super.calcAndSetExpiry(time);
        if (entering) {
            entering = false;
        } else {
            lastLeft = true;
        }
    }

    /**
     * Another node changed the session: take its state in place, without listener events (they
     * fired there). Called under Jetty's session lock, as a request begins.
     */
    void refresh(SessionRecord loaded) {
        _attributes.keySet().retainAll(loaded.attributes().keySet());
        _attributes.putAll(loaded.attributes());
        restoreMetadata(loaded);
        notes = null;
    }

    /** The session is gone elsewhere: this copy shows no attributes, and leaves Jetty's cache. */
    void emptied() {
        endedElsewhere = true;
        _attributes.clear();
        events.dropped(this);
    }

    /** Jetty's own fields from a record (those that are not Tether's). */
    void restoreMetadata(SessionRecord loaded) {
        Map<String, String> n = loaded.notes();
        Map<String, String> x = loaded.extras();
        setMaxInactiveMs(number(n.get(NOTE_MAX_INACTIVE_MS), loaded.maxInactiveSeconds() <= 0 ? -1 : loaded.maxInactiveSeconds() * 1000L));
        setCookieSet(number(n.get(NOTE_COOKIE_SET), 0));
        setLastAccessed(number(x.get(EXTRA_LAST_ACCESSED), loaded.lastAccessedTime()));
        setExpiry(number(x.get(EXTRA_EXPIRY), getMaxInactiveMs() <= 0 ? 0 : loaded.lastAccessedTime() + getMaxInactiveMs()));
        String lastNode = x.get(EXTRA_LAST_NODE);
        if (lastNode != null) {
            setLastNode(lastNode);
        }
        setLastSaved(loaded.lastSaved() > 0 ? loaded.lastSaved() : System.currentTimeMillis());
    }

    /** Jetty's {@code accessed} of a record: the start of the last request that used it. */
    static long accessed(SessionRecord loaded) {
        return number(loaded.extras().get(EXTRA_ACCESSED), loaded.lastAccessedTime());
    }

    /**
     * Why a record cannot be read as a Jetty session, or {@code null} when it can: the fields every
     * record this store writes carries (max-inactive interval, previous access, expiry) must be
     * there and be numbers, and so must the optional ones (cookie time, access time) when present.
     * Without them nobody can say when the session was used or when it expires.
     */
    static String unreadable(SessionRecord loaded) {
        Map<String, String> n = loaded.notes();
        Map<String, String> x = loaded.extras();
        StringBuilder why = new StringBuilder();
        check(why, "n:" + NOTE_MAX_INACTIVE_MS, n.get(NOTE_MAX_INACTIVE_MS), true);
        check(why, "n:" + NOTE_COOKIE_SET, n.get(NOTE_COOKIE_SET), false);
        check(why, "x:" + EXTRA_ACCESSED, x.get(EXTRA_ACCESSED), false);
        check(why, "x:" + EXTRA_LAST_ACCESSED, x.get(EXTRA_LAST_ACCESSED), true);
        check(why, "x:" + EXTRA_EXPIRY, x.get(EXTRA_EXPIRY), true);
        return why.length() == 0 ? null : why.toString();
    }

    private static void check(StringBuilder why, String field, String value, boolean required) {
        String problem = value == null ? (required ? "missing" : null) : isNumber(value) ? null : "not a number";
        if (problem != null) {
            why.append(why.length() == 0 ? "" : ", ").append(field).append(' ').append(problem);
        }
    }

    private static boolean isNumber(String s) {
        try {
            Long.parseLong(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static long number(String s, long fallback) {
        if (s == null) {
            return fallback;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    // ------------------------------------------------------------ ContainerSession

    @Override
    public SessionSnapshot snapshot() {
        Map<String, String> extras = new HashMap<>(8);
        extras.put(EXTRA_ACCESSED, Long.toString(getAccessed()));
        extras.put(EXTRA_LAST_ACCESSED, Long.toString(getLastAccessed()));
        extras.put(EXTRA_EXPIRY, Long.toString(getExpiry()));
        if (getLastNode() != null) {
            extras.put(EXTRA_LAST_NODE, getLastNode());
        }
        return new SessionSnapshot(_attributes, getCreated(), idleSince(), maxInactiveSeconds(), notes(), extras,
                JettyLogin.user(_attributes));
    }

    /**
     * The record's {@code lastAccessed}: when the session became idle, so that it plus the
     * record's {@code maxInactive} (whole seconds) is Jetty's expiry. Jetty sets the expiry from the
     * start of each request and again from its end when the last request leaves.
     */
    long idleSince() {
        int seconds = maxInactiveSeconds();
        long expiry = getExpiry();
        return seconds > 0 && expiry > 0 ? expiry - seconds * 1000L : getAccessed();
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
        events.dropped(this);
    }

    /**
     * Jetty invalidates a cached session whose copy looks expired before the request touches it,
     * which would end a session another node is serving: Redis decides.
     */
    @Override
    public boolean isExpiredAt(long time) {
        return super.isExpiredAt(time) && events.expiredElsewhereToo(this);
    }
}
