package dev.tether.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Http;
import dev.tether.testkit.RedisProcess;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.logging.JettyLogger;
import org.eclipse.jetty.logging.StdErrAppender;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.session.DefaultSessionCacheFactory;
import org.eclipse.jetty.session.DefaultSessionIdManager;
import org.eclipse.jetty.session.SessionData;
import org.eclipse.jetty.session.SessionDataStore;
import org.eclipse.jetty.session.UnreadableSessionDataException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * What Tether's Jetty store decides where Jetty's store suite leaves room, on real Jetty and a real
 * redis-server: what "unreadable" means for a record that keeps each attribute apart, what happens
 * to the user of an unreadable session, how refusals are made known, and which time the record's
 * {@code lastAccessed} carries.
 */
class JettyStoreDecisionsTest {

    private static RedisProcess redis;
    private final List<Server> servers = new ArrayList<>();

    @BeforeAll
    static void startRedis() {
        redis = RedisProcess.start();
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    @BeforeEach
    void emptyRedis() {
        redis.command("FLUSHALL");
    }

    @AfterEach
    void stopServers() throws Exception {
        for (Server s : servers) {
            s.stop();
        }
    }

    private Server server(String workerName) throws Exception {
        return server(workerName, DefaultSessionIdManager::new);
    }

    private Server server(String workerName, java.util.function.Function<Server, DefaultSessionIdManager> idManager) throws Exception {
        Server server = new Server(new java.net.InetSocketAddress("127.0.0.1", 0));
        DefaultSessionIdManager ids = idManager.apply(server);
        ids.setWorkerName(workerName);
        server.addBean(ids, true);
        server.addBean(new RedisSessionDataStoreFactory(redis.uri()));
        DefaultSessionCacheFactory cache = new DefaultSessionCacheFactory();
        cache.setFlushOnResponseCommit(true);
        server.addBean(cache);
        ServletContextHandler context = new ServletContextHandler(ServletContextHandler.SESSIONS);
        context.setContextPath("/app");
        context.addServlet(new ServletHolder(new EmbeddedJettyTest.AttributeServlet()), "/s");
        server.setHandler(context);
        servers.add(server);
        server.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (store(server).store() == null || !store(server).store().isRedisAvailable()) {
            assertTrue(System.nanoTime() < deadline, "no connection to Redis");
            Thread.sleep(20);
        }
        return server;
    }

    private static RedisSessionDataStore store(Server server) {
        ServletContextHandler context = server.getDescendants(ServletContextHandler.class).iterator().next();
        return (RedisSessionDataStore) context.getSessionHandler().getSessionCache().getSessionDataStore();
    }

    private static int port(Server server) {
        return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    private static String key(String base) {
        return "tether:jetty:0.0.0.0/app:{" + base + "}";
    }

    // ------------------------------------------------------------------ stop

    /**
     * Jetty stores every session as a context stops, outside any request. One that Redis refuses then
     * must not cut the stop short: the other sessions are still stored, and the store stops too (its
     * wait for writes queued in an outage, its connection).
     */
    @Test
    void aSessionRedisRefusesAtStopDoesNotCutTheStopShort() throws Exception {
        Server a = server("nodeA");
        for (int i = 0; i < 2; i++) {
            Http.Reply r = Http.get(port(a), "/app/s?name=k&value=" + i + "&stamp=1", null);
            assertEquals(200, r.status());
            // Jetty stores (and passivates) the session once more as the request lets go of it, after the response.
            dev.tether.testkit.Await.await("the request's last store", java.time.Duration.ofSeconds(5),
                    () -> "1".equals(redis.command("HEXISTS", key(Http.base(r.sessionId())), "a:passivated")));
        }
        RedisSessionDataStore store = store(a);
        dev.tether.store.StoreStats stats = store.store().stats();
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1"); // no replica: every write refused (NOREPLICAS)
        try {
            a.stop();
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertEquals(2, stats.getAcknowledgedUnstored(), "both sessions' changes at stop were tried, and counted as not stored");
        assertEquals(null, store.store(), "the store stopped too");
    }

    // ------------------------------------------------------------------ sessions of a node gone for good

    /**
     * A node stops for good; its session expires with nobody holding it. The next scavenge of another
     * node finds and claims it (Jetty asks doGetExpired only at its first scavenge, so the store looks
     * at every one), and that node fires its sessionDestroyed, attributes loaded, once.
     */
    @Test
    void aScavengeFiresTheDestructionOfASessionWhoseNodeStoppedForGood() throws Exception {
        Server a = server("nodeA");
        Server b = server("nodeB");
        List<String> destroyed = new java.util.concurrent.CopyOnWriteArrayList<>();
        var handlerB = b.getDescendants(ServletContextHandler.class).iterator().next().getSessionHandler();
        handlerB.addEventListener(new jakarta.servlet.http.HttpSessionListener() {
            @Override
            public void sessionDestroyed(jakarta.servlet.http.HttpSessionEvent e) {
                destroyed.add(e.getSession().getId() + " user=" + e.getSession().getAttribute("user"));
            }
        });
        handlerB.scavenge(); // the first scavenge, before the session exists: Jetty's doGetExpired call is used up
        a.getDescendants(ServletContextHandler.class).iterator().next().getSessionHandler().setMaxInactiveInterval(30 * 60);
        String cookie = Http.get(port(a), "/app/s?name=user&value=alice", null).sessionId();
        String base = Http.base(cookie);
        a.stop(); // for good: its sessions stay in Redis, held by nobody
        servers.remove(a);
        // Its user went away 40 minutes ago (max-inactive 30 minutes): the record and its expiry index say so.
        long then = System.currentTimeMillis() - 40 * 60_000L;
        redis.command("HSET", key(base), "lastAccessed", Long.toString(then));
        for (int bucket = 0; bucket < 16; bucket++) {
            redis.command("ZADD", "tether:jetty:0.0.0.0/app:expiry:{" + bucket + "}", "XX", Long.toString(then + 30 * 60_000L), base);
        }
        handlerB.scavenge();
        assertEquals(List.of(base + " user=alice"), destroyed, "destroyed once, with its attributes, on the node that claimed it");
        assertEquals("0", redis.command("EXISTS", key(base)));
        handlerB.scavenge();
        assertEquals(1, destroyed.size(), "once");
    }

    // ------------------------------------------------------------------ unreadable data

    /**
     * One attribute whose bytes cannot be read costs that attribute, not the session: the record
     * keeps each attribute apart, and the core leaves it out with a warning and a count (its policy
     * for both containers). The user keeps the login and the rest.
     */
    @Test
    void anAttributeThatCannotBeReadCostsThatAttributeOnly() throws Exception {
        Server a = server("nodeA");
        Server b = server("nodeB");
        String cookie = Http.get(port(a), "/app/s?name=user&value=alice", null).sessionId();
        assertEquals("socks", Http.get(port(a), "/app/s?name=cart&value=socks", cookie).attribute("cart"));
        String base = Http.base(cookie);
        redis.commandBytes(JettyRecords.bytes("HSET"), JettyRecords.bytes(key(base)), JettyRecords.bytes("a:cart"),
                new byte[] {'J', (byte) 0xAC, (byte) 0xED, 0, 5, 0x73, 0x72, 0x00, 0x7f});
        try (JulCapture core = new JulCapture("dev.tether.store")) {
            Http.Reply atB = Http.get(port(b), "/app/s", cookie);
            assertEquals(200, atB.status(), atB.toString());
            assertEquals(base, atB.value("id"), "the same session");
            assertEquals("alice", atB.attribute("user"));
            assertEquals(null, atB.attribute("cart"));
            assertTrue(core.warnings().stream().anyMatch(w -> w.contains("dropped attribute 'cart'")), core.warnings().toString());
        }
        assertEquals(1L, store(b).store().stats().getAttributesRejected(), "counted");
    }

    /**
     * A record that cannot be read as a session at all (here: written by something that is not a
     * Tether Jetty store, without Jetty's fields) makes load throw UnreadableSessionDataException, and
     * exists answers false for the id from then on.
     */
    @Test
    void aRecordWithoutJettysFieldsIsUnreadable() throws Exception {
        Server a = server("");
        RedisSessionDataStore store = store(a);
        redis.command("HSET", key("foreign1"), "ver", "1", "created", "100", "lastAccessed", Long.toString(System.currentTimeMillis()),
                "maxInactive", "1800", "lastSaved", "100", "a:user", "Salice");
        assertTrue(store.exists("foreign1"), "a live record, before anyone tried to read it");
        UnreadableSessionDataException e = assertThrows(UnreadableSessionDataException.class, () -> store.load("foreign1"));
        assertTrue(String.valueOf(e.getCause()).contains("n:maxInactiveMs missing"), String.valueOf(e.getCause()));
        assertFalse(e.getMessage().contains("foreign1"), () -> "Jetty logs this message: never the full id: " + e.getMessage());
        assertFalse(store.exists("foreign1"), "not offered for reuse");
        assertEquals("1", redis.command("EXISTS", key("foreign1")), "Jetty's removeUnloadableSessions decides; by default it stays");
    }

    /**
     * The user whose cookie names an unreadable record gets a new session with a new id, and again on
     * the next request: never the same id (whose new record the damaged one would refuse, 503 after
     * 503 until it expired), never an error.
     */
    @Test
    void theUserOfAnUnreadableSessionGetsANewSessionWithANewId() throws Exception {
        Server a = server("nodeA");
        Server b = server("nodeB");
        String cookie = Http.get(port(a), "/app/s?name=user&value=alice", null).sessionId();
        String base = Http.base(cookie);
        redis.command("HSET", key(base), "x:expiry", "damaged");
        for (int i = 0; i < 2; i++) {
            Http.Reply atB = Http.get(port(b), "/app/s?name=user&value=bob", cookie);
            assertEquals(200, atB.status(), atB.toString());
            assertNotNull(atB.sessionId(), "a new cookie: " + atB);
            assertNotEquals(base, Http.base(atB.sessionId()), "the unreadable session's id was reused: " + atB);
            assertEquals("bob", atB.attribute("user"));
            assertEquals("1", redis.command("EXISTS", key(Http.base(atB.sessionId()))), "the new session is in Redis");
        }
        assertEquals("damaged", redis.command("HGET", key(base), "x:expiry"), "left as it was");
    }

    // ------------------------------------------------------------------ refusals

    /** An id manager that names ids the store cannot key: the request fails, and the log says why, once per refusal. */
    @Test
    void anIdTheStoreCannotKeyFailsTheRequestAndIsLogged() throws Exception {
        Server server = server("", srv -> new DefaultSessionIdManager(srv) {
            @Override
            public String newSessionId(Request request, String requestedId, long created) {
                return "bad:id";
            }
        });
        try (JettyLogCapture log = new JettyLogCapture()) {
            Http.Reply r = Http.get(port(server), "/app/s?name=user&value=alice", null);
            assertEquals(500, r.status(), r.toString());
            List<String> lines = log.lines("is refused");
            assertEquals(1, lines.size(), log.all());
            assertTrue(lines.get(0).contains("WARN") && lines.get(0).contains("cannot be kept in Redis"), lines.get(0));
        }
        assertEquals(List.of(), redis.keys("tether:jetty:*"), "nothing written");
        SessionDataStore store = store(server);
        for (String id : new String[] {"", "a.b", "{x}", "x y", "x".repeat(129)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.newSessionData(id, 1, 1, 1, -1), id);
            assertTrue(e.getMessage().startsWith("Tether: session id"), e.getMessage());
        }
    }

    /** Short ids that an id manager names (or Jetty's own suite uses) are kept like any other. */
    @Test
    void shortIdsAnIdManagerNamesAreKept() throws Exception {
        AtomicInteger next = new AtomicInteger();
        Server server = server("", srv -> new DefaultSessionIdManager(srv) {
            @Override
            public String newSessionId(Request request, String requestedId, long created) {
                return "s" + next.incrementAndGet();
            }
        });
        Server other = server("");
        Http.Reply r = Http.get(port(server), "/app/s?name=user&value=alice", null);
        assertEquals(200, r.status(), r.toString());
        assertEquals("s1", r.sessionId());
        assertEquals("alice", Http.get(port(other), "/app/s", "s1").attribute("user"), "read through another server");
    }

    /** Session data the store did not make (its newSessionData) is refused with an exception and a log line, never dropped silently. */
    @Test
    void sessionDataNotMadeByTheStoreIsRefused() throws Exception {
        SessionDataStore store = store(server(""));
        SessionData foreign = new SessionData("abc123", "_app", "0.0.0.0", 1, 1, 1, -1);
        try (JettyLogCapture log = new JettyLogCapture()) {
            Exception e = assertThrows(Exception.class, () -> store.store("abc123", foreign));
            assertTrue(String.valueOf(e.getMessage()).contains("was not made by this store's newSessionData"), String.valueOf(e));
            assertEquals(1, log.lines("was not made by this store").size(), log.all());
        }
        assertEquals("0", redis.command("EXISTS", key("abc123")));
    }

    // ------------------------------------------------------------------ the record's lastAccessed

    /**
     * The record's lastAccessed is when the session became idle: Jetty's expiry minus the
     * max-inactive interval. For a request longer than the touch interval that is its end, not its
     * start, so that no node counts the session idle while Jetty does not.
     */
    @Test
    void theRecordsLastAccessedIsWhenTheSessionBecameIdle() throws Exception {
        SessionDataStore store = store(server(""));
        JettySessionData data = (JettySessionData) store.newSessionData("long1", 1_000, 1_000, 1_000, 90_000);
        data.setAccessed(10_000);
        data.calcAndSetExpiry(10_000); // a request begins
        assertEquals(10_000, data.snapshot().lastAccessedTime());
        data.calcAndSetExpiry(250_000); // ... and the last one leaves four minutes later
        assertEquals(250_000, data.snapshot().lastAccessedTime(), "idle since the request ended");
        assertEquals(Long.toString(10_000), data.snapshot().extras().get(JettySessionData.EXTRA_ACCESSED), "Jetty's accessed rides along");
        data.setMaxInactiveMs(-1);
        data.setExpiry(0);
        assertEquals(10_000, data.snapshot().lastAccessedTime(), "never expires: Jetty's accessed");
        data.setMaxInactiveMs(1_500);
        data.calcAndSetExpiry(20_000);
        assertEquals(21_500, data.snapshot().lastAccessedTime() + data.snapshot().maxInactiveSeconds() * 1000L,
                "lastAccessed + maxInactive (whole seconds) is Jetty's expiry");
    }

    /** The record written through the store is what the suite's helper reads: the two cannot drift apart unnoticed. */
    @Test
    void theSuitesRecordHelperReadsWhatTheStoreWrites() throws Exception {
        Server a = server("");
        SessionDataStore store = store(a);
        long now = System.currentTimeMillis();
        SessionData data = store.newSessionData("helper1", now - 5_000, now, now - 1_000, 45_500);
        data.setLastNode("");
        data.setCookieSet(now - 4_000);
        data.setAttribute("user", "alice");
        data.setAttribute("list", new ArrayList<>(List.of(1, 2)));
        store.store("helper1", data);
        new JettyRecords(redis).assertPersisted(data, getClass().getClassLoader());
    }

    // ------------------------------------------------------------------ log capture

    /** What Jetty's logging (jetty-slf4j-impl, as in a distribution) prints while open. */
    private static final class JettyLogCapture implements AutoCloseable {
        private final StdErrAppender appender;
        private final PrintStream previous;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        JettyLogCapture() {
            appender = (StdErrAppender) ((JettyLogger) LoggerFactory.getLogger(RedisSessionDataStore.class)).getAppender();
            previous = appender.getStream();
            appender.setStream(new PrintStream(out, true, StandardCharsets.UTF_8));
        }

        String all() {
            return out.toString(StandardCharsets.UTF_8);
        }

        /** Lines the store logged that contain this. */
        List<String> lines(String containing) {
            return all().lines().filter(l -> l.contains("RedisSessionDataStore:") && l.contains(containing)).toList();
        }

        @Override
        public void close() {
            appender.setStream(previous);
        }
    }

    /** What the core logs (java.util.logging) while open. */
    private static final class JulCapture extends Handler implements AutoCloseable {
        private final Logger logger;
        private final List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();

        JulCapture(String name) {
            logger = Logger.getLogger(name);
            setLevel(Level.ALL);
            logger.addHandler(this);
        }

        List<String> warnings() {
            return warnings;
        }

        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(record.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            logger.removeHandler(this);
        }
    }
}
