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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpException;
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
 * session, versioned delta writes, cluster-wide expiry. Serves ee8, ee9, ee10 and ee11 web
 * applications alike.
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
        if (FAILED_LOAD.get() != null) {
            // This request's session could not be read: never give the user a new, empty one instead.
            FAILED_LOAD.remove();
            throw new HttpException.RuntimeException(503, "Tether: the session could not be read from Redis; please retry");
        }
        JettySessionData data = newData(id, created, accessed, lastAccessed, maxInactiveMs);
        RedisSessionStore s = store;
        if (s != null) {
            data.attach(s.create(checked(id), data));
        }
        return data;
    }

    /** A session id the container made or named, refused loudly if it cannot be a key. */
    private static String checked(String id) {
        if (SessionId.parse(id) == null) {
            throw new IllegalArgumentException("Tether: session id " + SessionId.redact(id) + " is refused: an id must be "
                    + SessionId.MIN_BASE_LENGTH + "-" + SessionId.MAX_BASE_LENGTH + " of [A-Za-z0-9_-] (a custom SessionIdManager?)");
        }
        return id;
    }

    private JettySessionData newData(String id, long created, long accessed, long lastAccessed, long maxInactiveMs) {
        return new JettySessionData(id, _context.getCanonicalContextPath(), _context.getVhost(), created, accessed,
                lastAccessed, maxInactiveMs, configured.saveMode(), events);
    }

    /** The ids a request on this thread failed to read (Redis unreachable): its new session gets 503. */
    private static final ThreadLocal<String> FAILED_LOAD = new ThreadLocal<>();

    @Override
    public SessionData doLoad(String id) throws Exception {
        FAILED_LOAD.remove();
        RedisSessionStore s = store;
        SessionId parsed = SessionId.parse(id);
        if (s == null || parsed == null || parsed.route() != null) {
            return null; // malformed ids never become keys
        }
        SessionRecord expired = claimed.remove(id);
        if (expired != null) {
            return data(id, expired); // claimed by the expiry sweep: Jetty fires its events now
        }
        SessionRecord loaded;
        try {
            loaded = s.load(id, null, Thread.currentThread().getContextClassLoader());
        } catch (RedisSessionStore.UnavailableException e) {
            FAILED_LOAD.set(id);
            return null;
        }
        return loaded == null ? null : data(id, loaded);
    }

    private JettySessionData data(String id, SessionRecord loaded) {
        JettySessionData data = newData(id, loaded.creationTime(), loaded.lastAccessedTime(), loaded.lastAccessedTime(), -1);
        data.restoreMetadata(loaded);
        data.putAllAttributes(loaded.attributes());
        data.attach(loaded.tracked());
        return data;
    }

    @Override
    public void store(String id, SessionData data) throws Exception {
        boolean lastLeft = data instanceof JettySessionData rd && rd.takeLastLeft();
        if (lastLeft) {
            storingLastLeft.set(Boolean.TRUE);
        }
        try {
            super.store(id, data);
        } finally {
            storingLastLeft.remove();
        }
    }

    /** Set while Jetty stores on the last request's release: the response is out by then. */
    private final ThreadLocal<Boolean> storingLastLeft = new ThreadLocal<>();

    @Override
    public void doStore(String id, SessionData data, long lastSaveTime) throws Exception {
        RedisSessionStore s = store;
        if (s == null || !(data instanceof JettySessionData rd)) {
            return;
        }
        boolean lastLeft = storingLastLeft.get() != null;
        TrackedSession tracked = rd.tracked();
        WriteOutcome outcome;
        if (tracked == null) {
            rd.attach(tracked = s.create(checked(id), rd));
            outcome = s.await(s.commit(tracked, rd.snapshot(), true));
        } else if (!tracked.baseId().equals(id)) {
            // Jetty renewed the session id (fixation protection at login): it deleted the old id
            // (kept, see delete) and stores the data under the new one. One fenced step in the core.
            checked(id);
            renewing.remove(tracked.baseId());
            outcome = s.await(s.changeId(tracked, id));
        } else {
            outcome = s.await(s.commit(tracked, rd.snapshot(), lastLeft));
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug("Tether: stored {} -> {}", SessionId.redact(id), outcome);
        }
        if (!outcome.stored() && outcome != WriteOutcome.DROPPED) {
            s.refused(outcome, lastLeft);
            if (!lastLeft) {
                // Jetty stores at response commit, before the headers go out: fail the response.
                throw new NotStored(outcome);
            }
        }
    }

    /** Old ids of sessions whose id Jetty is renewing: their record goes in the same step as the new one is written. */
    private final Set<String> renewing = ConcurrentHashMap.newKeySet();
    /** Sessions the expiry sweep claimed, for Jetty to load and expire. */
    private final Map<String, SessionRecord> claimed = new ConcurrentHashMap<>();
    /** Ids being taken out of Jetty's cache because they went elsewhere: not invalidations. */
    private final Set<String> dropping = ConcurrentHashMap.newKeySet();

    @Override
    public boolean delete(String id) throws Exception {
        RedisSessionStore s = store;
        if (s == null || SessionId.parse(id) == null) {
            return false;
        }
        if (dropping.contains(id) || claimed.remove(id) != null) {
            return true; // leaving this node's cache, or already claimed: nothing to delete in Redis
        }
        TrackedSession tracked = s.owned(id);
        if (tracked != null && tracked.container() instanceof JettySessionData rd && !id.equals(rd.getId())) {
            renewing.add(id); // an id renewal: the old record goes when the new one is stored
            return true;
        }
        // Held here or not (a session this node never loaded): an invalidation is final everywhere.
        WriteOutcome outcome = s.await(tracked != null ? s.invalidate(tracked) : s.invalidate(id));
        return outcome.stored();
    }

    @Override
    public boolean doExists(String id) throws Exception {
        RedisSessionStore s = store;
        return s != null && SessionId.parse(id) != null && s.exists(id);
    }

    @Override
    public Set<String> doCheckExpired(Set<String> candidates, long time) {
        // A session this node holds expires only after the core claimed it in Redis: once in the
        // cluster, and never while another node serves it (then this copy just leaves the cache).
        Set<String> expired = new HashSet<>();
        RedisSessionStore s = store;
        if (s == null) {
            return expired;
        }
        for (String id : candidates) {
            TrackedSession tracked = s.owned(id);
            if (tracked == null) {
                if (!s.exists(id)) {
                    expired.add(id);
                }
                continue;
            }
            switch (s.expire(tracked)) {
                case EXPIRED, UNKNOWN -> expired.add(id);
                default -> drop(id);
            }
        }
        return expired;
    }

    @Override
    public Set<String> doGetExpired(long before) {
        // Sessions that expired while no node held them (their node crashed or stopped for good):
        // claimed here, so that exactly one node fires their destruction events.
        return claim(before);
    }

    @Override
    public void doCleanOrphans(long time) {
        claim(time).forEach(claimed::remove); // long dead: claimed without events
    }

    private Set<String> claim(long before) {
        RedisSessionStore s = store;
        Set<String> ids = new HashSet<>();
        if (s == null) {
            return ids;
        }
        for (SessionRecord r : s.claimExpired(before, Thread.currentThread().getContextClassLoader())) {
            claimed.put(r.tracked().baseId(), r);
            ids.add(r.tracked().baseId());
        }
        return ids;
    }

    @Override
    public boolean isPassivating() {
        return true;
    }

    /** What the store does when Jetty calls this store's session data. */
    private final JettySessionData.Events events = new JettySessionData.Events() {
        @Override
        public void accessed(JettySessionData data) {
            RedisSessionStore s = store;
            TrackedSession tracked = data.tracked();
            if (s == null || tracked == null || s.isCurrent(tracked)) {
                return;
            }
            SessionRecord[] fresh = new SessionRecord[1];
            try {
                switch (s.reload(tracked, Thread.currentThread().getContextClassLoader(), fresh)) {
                    case RELOADED -> data.refresh(fresh[0]);
                    case GONE -> data.emptied();
                    default -> { }
                }
            } catch (RedisSessionStore.UnavailableException e) {
                // Redis cannot say: the copy is all there is
            }
        }

        @Override
        public void dropped(JettySessionData data) {
            drop(data.getId());
        }
    };

    /** The session went elsewhere (invalidated, expired or served there): out of this node's cache, without events. */
    private void drop(String id) {
        ScheduledExecutorService e = drops;
        if (e == null || e.isShutdown()) {
            return;
        }
        dropping.add(id);
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
                // A request is still using the copy; pulling the session from under it would fail
                // that request's completion. Try again shortly.
                e.schedule(() -> dropWhenIdle(e, id, attempt + 1), 50, TimeUnit.MILLISECONDS);
                return; // stays in "dropping" until then
            }
            cache.delete(id);
        } catch (Exception ex) {
            LOG.debug("Tether: dropping a stale session failed", ex);
        } finally {
            dropping.remove(id);
        }
    }

    /**
     * Thrown from a store at response commit when the session change was not stored: an Error, so
     * that Jetty's {@code catch (Exception)} around the commit lets it through, and an
     * {@link HttpException} with status 503, so that the response becomes a 503.
     */
    static final class NotStored extends Error implements HttpException {
        NotStored(WriteOutcome outcome) {
            super("Tether: the session change was not stored (" + outcome + "); please retry", null, false, false);
        }

        @Override
        public int getCode() {
            return 503;
        }

        @Override
        public String getReason() {
            return getMessage();
        }
    }

    @Override
    public String toString() {
        return "RedisSessionDataStore[" + configured.redactedUri() + "]";
    }
}
