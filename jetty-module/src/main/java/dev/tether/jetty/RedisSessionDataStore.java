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
import org.eclipse.jetty.session.UnreadableSessionDataException;
import org.eclipse.jetty.util.annotation.ManagedObject;
import org.eclipse.jetty.util.thread.AutoLock;
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
        warnAboutJettySettings(contextPath);
        super.doStart();
    }

    /** Jetty settings that would break Tether's promises: one line each, at start. */
    private void warnAboutJettySettings(String contextPath) {
        org.eclipse.jetty.session.SessionManager manager = _context.getSessionManager();
        org.eclipse.jetty.session.SessionCache cache = manager == null ? null : manager.getSessionCache();
        if (cache != null && !cache.isFlushOnResponseCommit()) {
            LOG.warn("Tether ({}): jetty.session.flushOnResponseCommit is false: a session change Redis refuses is found only after"
                    + " the response went out, so it cannot be answered 503 (it is counted as AcknowledgedUnstored and logged);"
                    + " set it to true (the session-store-redis module does unless start.d overrides it)", contextPath);
        }
        if (cache != null && cache.getEvictionPolicy() > 0) {
            LOG.warn("Tether ({}): jetty.session.evictionPolicy={} evicts sessions from Jetty's cache without telling the store:"
                    + " an evicted session keeps its Tether copy in memory and gets no sessionDestroyed when it expires; use -1"
                    + " (Tether already keeps only changed data in Redis)", contextPath, cache.getEvictionPolicy());
        }
        org.eclipse.jetty.session.HouseKeeper keeper = manager == null || manager.getSessionIdManager() == null ? null
                : manager.getSessionIdManager().getSessionHouseKeeper();
        long sweep = keeper == null ? 0 : keeper.getIntervalSec();
        long window = 2 * configured.touchInterval().toSeconds(); // claimable one interval after expiry, gone by TTL three to four after
        if (sweep <= 0 || sweep > window) {
            LOG.warn("Tether ({}): Jetty scavenges sessions {}; sessions of a node that stopped for good leave Redis by TTL about {} s"
                    + " after they expire, and get their sessionDestroyed only if a scavenge finds them first: set"
                    + " jetty.sessionScavengeInterval.seconds to {} or less (the session-store-redis module sets 60)", contextPath,
                    sweep <= 0 ? "never" : "every " + sweep + " s", window, window);
        }
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
            RedisSessionStore s = store;
            if (s != null) {
                s.unreadable();
            }
            throw new HttpException.RuntimeException(503, "Tether: the session could not be read from Redis; please retry");
        }
        // Refused here, loudly, rather than at the first store: the application's getSession(true)
        // fails, not a later write. The core learns of the session when Jetty first stores it
        // (Jetty calls this also for data it never stores, and only stored data may reach Redis).
        return newData(checked(id), created, accessed, lastAccessed, maxInactiveMs);
    }

    /**
     * A session id the container made or named, refused loudly if it cannot be a key: an exception
     * for the caller and one log line, never a silent drop.
     */
    private String checked(String id) {
        SessionId parsed = SessionId.parse(id);
        if (parsed == null || parsed.route() != null) {
            String why = "Tether: session id " + SessionId.redact(id) + " is refused: an id must be " + SessionId.MIN_BASE_LENGTH
                    + "-" + SessionId.MAX_BASE_LENGTH + " characters of [A-Za-z0-9_-] (a custom SessionIdManager?); the session"
                    + " cannot be kept in Redis";
            RedisSessionStore s = store;
            if (s == null || s.logNow("refused-id")) {
                LOG.warn(why + " (logged at most once an hour; each such session fails)");
            }
            throw new IllegalArgumentException(why);
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
        if (loaded == null) {
            unreadable.remove(id);
            return null;
        }
        return data(id, loaded);
    }

    /**
     * Jetty's session data from a record, times verbatim (an expired record too: Jetty decides).
     *
     * @throws UnreadableSessionDataException when the record cannot be read as a session (its
     *     session fields are missing or not numbers). An attribute whose bytes cannot be read is not
     *     that: the core leaves it out, logs it and counts it, and the session keeps the rest.
     */
    private JettySessionData data(String id, SessionRecord loaded) throws UnreadableSessionDataException {
        String why = JettySessionData.unreadable(loaded);
        if (why != null) {
            RedisSessionStore s = store;
            if (s != null) {
                s.drop(loaded.tracked());
            }
            if (remember(unreadable, id)) {
                // Once per id: Jetty loads it again right away to invalidate it, and fails again.
                LOG.warn("Tether: session {} in Redis cannot be read as a Jetty session ({}); Jetty treats it as unreadable"
                        + " (removeUnloadableSessions decides whether it is deleted) and its id is not reused", SessionId.redact(id), why);
            }
            // Jetty logs this exception's message at WARN with the id it carries: the redacted one.
            // (Jetty's cache deletes, if it does, by the id it asked for, not the exception's.)
            throw new UnreadableSessionDataException(SessionId.redact(id), _context,
                    new java.io.StreamCorruptedException("Tether: the record of session " + SessionId.redact(id) + " is damaged: " + why));
        }
        unreadable.remove(id);
        JettySessionData data = newData(id, loaded.creationTime(), JettySessionData.accessed(loaded), loaded.lastAccessedTime(), -1);
        data.restoreMetadata(loaded);
        data.putAllAttributes(loaded.attributes());
        data.attach(loaded.tracked());
        return data;
    }

    /** Ids whose record was found unreadable, so that {@link #doExists} does not offer them for reuse. */
    private final Set<String> unreadable = ConcurrentHashMap.newKeySet();

    /** Remembers an id; whether it is new. */
    private static boolean remember(Set<String> ids, String id) {
        if (ids.size() >= 10_000) {
            ids.clear(); // bounded; only a damaged Redis fills it
        }
        return ids.add(id);
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
        if (s == null) {
            throw new IllegalStateException("Tether: session " + SessionId.redact(id) + " cannot be stored: the store is not running");
        }
        if (!(data instanceof JettySessionData rd)) {
            String why = "Tether: session " + SessionId.redact(id) + " is refused: its " + (data == null ? "data is null"
                    : data.getClass().getName() + " was not made by this store's newSessionData") + "; it cannot be kept in Redis";
            LOG.warn(why);
            throw new IllegalArgumentException(why);
        }
        boolean lastLeft = storingLastLeft.get() != null;
        TrackedSession tracked = rd.tracked();
        WriteOutcome outcome;
        boolean idChange = false;
        if (tracked == null) {
            // The first store of this data. Jetty says whether the session was saved before: then
            // its record exists (written by another instance, or before a restart) and this write
            // replaces it; otherwise the record is new, and must not exist yet.
            checked(id);
            Adopted adopted = lastSaveTime > 0 ? adopt(s, id, rd) : Adopted.NO_RECORD;
            if (adopted == Adopted.UNAVAILABLE) {
                outcome = WriteOutcome.FAILED;
            } else if (adopted == Adopted.ADOPTED) {
                outcome = s.await(s.commit(rd.tracked(), rd.snapshot(), lastLeft));
            } else {
                rd.attach(tracked = s.create(id, rd));
                outcome = s.await(s.commit(tracked, rd.snapshot(), true));
            }
        } else if (!tracked.baseId().equals(id)) {
            // Jetty renewed the session id (fixation protection at login): it deleted the old id
            // (kept, see delete) and stores the data under the new one. One fenced step in the core.
            checked(id);
            renewing.remove(tracked.baseId());
            idChange = true; // in the application's changeSessionId or login, not at the response
            if (tracked.isDropped() && rd.endedElsewhere) {
                // A request found the session ended on another node (a logout there) while Jetty still
                // served its emptied copy here, and a login on it renews its id: the new id is a
                // session of its own, written as new. The old id stays ended; moving it would only
                // answer DROPPED, and the login would be acknowledged and never stored (the fault
                // suite's logged-out user). Only then: a copy this node ended (an administrator, the
                // per-user limit) still holds its attributes, and must not live on under a new id.
                rd.attach(tracked = s.create(id, rd));
                outcome = s.await(s.commit(tracked, rd.snapshot(), true));
            } else {
                outcome = s.await(s.changeId(tracked, id));
            }
        } else {
            outcome = s.await(s.commit(tracked, rd.snapshot(), lastLeft));
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug("Tether: stored {} -> {}", SessionId.redact(id), outcome);
        }
        if (outcome == WriteOutcome.DROPPED && rd.endedElsewhere && !rd.getKeys().isEmpty()) {
            // The request ran on the emptied copy of a session ended elsewhere (Jetty keeps serving
            // it) and set attributes there: they are stored nowhere. Refused, its retry gets a new session.
            outcome = WriteOutcome.GONE;
        }
        if (outcome.stored()) {
            rd.answeredRefusal = false;
        } else if (outcome != WriteOutcome.DROPPED) {
            if (lastLeft) {
                // The response is out. If the change left over was refused to its request with a
                // 503 already, this is no acknowledged change that was lost.
                if (!rd.answeredRefusal) {
                    s.refused(outcome, true);
                }
                return;
            }
            refuse(s, outcome, !idChange, rd);
            rd.answeredRefusal = true;
        }
    }

    /**
     * The request's change was not stored: its response becomes a 503 with Retry-After
     * ({@link RefusalHandler}), counted once per request; without the handler, the request fails.
     *
     * @param atSend Jetty stores as the response's headers are about to go out
     * @param data the session whose change it was
     */
    private void refuse(RedisSessionStore s, WriteOutcome outcome, boolean atSend, JettySessionData data) {
        SessionManager manager = _context.getSessionManager();
        if (manager != null && manager.isStopping() && !RefusalHandler.handling()) {
            // Jetty's cache stores every session as the context stops, outside any request: an
            // error here would cut that loop short, and the rest of the stop (this store's wait
            // for writes queued in an outage) with it. An asynchronous request still using the
            // session is told; else nobody can be.
            if (!RefusalHandler.record(s, outcome, false, data)) {
                s.refusedAtStop(outcome);
            }
            return;
        }
        if (RefusalHandler.record(s, outcome, atSend)) {
            return;
        }
        s.refused(outcome, false);
        throw new NotStored(outcome);
    }

    private enum Adopted { ADOPTED, NO_RECORD, UNAVAILABLE }

    /**
     * Binds data Jetty says was saved before, but that this instance never read or wrote, to the
     * record in Redis: the record is read (its version is what the write builds on), and every
     * attribute of the data counts as set and every other one of the record as removed, so that
     * the write makes the record what Jetty handed over, as Jetty's contract for an update says.
     */
    private Adopted adopt(RedisSessionStore s, String id, JettySessionData rd) {
        SessionRecord existing;
        try {
            existing = s.load(id, null, Thread.currentThread().getContextClassLoader());
        } catch (RedisSessionStore.UnavailableException e) {
            return Adopted.UNAVAILABLE;
        }
        if (existing == null) {
            return Adopted.NO_RECORD;
        }
        TrackedSession tracked = existing.tracked();
        Map<String, Object> handedOver = rd.getAllAttributes(); // not getAttribute: that counts as the application's read
        for (String name : handedOver.keySet()) {
            tracked.attributeSet(name);
        }
        for (String name : existing.attributes().keySet()) {
            if (!handedOver.containsKey(name)) {
                tracked.attributeRemoved(name);
            }
        }
        rd.attach(tracked);
        return Adopted.ADOPTED;
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
        if (outcome.stored()) {
            unreadable.remove(id);
        } else {
            // A logout Redis did not take: the record lives on, logged in, so the request that
            // logged out is answered 503, not 2xx. (Jetty goes on invalidating its copy; the next
            // request reads the record again.) On an asynchronous request's own thread, the requests
            // using the session are told. Outside a request (an expiry) there is nobody to tell.
            RefusalHandler.record(s, outcome, false, tracked != null && tracked.container() instanceof JettySessionData d ? d : null);
        }
        return outcome.stored();
    }

    /**
     * Whether a live session has this id: its record exists and has not expired (by the same rule
     * as every other Tether node: the record's idle time against its max-inactive interval, within
     * one touch interval). Jetty also asks this before it reuses a requested id for a new session:
     * an id whose record this store found unreadable is not offered again, so the user gets a new
     * id rather than a new session that the damaged record would refuse.
     */
    @Override
    public boolean doExists(String id) throws Exception {
        RedisSessionStore s = store;
        return s != null && SessionId.parse(id) != null && !unreadable.contains(id) && s.exists(id);
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
            if (SessionId.parse(id) == null) {
                expired.add(id); // cannot be in Redis
                continue;
            }
            TrackedSession tracked = s.owned(id);
            if (tracked == null) {
                if (s.isRedisAvailable() && !s.exists(id)) {
                    expired.add(id);
                }
                continue;
            }
            switch (s.expire(tracked)) {
                case EXPIRED -> expired.add(id);
                case UNKNOWN -> { } // Redis cannot say; another node may serve it: asked again at the next run
                default -> {
                    if (tracked.isDropped()) {
                        drop(id); // else a request is using it: it stays
                    }
                }
            }
        }
        // Sessions of nodes that stopped for good, at every scavenge: Jetty asks doGetExpired only
        // at its first scavenge (it moves its last-check time on every call), and the records
        // leave Redis by TTL a few touch intervals after they expire.
        expired.addAll(claim(System.currentTimeMillis()));
        return expired;
    }

    /**
     * Sessions of this context that expired at or before {@code before} while no node held them
     * (their node crashed or stopped for good), any node's: claimed in Redis, so that exactly one
     * node fires their destruction events (Jetty loads each one next, from {@link #doLoad}).
     */
    @Override
    public Set<String> doGetExpired(long before) {
        return claim(sweepTime(before));
    }

    /**
     * Deletes sessions that expired at or before {@code time}, without events. This context's:
     * claimed like {@link #doGetExpired} (whatever that left). Other contexts' records live under
     * their own key prefixes, which this store does not scan: Redis' TTL (max-inactive + four touch
     * intervals) removes every record, of every context, that nobody touches any more.
     */
    @Override
    public void doCleanOrphans(long time) {
        claim(sweepTime(time)).forEach(claimed::remove); // long dead: claimed without events
    }

    /**
     * The core claims sessions whose expiry lies one touch interval before the time it is given
     * (its grace for a record's access time lagging behind requests served without a write).
     * Jetty's time already has Jetty's grace period taken off, so the core is given Jetty's time
     * plus that interval: sessions expired at or before Jetty's time.
     */
    private long sweepTime(long jettyTime) {
        return jettyTime + configured.touchInterval().toMillis();
    }

    /** Claims what the core's sweep finds at {@code sweepTime}; each claim checks, atomically in Redis, that the session is idle now. */
    private Set<String> claim(long sweepTime) {
        RedisSessionStore s = store;
        Set<String> ids = new HashSet<>();
        if (s == null) {
            return ids;
        }
        for (SessionRecord r : s.claimExpired(sweepTime, Thread.currentThread().getContextClassLoader())) {
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
        public boolean expiredElsewhereToo(JettySessionData data) {
            RedisSessionStore s = store;
            TrackedSession tracked = data.tracked();
            if (s == null || tracked == null || tracked.isDropped() || SessionId.parse(data.getId()) == null) {
                return true;
            }
            Boolean live = s.live(data.getId());
            if (Boolean.FALSE.equals(live)) {
                return true;
            }
            // Served elsewhere, or Redis cannot say: the copy stays. Its expiry moves on, else
            // Jetty's inactivity timer, which asks again as soon as the copy's expiry has passed,
            // would ask at once, again and again.
            data.setExpiry(System.currentTimeMillis() + (live == null ? 5_000 : configured.touchInterval().toMillis()));
            return false;
        }

        @Override
        public void accessed(JettySessionData data) {
            RedisSessionStore s = store;
            TrackedSession tracked = data.tracked();
            if (s == null) {
                tracked.requestStarted();
                return;
            }
            // Under the session's lock (Jetty's access): requests arriving together resolve in turn.
            SessionRecord[] fresh = new SessionRecord[1];
            switch (s.enter(tracked, Thread.currentThread().getContextClassLoader(), fresh, hopped(s, data.getId()))) {
                case RELOADED -> data.refresh(fresh[0]);
                case GONE -> {
                    data.emptied();
                    return; // not counted
                }
                case UNAVAILABLE -> {
                    // Known stale (maybe logged out elsewhere) and Redis cannot say: never the stale copy.
                    s.unreadable();
                    throw new HttpException.RuntimeException(503, "Tether: the session could not be checked with Redis; please retry");
                }
                default -> { }
            }
            RefusalHandler.entered(s, tracked, data); // counted out as its response goes out
        }

        @Override
        public void dropped(JettySessionData data) {
            drop(data.getId());
        }
    };

    /**
     * Whether the request's session id names another node's workerName: the balancer moved the
     * user here from there, where the session may have changed (a logout) since this node's copy.
     */
    private boolean hopped(RedisSessionStore s, String base) {
        String worker = _context.getWorkerName();
        if (s.options().shared() || worker == null || worker.isEmpty()) {
            return false;
        }
        org.eclipse.jetty.session.SessionManager manager = _context.getSessionManager();
        String route = manager == null ? null
                : RefusalHandler.requestedRoute(manager.getSessionCookie(), manager.getSessionIdPathParameterName(), base);
        return route != null && !route.equals(worker);
    }

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
        boolean later = false;
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
            // Under the session's lock, the check and the delete are one step: a request entering
            // meanwhile waits, then finds the session gone from the cache and loads it afresh
            // (Jetty's cache retries a session that is no longer resident), instead of running on a
            // copy deleted under it ("Invalid for read: not resident").
            try (AutoLock locked = session.lock()) {
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
                    later = true; // stays in "dropping" until then: Jetty's delete must not become an invalidation
                    return;
                }
                cache.delete(id);
            }
        } catch (Exception ex) {
            LOG.debug("Tether: dropping a stale session failed", ex);
        } finally {
            if (!later) {
                dropping.remove(id);
            }
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
