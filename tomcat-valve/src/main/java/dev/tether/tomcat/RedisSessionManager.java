package dev.tether.tomcat;

import dev.tether.store.SessionRecord;
import dev.tether.store.RedisSessionStore;
import dev.tether.store.SessionId;
import dev.tether.store.Setting;
import dev.tether.store.Settings;
import dev.tether.store.TrackedSession;
import dev.tether.store.SessionStoreOptions;
import dev.tether.store.StoreStatsMBean;
import dev.tether.store.WriteOutcome;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.Session;
import org.apache.catalina.Valve;
import org.apache.catalina.session.ManagerBase;
import org.apache.catalina.session.StandardSession;
import org.apache.juli.logging.Log;
import org.apache.juli.logging.LogFactory;

/**
 * Tomcat session manager keeping every session in Redis while the owning node serves it from
 * memory. Configure it in context.xml:
 *
 * <pre>{@code <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="redis://127.0.0.1:6379"/>}</pre>
 *
 * <p>It installs {@link FailoverValve} first in the context's pipeline; the valve takes over
 * sessions that arrive with another node's route and writes each request's changes to Redis.
 */
public class RedisSessionManager extends ManagerBase {

    private static final Log log = LogFactory.getLog(RedisSessionManager.class);

    /** Bases this request thread already looked up in Redis without finding them. */
    private static final ThreadLocal<Missed> MISSED = new ThreadLocal<>();

    /** A base id this manager found no record for, in the request on this thread. */
    private record Missed(RedisSessionManager manager, String base) {
    }

    private final Settings settings = new Settings();
    private String route;

    private final FailoverValve valve = new FailoverValve(this);
    private final Map<String, TomcatSession> byBase = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<TomcatSession>> loading = new ConcurrentHashMap<>();
    private volatile RedisSessionStore store;
    private volatile String localRoute;
    private volatile javax.management.ObjectName statsName;

    public RedisSessionManager() {
        // Unlike Tomcat's default, a logged-in user must stay logged in after a failover.
        setPersistAuthentication(true);
    }

    // ---------------------------------------------------------------- configuration (context.xml)

    /**
     * Every Tether setting ({@link Setting}): Tomcat hands each {@code <Manager>} attribute without
     * a setter of its own here. An unknown name is refused with a warning.
     */
    public boolean setProperty(String name, String value) {
        return settings.set(name, value);
    }

    /** A Tether setting's configured value, or its default. */
    public String getProperty(String name) {
        return settings.get(name);
    }

    /** This node's route. Default: the Engine's jvmRoute. */
    public void setRoute(String route) { this.route = route; }
    public String getRoute() { return localRoute != null ? localRoute : route; }

    @Override
    public String getName() {
        return "RedisSessionManager";
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void setContext(Context context) {
        super.setContext(context);
        if (context != null) {
            // Added while the pipeline is still being built, so it runs before the authenticator,
            // which must already see the taken-over session (and its principal).
            context.getPipeline().addValve(valve);
        }
    }

    @Override
    protected void startInternal() throws LifecycleException {
        super.startInternal();
        Context context = getContext();
        boolean present = false;
        String authenticatorFirst = null;
        for (Valve v : context.getPipeline().getValves()) {
            present |= v == valve;
            if (!present && v instanceof org.apache.catalina.authenticator.AuthenticatorBase) {
                authenticatorFirst = v.getClass().getSimpleName();
            }
        }
        if (!present) {
            context.getPipeline().addValve(valve);
        }
        if (authenticatorFirst != null) {
            // Tomcat cannot put a valve before one already there (removing a valve destroys it): say so.
            log.error("Tether: in " + context.getName() + "'s context.xml the " + authenticatorFirst + " <Valve> comes before"
                    + " the <Manager>, so it runs before Tether's valve: it may let a user in on a copy of the session"
                    + " logged out on another node, and its login pages are answered before Tether can refuse them."
                    + " Declare the <Manager> first");
        }
        String r = route != null && !route.isEmpty() ? route : getJvmRoute();
        SessionStoreOptions options;
        try {
            RedisSessionStore.checkRoute("route", r);
            options = settings.toOptions(defaultPrefix(context));
        } catch (IllegalArgumentException e) {
            throw new LifecycleException("Tether: invalid <Manager> setting: " + e.getMessage(), e);
        }
        if (r == null || r.isEmpty()) {
            log.warn("Tether: no jvmRoute on the Engine and no route on the Manager; session ids carry no route suffix,"
                    + " so a balancer cannot keep users on their node");
        }
        localRoute = r;
        stoppedUnderARequest.set(false);
        getSessionIdGenerator().setJvmRoute(r);
        store = new RedisSessionStore(options, r);
        registerStats();
        // The connector opens right after the contexts start: the first requests after a restart
        // (the very ones a balancer fails over here) must find their sessions. Bounded, so the
        // application still starts when Redis is down.
        store.awaitConnected();
        log.info(store.describe(context.getName(), "route"));
        setState(org.apache.catalina.LifecycleState.STARTING);
    }

    static String defaultPrefix(Context context) {
        return Settings.defaultPrefix("tomcat", context.getParent() == null ? "localhost" : context.getParent().getName(), context.getPath());
    }

    /**
     * The core's statistics bean, beside the Manager's own: {@code <domain>:type=Tether,host=..,context=..}.
     * Not {@code type=Manager}: the manager application's status page reads any bean of that type
     * as a Manager. Registered directly, so that its attribute names stay those of the core's bean.
     */
    private void registerStats() {
        try {
            javax.management.ObjectName own = getObjectName();
            if (own == null) {
                return;
            }
            // The Manager's keys in the Manager's order (type, host, context): tools that match names
            // as text, such as the Prometheus exporter, see both beans alike.
            statsName = new javax.management.ObjectName(own.getDomain() + ":"
                    + own.getKeyPropertyListString().replace("type=Manager", "type=Tether"));
            javax.management.MBeanServer server = org.apache.tomcat.util.modeler.Registry.getRegistry(null, null).getMBeanServer();
            if (server.isRegistered(statsName)) {
                server.unregisterMBean(statsName);
            }
            server.registerMBean(new javax.management.StandardMBean(store.stats(), StoreStatsMBean.class), statsName);
        } catch (javax.management.JMException | RuntimeException e) {
            log.warn("Tether: cannot register the statistics MBean: " + e);
            statsName = null;
        }
    }

    private void unregisterStats() {
        javax.management.ObjectName name = statsName;
        statsName = null;
        if (name != null) {
            try {
                org.apache.tomcat.util.modeler.Registry.getRegistry(null, null).getMBeanServer().unregisterMBean(name);
            } catch (javax.management.JMException | RuntimeException e) {
                log.debug("Tether: unregistering the statistics MBean", e);
            }
        }
    }

    @Override
    protected void stopInternal() throws LifecycleException {
        setState(org.apache.catalina.LifecycleState.STOPPING);
        RedisSessionStore s = store;
        if (s != null) {
            // Sessions outlive this node: fire passivation (its listeners may still change the
            // session), then write what is unsaved, and keep the records.
            for (Session session : findSessions()) {
                if (session instanceof TomcatSession rs) {
                    try {
                        rs.passivate();
                    } catch (RuntimeException e) {
                        log.warn("Tether: a sessionWillPassivate listener failed: " + e);
                    }
                }
            }
            s.flush();
            for (Session session : findSessions()) {
                if (session instanceof TomcatSession rs && rs.tracked() != null) {
                    s.drop(rs.tracked());
                }
            }
            sessions.clear();
            byBase.clear();
            unregisterStats();
            s.close();
            store = null;
        }
        super.stopInternal();
    }

    @Override
    public void load() {
        // Nothing to load: sessions are read from Redis when a request asks for them.
    }

    @Override
    public void unload() {
        // Nothing to unload: Redis already holds every session.
    }

    // ---------------------------------------------------------------- sessions

    @Override
    protected StandardSession getNewSession() {
        return new TomcatSession(this);
    }

    @Override
    public Session createSession(String requestedId) {
        // A client-supplied id is never reused: it could name another user's record, or a record
        // this node could not see because Redis was down. The id of a session another application
        // of this host holds here is: Tomcat asks for it in a cross-context dispatch (and for a
        // session cookie shared by path "/"), so that both applications name the user's sessions
        // alike, as long as this application's Redis has neither a record nor a tombstone for it (an
        // id ended here on purpose is never used again); else the session gets an id of its own.
        Session session = super.createSession(heldByAnotherApplication(requestedId)
                && store.free(SessionId.parse(requestedId).base()) ? requestedId : null);
        TomcatSession rs = (TomcatSession) session;
        SessionId id = SessionId.parse(session.getIdInternal());
        if (id == null) {
            throw new IllegalStateException("Tether: the session id generator produced an id Tether cannot use");
        }
        rs.attach(store.create(id.base(), rs));
        return session;
    }

    /** Whether another web application of this host holds a session with exactly this id in this node's memory. */
    private boolean heldByAnotherApplication(String id) {
        if (id == null || SessionId.parse(id) == null || getContext() == null || getContext().getParent() == null) {
            return false;
        }
        for (org.apache.catalina.Container c : getContext().getParent().findChildren()) {
            if (c == getContext() || !(c instanceof Context other)) {
                continue;
            }
            org.apache.catalina.Manager m = other.getManager();
            Session held = m instanceof RedisSessionManager r ? r.sessions.get(id) : null;
            if (held == null && m instanceof ManagerBase base && !(m instanceof RedisSessionManager)) {
                try {
                    held = base.findSession(id); // Tomcat's own managers look in memory only
                } catch (IOException e) {
                    held = null;
                }
            }
            if (held != null && held.isValid()) {
                return true;
            }
        }
        return false;
    }

    /**
     * A request of another application reached this application's {@code session} through a
     * cross-context dispatch: it is made current and counted in, as this application's valve would;
     * the valve of that request writes it at the end.
     */
    void reachedAcrossContexts(TomcatSession session) {
        RedisSessionStore s = store;
        TrackedSession tracked = session.tracked();
        if (s == null || tracked == null || !CrossContext.reached(session, this)) {
            return;
        }
        try {
            current(s, session, false);
        } catch (RedisSessionStore.UnavailableException e) {
            CrossContext.failed(); // a copy known stale that Redis cannot refresh: the request is answered 503
        }
    }

    @Override
    public void add(Session session) {
        super.add(session);
        SessionId id = SessionId.parse(session.getIdInternal());
        if (id != null && session instanceof TomcatSession rs) {
            byBase.put(id.base(), rs);
        }
    }

    @Override
    public void remove(Session session, boolean update) {
        if (session instanceof TomcatSession ts && ts.isDropping()) {
            drop(ts); // moved elsewhere: neither an expiry nor an invalidation here
            return;
        }
        super.remove(session, update);
        if (!update) {
            // StandardSession.setId removes and re-adds around an id change: keeping the base
            // entry closes the gap in which a concurrent request would load a second copy.
            return;
        }
        SessionId id = SessionId.parse(session.getIdInternal());
        if (id != null) {
            byBase.remove(id.base(), session);
        }
        if (!update || !(session instanceof TomcatSession rs) || rs.tracked() == null) {
            return;
        }
        RedisSessionStore s = store;
        if (s == null) {
            return;
        }
        // Invalidated here (an expiry claimed the record already): delete it so no node resurrects it.
        if (!rs.tracked().isDropped()) {
            WriteOutcome outcome = s.await(s.invalidate(rs.tracked()));
            if (!outcome.stored()) {
                // The record lives on, logged in: the request that logged out must not be answered 2xx.
                // Several per request: a single sign-on logout ends the user's sessions of every application.
                java.util.List<Unstored> refused = UNSTORED_INVALIDATIONS.get();
                if (refused == null) {
                    refused = new java.util.ArrayList<>(1);
                    UNSTORED_INVALIDATIONS.set(refused);
                }
                refused.add(new Unstored(rs.tracked(), outcome));
                rs.invalidationRefused(outcome);
            }
        }
    }

    /** Invalidations Redis did not take, on this thread; the valve of the request answers 503. */
    private static final ThreadLocal<java.util.List<Unstored>> UNSTORED_INVALIDATIONS = new ThreadLocal<>();

    private record Unstored(TrackedSession session, WriteOutcome outcome) {
    }

    /**
     * The outcome of this thread's invalidation of {@code session} that was not stored, once; else
     * {@code null} (also for another request's, left on a thread an application lent to an
     * asynchronous request).
     *
     * @param async the request is asynchronous: its invalidation may have run on the application's
     *     own thread, so the session's record of it counts too (a synchronous request asks this
     *     thread only, so that a concurrent request's logout is not taken for its own)
     */
    WriteOutcome takeUnstoredInvalidation(TrackedSession session, boolean async) {
        java.util.List<Unstored> refused = UNSTORED_INVALIDATIONS.get();
        WriteOutcome own = null;
        if (refused != null) {
            for (java.util.Iterator<Unstored> i = refused.iterator(); i.hasNext() && own == null;) {
                Unstored u = i.next();
                if (u.session() == session) {
                    own = u.outcome();
                    i.remove(); // another session's stays for its own caller; endRequest clears what is left
                }
            }
        }
        // Only an asynchronous request takes the session's record: a synchronous one finishing first
        // must not take away the refusal of an asynchronous logout still on its way.
        WriteOutcome recorded = async && session.container() instanceof TomcatSession ts ? ts.takeInvalidationRefused() : null;
        return own != null ? own : recorded;
    }

    /**
     * The session a request names, current: the local copy if Redis has not told of another
     * node's change since, else read again; loaded from Redis when this node does not hold it. The
     * valve calls this before the application runs, so that a failure answers 503 rather than
     * giving the user a new, empty session.
     *
     * @return the session, or {@code null} when there is none (never was, or invalidated or expired)
     * @throws RedisSessionStore.UnavailableException when Redis cannot be asked about a session this node does not hold
     */
    TomcatSession resolve(String id) throws RedisSessionStore.UnavailableException {
        SessionId parsed = SessionId.parse(id);
        RedisSessionStore s = store;
        if (parsed == null || s == null || !getState().isAvailable()) {
            return null; // malformed: "no session", and it never reaches Redis
        }
        Session local = sessions.get(id);
        TomcatSession held = local instanceof TomcatSession ts ? ts : byBase.get(parsed.base());
        if (held != null && held.tracked() != null && !held.isDropping()) {
            return current(s, held, local == null); // held under another route: the user hopped here
        }
        TomcatSession loaded = loadShared(parsed);
        if (loaded != null && loaded.tracked() != null) {
            loaded.tracked().requestStarted();
        }
        return loaded;
    }

    /**
     * Checks a held copy against Redis (free while Redis has not told of a change) and refreshes it;
     * the store counts the request once it is resolved. Under the session's lock: requests arriving
     * together resolve one after the other, so the first reads a stale copy again and the others
     * find it current (counted first, they would all have kept the stale copy).
     */
    private TomcatSession current(RedisSessionStore s, TomcatSession held, boolean hopped) throws RedisSessionStore.UnavailableException {
        TrackedSession tracked = held.tracked();
        synchronized (held) {
            SessionRecord[] fresh = new SessionRecord[1];
            switch (s.enter(tracked, classLoader(), fresh, hopped)) {
                case GONE:
                    return null; // invalidated or expired elsewhere: the copy is dropped
                case UNAVAILABLE:
                    // Known stale (maybe logged out elsewhere) and Redis cannot say: 503, never the stale copy.
                    throw new RedisSessionStore.UnavailableException(dev.tether.store.redis.Failure.OTHER, null);
                case RELOADED:
                    held.refresh(fresh[0], getPersistAuthentication());
                    return held;
                default:
                    return held;
            }
        }
    }

    @Override
    public Session findSession(String id) throws IOException {
        if (id == null) {
            return null;
        }
        Session local = sessions.get(id);
        if (local != null) {
            return local;
        }
        SessionId parsed = SessionId.parse(id);
        if (parsed == null) {
            return null; // malformed: "no session", and it never reaches Redis
        }
        TomcatSession sameBase = byBase.get(parsed.base());
        if (sameBase != null) {
            return sameBase;
        }
        RedisSessionStore s = store;
        if (s == null || !getState().isAvailable() || new Missed(this, parsed.base()).equals(MISSED.get())) {
            return null;
        }
        try {
            return loadShared(parsed);
        } catch (RedisSessionStore.UnavailableException e) {
            // Outside a request the valve saw (the manager application, say): no session. In a
            // cross-context dispatch, the request that reached here is answered 503.
            CrossContext.unreadable(this);
            return null;
        }
    }

    /** One load per base id, however many requests ask at once: they all get the same session. */
    private TomcatSession loadShared(SessionId id) throws RedisSessionStore.UnavailableException {
        CompletableFuture<TomcatSession> mine = new CompletableFuture<>();
        CompletableFuture<TomcatSession> running = loading.putIfAbsent(id.base(), mine);
        if (running != null) {
            try {
                return running.get(store.options().commandTimeout().toMillis() * 2 + 1000, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof RedisSessionStore.UnavailableException u ? u
                        : new RedisSessionStore.UnavailableException(dev.tether.store.redis.Failure.OTHER, e);
            } catch (Exception e) {
                throw new RedisSessionStore.UnavailableException(dev.tether.store.redis.Failure.TIMEOUT, e);
            }
        }
        try {
            TomcatSession again = byBase.get(id.base());
            TomcatSession loaded = again != null ? again : load(id);
            mine.complete(loaded);
            return loaded;
        } catch (RedisSessionStore.UnavailableException | RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            loading.remove(id.base(), mine);
        }
    }

    private ClassLoader classLoader() {
        return getContext().getLoader() != null ? getContext().getLoader().getClassLoader()
                : Thread.currentThread().getContextClassLoader();
    }

    private TomcatSession load(SessionId id) throws RedisSessionStore.UnavailableException {
        SessionRecord loaded = store.load(id.base(), id.route(), classLoader());
        if (loaded == null) {
            MISSED.set(new Missed(this, id.base()));
            return null;
        }
        TomcatSession session = (TomcatSession) createEmptySession();
        // Keep the requested id for now; the valve re-suffixes it through changeSessionId so that
        // listeners fire and a new cookie goes out.
        session.restore(id.withRoute(id.route()), loaded, getPersistAuthentication());
        session.activate();
        if (log.isDebugEnabled()) {
            log.debug("Tether: loaded session " + id + " (previous owner " + loaded.previousOwner() + ")");
        }
        return session;
    }

    @Override
    protected void changeSessionId(Session session, String newId, boolean notifySessionListeners,
            boolean notifyContainerListeners) {
        SessionId oldParsed = SessionId.parse(session.getIdInternal());
        SessionId newParsed = SessionId.parse(newId);
        super.changeSessionId(session, newId, notifySessionListeners, notifyContainerListeners);
        if (oldParsed != null && newParsed != null && !oldParsed.base().equals(newParsed.base())) {
            byBase.remove(oldParsed.base(), session); // the old base must no longer find it
        }
        if (session instanceof TomcatSession rs && rs.tracked() != null && oldParsed != null && newParsed != null
                && !oldParsed.base().equals(newParsed.base()) && store != null) {
            // A new base (fixation protection): move the record; a new route alone moves nothing.
            WriteOutcome moved = store.await(store.changeId(rs.tracked(), newParsed.base()));
            if (!moved.stored()) {
                rs.idChangeRefused(moved); // the valve answers 503; the copy is dropped
            }
        }
    }

    // ---------------------------------------------------------------- used by the valve and the session

    String localRoute() {
        return localRoute;
    }

    RedisSessionStore store() {
        return store;
    }

    /** Takes a stale copy out of this node's maps without events; a request still using it finishes normally. */
    void drop(TomcatSession session) {
        super.remove(session, false);
        SessionId id = SessionId.parse(session.getIdInternal());
        if (id != null) {
            byBase.remove(id.base(), session);
        }
        RedisSessionStore s = store;
        if (s != null && session.tracked() != null) {
            s.drop(session.tracked());
        }
    }

    /** Before a local expiry fires its events: claims it in Redis (once in the cluster, never for a session used elsewhere). */
    RedisSessionStore.Expiry claimExpiry(TrackedSession state) {
        RedisSessionStore s = store;
        return s == null ? RedisSessionStore.Expiry.UNKNOWN : s.expire(state);
    }

    /**
     * Tomcat's background expiry, plus the sessions that expired while no node held them (their node
     * crashed or stopped for good): this node claims some and fires their destruction events.
     */
    @Override
    public void processExpires() {
        super.processExpires();
        RedisSessionStore s = store;
        if (s == null || !getState().isAvailable()) {
            return;
        }
        for (SessionRecord r : s.claimExpired(System.currentTimeMillis(), classLoader())) {
            TomcatSession session = (TomcatSession) createEmptySession();
            session.restore(r.tracked().baseId() + (localRoute == null || localRoute.isEmpty() ? "" : "." + localRoute), r,
                    getPersistAuthentication());
            session.expireClaimed();
        }
    }

    /**
     * An invalidation on this thread that Redis did not take, of a session no caller asked about
     * (another application's, ended by a single sign-on logout), once; else {@code null}.
     */
    static WriteOutcome takeOtherUnstoredInvalidation() {
        java.util.List<Unstored> refused = UNSTORED_INVALIDATIONS.get();
        if (refused == null || refused.isEmpty()) {
            return null;
        }
        WriteOutcome first = refused.get(0).outcome();
        refused.clear();
        return first;
    }

    private final java.util.concurrent.atomic.AtomicBoolean stoppedUnderARequest = new java.util.concurrent.atomic.AtomicBoolean();

    /** A request that used a session ended after this application stopped: answered 503, said once per stop. */
    void stoppedUnderARequest() {
        if (stoppedUnderARequest.compareAndSet(false, true)) {
            log.warn("Tether: " + getContext().getName() + " stopped while requests were still using sessions; those that"
                    + " ended afterwards were answered 503 (their changes could not be stored). Tomcat waits unloadDelay"
                    + " (default 2 s) for running requests: raise it on the Context for slow requests");
        }
    }

    void endRequest() {
        MISSED.remove();
        UNSTORED_INVALIDATIONS.remove();
    }

    /** Attributes Tomcat's own sessionAttributeNameFilter / ValueClassNameFilter let out of this node. */
    Map<String, Object> distributable(Map<String, Object> attributes) {
        Pattern names = getSessionAttributeNamePattern();
        Pattern classes = getSessionAttributeValueClassNamePattern();
        if (names == null && classes == null) {
            return attributes;
        }
        Map<String, Object> out = new HashMap<>();
        attributes.forEach((k, v) -> {
            if (willAttributeDistribute(k, v)) {
                out.put(k, v);
            }
        });
        return out;
    }
}
