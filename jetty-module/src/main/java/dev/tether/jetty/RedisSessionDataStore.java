package dev.tether.jetty;

import dev.tether.store.SessionRecord;
import dev.tether.store.RedisSessionStore;
import dev.tether.store.SessionId;
import dev.tether.store.Settings;
import dev.tether.store.TrackedSession;
import dev.tether.store.SessionStoreOptions;
import dev.tether.store.WriteOutcome;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.session.AbstractSessionDataStore;
import org.eclipse.jetty.session.ManagedSession;
import org.eclipse.jetty.session.SessionCache;
import org.eclipse.jetty.session.SessionData;
import org.eclipse.jetty.session.SessionManager;
import org.eclipse.jetty.util.annotation.ManagedObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Jetty 12 session data store keeping sessions in Redis through Tether's core: one hash per
 * session, delta writes, ownership fencing. Serves ee8, ee9, ee10 and ee11 web applications alike.
 *
 * <p>Jetty strips the {@code .workerName} suffix before the store sees an id, and re-issues the
 * cookie itself when a session is loaded under another node's suffix.
 */
@ManagedObject("Tether Redis session data store")
public class RedisSessionDataStore extends AbstractSessionDataStore {

    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionDataStore.class);

    private final SessionStoreOptions configured;
    private final boolean prefixConfigured;
    private volatile RedisSessionStore store;
    private ScheduledExecutorService drops;

    /**
     * @param options settings; when {@code prefixConfigured} is false the key prefix is derived from
     *     the context ({@code tether:jetty:<vhost><contextPath>:})
     */
    RedisSessionDataStore(SessionStoreOptions options, boolean prefixConfigured) {
        this.configured = options;
        this.prefixConfigured = prefixConfigured;
    }

    @Override
    protected void doStart() throws Exception {
        String worker = _context.getWorkerName();
        try {
            RedisSessionStore.checkRoute("workerName", worker);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        // The real context path, not Jetty's canonical one: that one is sanitized for file names
        // ("/a/b" and "/a_b" both become "_a_b"), so two web applications could share records.
        String contextPath = _context.getContext() == null ? null : _context.getContext().getContextPath();
        String prefix = prefixConfigured ? configured.keyPrefix() : defaultPrefix(_context.getVhost(), contextPath);
        RedisSessionStore s = new RedisSessionStore(configured.toBuilder().keyPrefix(prefix).build(), worker);
        store = s;
        addBean(s.stats()); // JMX through Jetty's MBeanContainer, when the jmx module is on
        // The connector opens right after the web applications: the first requests after a
        // restart must find their sessions. Bounded, so Jetty still starts when Redis is down.
        s.awaitConnected();
        drops = Executors.newSingleThreadScheduledExecutor(dev.tether.store.redis.SharedResources.threads("tether-jetty-drop"));
        LOG.info(s.describe(contextPath, "workerName"));
        super.doStart();
    }

    static String defaultPrefix(String vhost, String contextPath) {
        return Settings.defaultPrefix("jetty", vhost == null || vhost.isEmpty() ? "0.0.0.0" : vhost, contextPath);
    }

    @Override
    protected void doStop() throws Exception {
        super.doStop();
        RedisSessionStore s = store;
        if (s != null) {
            s.flush();
            removeBean(s.stats());
            s.close();
            store = null;
        }
        if (drops != null) {
            drops.shutdownNow();
            drops.awaitTermination(2, TimeUnit.SECONDS);
        }
    }

    RedisSessionStore store() {
        return store;
    }

    @Override
    public SessionData newSessionData(String id, long created, long accessed, long lastAccessed, long maxInactiveMs) {
        JettySessionData data = newData(id, created, accessed, lastAccessed, maxInactiveMs);
        RedisSessionStore s = store;
        if (s != null && SessionId.parse(id) != null) {
            data.attach(s.create(id, data));
        }
        return data;
    }

    private JettySessionData newData(String id, long created, long accessed, long lastAccessed, long maxInactiveMs) {
        return new JettySessionData(id, _context.getCanonicalContextPath(), _context.getVhost(), created, accessed,
                lastAccessed, maxInactiveMs, configured.saveMode(), this::drop);
    }

    @Override
    public SessionData doLoad(String id) throws Exception {
        RedisSessionStore s = store;
        SessionId parsed = SessionId.parse(id);
        if (s == null || parsed == null || parsed.route() != null) {
            return null; // malformed ids never become keys
        }
        SessionRecord loaded = s.takeOver(id, Thread.currentThread().getContextClassLoader());
        if (loaded == null) {
            return null;
        }
        Map<String, String> notes = loaded.notes();
        long maxInactiveMs = parseLong(notes.get(JettySessionData.NOTE_MAX_INACTIVE_MS),
                loaded.maxInactiveSeconds() <= 0 ? -1 : loaded.maxInactiveSeconds() * 1000L);
        JettySessionData data = newData(id, loaded.creationTime(), loaded.lastAccessedTime(), loaded.lastAccessedTime(), maxInactiveMs);
        data.setCookieSet(parseLong(notes.get(JettySessionData.NOTE_COOKIE_SET), 0));
        data.setLastNode(loaded.previousOwner());
        data.setLastSaved(loaded.lastSaved() > 0 ? loaded.lastSaved() : System.currentTimeMillis());
        data.calcAndSetExpiry(loaded.lastAccessedTime());
        data.putAllAttributes(loaded.attributes());
        data.attach(loaded.tracked());
        return data;
    }

    @Override
    public void doStore(String id, SessionData data, long lastSaveTime) throws Exception {
        RedisSessionStore s = store;
        if (s == null || !(data instanceof JettySessionData rd)) {
            return;
        }
        TrackedSession state = rd.tracked();
        // A state for another id: Jetty renewed the session id (fixation protection at login) by
        // deleting the old record and then storing the same data under the new id.
        if (state == null || !state.baseId().equals(id)) {
            if (SessionId.parse(id) == null) {
                return;
            }
            rd.attach(state = s.create(id, rd));
        }
        WriteOutcome outcome = s.await(s.commit(state, rd.snapshot()));
        if (LOG.isDebugEnabled()) {
            LOG.debug("Tether: stored {} -> {}", SessionId.redact(id), outcome);
        }
    }

    @Override
    public boolean delete(String id) throws Exception {
        RedisSessionStore s = store;
        if (s == null) {
            return false;
        }
        TrackedSession state = s.owned(id);
        if (state == null) {
            return false; // not this node's to delete
        }
        WriteOutcome outcome = s.await(s.delete(state));
        return outcome == WriteOutcome.SAVED || outcome == WriteOutcome.QUEUED;
    }

    @Override
    public boolean doExists(String id) throws Exception {
        RedisSessionStore s = store;
        return s != null && SessionId.parse(id) != null && (s.owned(id) != null || s.exists(id));
    }

    @Override
    public Set<String> doCheckExpired(Set<String> candidates, long time) {
        // Only sessions this node still owns are expired here; a copy another node took over is
        // dropped quietly instead, so that no sessionDestroyed fires for a session alive elsewhere.
        Set<String> expired = new HashSet<>();
        RedisSessionStore s = store;
        if (s == null) {
            return expired;
        }
        for (String id : candidates) {
            TrackedSession state = s.owned(id);
            if (state == null) {
                expired.add(id);
            } else if (s.stillOwned(state)) {
                expired.add(id);
            } else {
                s.drop(state);
                drop(id);
            }
        }
        return expired;
    }

    @Override
    public Set<String> doGetExpired(long before) {
        // Redis expires abandoned records itself (TTL = max inactive interval + slack), so there is
        // nothing left to find; no node needs to scan.
        return Set.of();
    }

    @Override
    public void doCleanOrphans(long time) {
        // Same: the TTL removes orphans of every context.
    }

    @Override
    public boolean isPassivating() {
        return true;
    }

    /** Another node owns the session now: drop it from this node's cache, without events. */
    private void drop(JettySessionData data) {
        drop(data.getId());
    }

    private void drop(String id) {
        ScheduledExecutorService e = drops;
        if (e == null || e.isShutdown()) {
            return;
        }
        e.execute(() -> dropWhenIdle(e, id, 0));
    }

    private void dropWhenIdle(ScheduledExecutorService e, String id, int attempt) {
        try {
            SessionManager manager = _context.getSessionManager();
            SessionCache cache = manager == null ? null : manager.getSessionCache();
            // contains() first: the cache's get() and delete() load a missing session from this
            // store, which would take the session over again from the node that now owns it.
            if (cache == null || !cache.contains(id)) {
                return;
            }
            // get() enters the session like a request would, so count ourselves out and leave.
            ManagedSession session = cache.get(id);
            if (session == null) {
                return;
            }
            boolean busy;
            try {
                busy = session.getRequests() > 1;
            } finally {
                cache.release(session);
            }
            if (busy && attempt < 100 && !e.isShutdown()) {
                // The request that found out is still running (its write at response commit was
                // fenced); pulling the session from under it would fail that request's completion.
                e.schedule(() -> dropWhenIdle(e, id, attempt + 1), 50, TimeUnit.MILLISECONDS);
                return;
            }
            cache.delete(id);
        } catch (Exception ex) {
            LOG.debug("Tether: dropping a stale session failed", ex);
        }
    }

    private static long parseLong(String s, long fallback) {
        if (s == null) {
            return fallback;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    @Override
    public String toString() {
        return "RedisSessionDataStore[" + configured.redisUri().replaceAll("//[^@/]*@", "//***@") + "]";
    }
}
