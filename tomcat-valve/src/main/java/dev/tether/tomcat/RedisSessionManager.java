package dev.tether.tomcat;

import dev.tether.store.LoadedSession;
import dev.tether.store.RedisSessionStore;
import dev.tether.store.SessionId;
import dev.tether.store.SessionState;
import dev.tether.store.SessionStoreOptions;
import dev.tether.store.StoreSettings;
import dev.tether.store.StoreStats;
import dev.tether.store.WriteOutcome;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
    private static final ThreadLocal<String> MISSED = new ThreadLocal<>();

    private final StoreSettings settings = new StoreSettings();
    private String route;

    private final FailoverValve valve = new FailoverValve(this);
    private final Map<String, RedisSession> byBase = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<RedisSession>> loading = new ConcurrentHashMap<>();
    private volatile RedisSessionStore store;
    private volatile String localRoute;

    public RedisSessionManager() {
        // Unlike Tomcat's default, a logged-in user must stay logged in after a failover.
        setPersistAuthentication(true);
    }

    // ---------------------------------------------------------------- configuration (context.xml)

    /** {@code redis://}, {@code rediss://}, {@code redis-sentinel://h:p,h:p#master} or {@code redis-cluster://h:p,h:p}. Default {@code redis://127.0.0.1:6379}. */
    public void setRedisUri(String v) { settings.setRedisUri(v); }
    public String getRedisUri() { return settings.getRedisUri(); }
    /** Key prefix. Default {@code tether:tomcat:<host><contextPath>:}, so two applications never share sessions. */
    public void setKeyPrefix(String v) { settings.setKeyPrefix(v); }
    public String getKeyPrefix() { return settings.getKeyPrefix(); }
    /** This node's route. Default: the Engine's jvmRoute. */
    public void setRoute(String route) { this.route = route; }
    public String getRoute() { return localRoute != null ? localRoute : route; }
    /** ON_SET_ATTRIBUTE, ON_GET_ATTRIBUTE (default) or ALWAYS. */
    public void setSaveMode(String v) { settings.setSaveMode(v); }
    public String getSaveMode() { return settings.getSaveMode(); }
    /** Redis command timeout in ms. Default 1000. */
    public void setCommandTimeoutMillis(int v) { settings.setCommandTimeoutMillis(v); }
    public int getCommandTimeoutMillis() { return settings.getCommandTimeoutMillis(); }
    /** Redis connect timeout in ms. Default 2000. */
    public void setConnectTimeoutMillis(int v) { settings.setConnectTimeoutMillis(v); }
    public int getConnectTimeoutMillis() { return settings.getConnectTimeoutMillis(); }
    /** Longest a read-only session's last-access time in Redis may lag, in s. Default 60. */
    public void setTouchIntervalSeconds(int v) { settings.setTouchIntervalSeconds(v); }
    public int getTouchIntervalSeconds() { return settings.getTouchIntervalSeconds(); }
    /** Sessions whose writes are kept while Redis is down. Default 10000. */
    public void setMaxPendingSessions(int v) { settings.setMaxPendingSessions(v); }
    public int getMaxPendingSessions() { return settings.getMaxPendingSessions(); }
    /** Largest serialized attribute stored. Default 1048576. */
    public void setMaxAttributeBytes(int v) { settings.setMaxAttributeBytes(v); }
    public int getMaxAttributeBytes() { return settings.getMaxAttributeBytes(); }
    /** Class patterns readable from Redis, comma-separated. Default {@code *}. */
    public void setAllowClasses(String v) { settings.setAllowClasses(v); }
    public String getAllowClasses() { return settings.getAllowClasses(); }
    /** Class patterns never read, on top of the built-in gadget list. Default none. */
    public void setDenyClasses(String v) { settings.setDenyClasses(v); }
    public String getDenyClasses() { return settings.getDenyClasses(); }
    /** Deepest object graph read. Default 100. */
    public void setMaxDepth(int v) { settings.setMaxDepth(v); }
    public int getMaxDepth() { return settings.getMaxDepth(); }
    /** Longest array read. Default 1000000. */
    public void setMaxArrayLength(int v) { settings.setMaxArrayLength(v); }
    public int getMaxArrayLength() { return settings.getMaxArrayLength(); }
    /** Most object references in one attribute. Default 1000000. */
    public void setMaxReferences(int v) { settings.setMaxReferences(v); }
    public int getMaxReferences() { return settings.getMaxReferences(); }
    /** Replicas that must acknowledge each write (Redis WAIT). Default 0: don't wait. */
    public void setWaitReplicas(int v) { settings.setWaitReplicas(v); }
    public int getWaitReplicas() { return settings.getWaitReplicas(); }
    /** Longest a write waits for those replicas, in ms. Default 500. */
    public void setWaitTimeoutMillis(int v) { settings.setWaitTimeoutMillis(v); }
    public int getWaitTimeoutMillis() { return settings.getWaitTimeoutMillis(); }

    // ---------------------------------------------------------------- JMX (Catalina:type=Manager,...)

    /** Whether Redis answers right now. */
    public boolean isRedisAvailable() {
        RedisSessionStore s = store;
        return s != null && s.isRedisAvailable();
    }

    private long stat(java.util.function.ToLongFunction<StoreStats> f) {
        RedisSessionStore s = store;
        return s == null ? 0 : f.applyAsLong(s.stats());
    }

    /** Sessions created on this node since start. */
    public long getTetherSessionsCreated() { return stat(StoreStats::sessionsCreated); }
    /** Sessions loaded from Redis that this node had owned before (e.g. after its restart). */
    public long getTetherSessionsLoaded() { return stat(StoreStats::sessionsLoaded); }
    /** Sessions taken over from other routes, in total. */
    public long getTetherSessionsTakenOver() { return stat(StoreStats::sessionsTakenOverTotal); }
    /** Sessions taken over, by previous route, as {@code route=count,...}. */
    public String getTetherSessionsTakenOverByRoute() {
        RedisSessionStore s = store;
        return s == null ? "" : s.stats().sessionsTakenOverByRoute();
    }
    public long getTetherWrites() { return stat(StoreStats::writes); }
    /** Writes and deletes refused because another node owns the session. */
    public long getTetherWritesFenced() { return stat(StoreStats::writesFenced); }
    public long getTetherRedisErrors() { return stat(StoreStats::redisErrors); }
    /** Writes queued while Redis was unreachable, since start. */
    public long getTetherWritesQueued() { return stat(StoreStats::writesQueued); }
    /** Sessions waiting for Redis right now. */
    public long getTetherWritesPending() {
        RedisSessionStore s = store;
        return s == null ? 0 : s.pendingWrites();
    }
    public long getTetherAttributesRejected() { return stat(StoreStats::attributesRejected); }
    public long getTetherAttributesNotSerializable() { return stat(StoreStats::attributesNotSerializable); }
    public long getTetherAttributesTooLarge() { return stat(StoreStats::attributesTooLarge); }
    public long getTetherWriteLatencyP50Micros() { return stat(st -> st.writeLatencyMicros(0.50)); }
    public long getTetherWriteLatencyP99Micros() { return stat(st -> st.writeLatencyMicros(0.99)); }

    StoreStats storeStats() {
        RedisSessionStore s = store;
        return s == null ? null : s.stats();
    }

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
        for (Valve v : context.getPipeline().getValves()) {
            present |= v == valve;
        }
        if (!present) {
            context.getPipeline().addValve(valve);
        }
        String r = route != null && !route.isEmpty() ? route : getJvmRoute();
        if (r != null && !SessionId.isValidRoute(r)) {
            throw new LifecycleException("Tether: route '" + r + "' is not usable: a route may only contain letters, digits, '_' and '-'"
                    + " (balancers split the session id at the first dot)");
        }
        if (r == null || r.isEmpty()) {
            log.warn("Tether: no jvmRoute on the Engine and no route on the Manager; session ids carry no route suffix,"
                    + " so a balancer cannot keep users on their node");
        }
        localRoute = r;
        getSessionIdGenerator().setJvmRoute(r);
        SessionStoreOptions options;
        try {
            options = settings.toOptions(defaultPrefix(context));
        } catch (IllegalArgumentException e) {
            throw new LifecycleException("Tether: invalid <Manager> setting: " + e.getMessage(), e);
        }
        String prefix = options.keyPrefix();
        store = new RedisSessionStore(options, r);
        // The connector opens right after the contexts start: the first requests after a restart
        // (the very ones a balancer fails over here) must find their sessions. Bounded, so the
        // application still starts when Redis is down.
        store.awaitConnected();
        log.info("Tether: sessions of " + context.getName() + " are kept in Redis under '" + prefix + "{id}', route "
                + (r == null ? "(none)" : r) + ", save mode " + options.saveMode());
        setState(org.apache.catalina.LifecycleState.STARTING);
    }

    static String defaultPrefix(Context context) {
        String host = context.getParent() == null ? "localhost" : context.getParent().getName();
        String path = context.getPath() == null || context.getPath().isEmpty() ? "/" : context.getPath();
        return "tether:tomcat:" + host + path + ":";
    }

    @Override
    protected void stopInternal() throws LifecycleException {
        setState(org.apache.catalina.LifecycleState.STOPPING);
        RedisSessionStore s = store;
        if (s != null) {
            // Sessions outlive this node: write what is unsaved, fire passivation, keep the records.
            s.flush(Math.max(2000, settings.getCommandTimeoutMillis() * 2L));
            for (Session session : findSessions()) {
                if (session instanceof RedisSession rs) {
                    try {
                        rs.passivate();
                    } catch (RuntimeException e) {
                        log.warn("Tether: a sessionWillPassivate listener failed: " + e);
                    }
                    if (rs.state() != null) {
                        s.release(rs.state());
                    }
                }
            }
            sessions.clear();
            byBase.clear();
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
        return new RedisSession(this);
    }

    @Override
    public Session createSession(String requestedId) {
        // A client-supplied id is never reused: it could name another user's record, or a record
        // this node could not see because Redis was down.
        Session session = super.createSession(null);
        RedisSession rs = (RedisSession) session;
        SessionId id = SessionId.parse(session.getIdInternal());
        if (id == null) {
            throw new IllegalStateException("Tether: the session id generator produced an id Tether cannot use");
        }
        rs.attach(store.create(id.base(), rs));
        return session;
    }

    @Override
    public void add(Session session) {
        super.add(session);
        SessionId id = SessionId.parse(session.getIdInternal());
        if (id != null && session instanceof RedisSession rs) {
            byBase.put(id.base(), rs);
        }
    }

    @Override
    public void remove(Session session, boolean update) {
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
        if (!update || !(session instanceof RedisSession rs) || rs.state() == null) {
            return;
        }
        RedisSessionStore s = store;
        if (s == null) {
            return;
        }
        if (rs.isDropping()) {
            s.release(rs.state());
            return;
        }
        // Expired or invalidated here: delete the record (fenced) so no node resurrects it.
        await(s.delete(rs.state()));
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
        RedisSession sameBase = byBase.get(parsed.base());
        if (sameBase != null) {
            return sameBase;
        }
        RedisSessionStore s = store;
        if (s == null || !getState().isAvailable() || parsed.base().equals(MISSED.get())) {
            return null;
        }
        return loadShared(parsed);
    }

    /** One load per base id, however many requests ask at once: they all get the same session. */
    private RedisSession loadShared(SessionId id) {
        CompletableFuture<RedisSession> mine = new CompletableFuture<>();
        CompletableFuture<RedisSession> running = loading.putIfAbsent(id.base(), mine);
        if (running != null) {
            try {
                return running.get(settings.getCommandTimeoutMillis() * 2L + 1000, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                return null;
            }
        }
        RedisSession loaded = null;
        try {
            RedisSession again = byBase.get(id.base());
            loaded = again != null ? again : load(id);
            return loaded;
        } finally {
            mine.complete(loaded);
            loading.remove(id.base(), mine);
        }
    }

    private RedisSession load(SessionId id) {
        ClassLoader loader = getContext().getLoader() != null ? getContext().getLoader().getClassLoader()
                : Thread.currentThread().getContextClassLoader();
        LoadedSession loaded = store.takeOver(id.base(), loader);
        if (loaded == null) {
            MISSED.set(id.base());
            return null;
        }
        RedisSession session = (RedisSession) createEmptySession();
        // Keep the requested id for now; the valve re-suffixes it through changeSessionId so that
        // listeners fire and a new cookie goes out.
        session.restore(id.withRoute(id.route()), loaded, getPersistAuthentication());
        session.activate();
        if (log.isDebugEnabled()) {
            log.debug("Tether: took over session " + id + " from route " + loaded.previousOwner());
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
        if (session instanceof RedisSession rs && rs.state() != null && oldParsed != null && newParsed != null
                && !oldParsed.base().equals(newParsed.base()) && store != null) {
            // A new base (fixation protection): move the record; a new route alone moves nothing.
            await(store.changeId(rs.state(), newParsed.base()));
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
    void forget(RedisSession session) {
        super.remove(session, false);
        SessionId id = SessionId.parse(session.getIdInternal());
        if (id != null) {
            byBase.remove(id.base(), session);
        }
    }

    boolean stillOwned(SessionState state) {
        RedisSessionStore s = store;
        return s == null || s.stillOwned(state);
    }

    void endRequest() {
        MISSED.remove();
    }

    /** Waits for a write so that a response is only complete once Redis holds its data. */
    WriteOutcome await(CompletionStage<WriteOutcome> stage) {
        try {
            return stage.toCompletableFuture().get(settings.getCommandTimeoutMillis() + 1000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return WriteOutcome.QUEUED;
        } catch (Exception e) {
            return WriteOutcome.QUEUED;
        }
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
