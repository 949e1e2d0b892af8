package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.Http.SetCookie;
import dev.tether.testkit.RedisMonitor;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * End-to-end failover on real Tomcat distributions: two nodes ({@code jvmRoute} node1 and node2)
 * started with {@code catalina.sh run}, one real {@code redis-server}, a real web application, and
 * an HTTP client that controls every cookie. Subclasses pick the Tomcat version.
 *
 * <p>The nodes are started once per class. Sessions for the failover tests are prepared on node1
 * before anything else; node1 is then killed with {@code kill -9} by the first failover test
 * (whichever runs first), and restarted by the last. Each test uses its own session, so the
 * tests do not depend on each other's outcome, only on the node phase, which they request.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
abstract class FailoverScenario implements DumpLogsOnFailure.WithNodes {

    static final String KEY_PREFIX = E2eSupport.KEY_PREFIX;
    static final String LOGIN_PAGE_MARKER = "LOGIN-PAGE";
    /** Sessions test h migrates, one burst of parallel requests each. */
    static final int CONCURRENT_ROUNDS = 6;
    static final int CONCURRENT_REQUESTS = 12;

    private enum Phase { BOTH_UP, NODE1_KILLED, NODE1_RESTARTED }

    /** "9.0", "10.1" or "11.0": which of the distributions in tether.tomcat.homes to run. */
    abstract String tomcatVersion();

    RedisProcess redis;
    TomcatNode node1;
    TomcatNode node2;
    private Phase phase;

    // Sessions prepared on node1 before it is killed (full ids, ending in ".node1").
    private String sessionB;
    private String sessionC;
    private String sessionDBeforeLogin;
    private String sessionD;
    private String sessionE;
    private String sessionF;
    private final List<String> sessionsH = new ArrayList<>();

    // ------------------------------------------------------------------ cluster lifecycle

    @BeforeAll
    void startCluster() throws Exception {
        Path home = E2eSupport.tomcatHome(tomcatVersion());
        redis = RedisProcess.start();
        Path work = E2eSupport.workDir("tomcat-" + tomcatVersion());
        node1 = E2eSupport.node(work, "node1", home, redis.uri());
        node2 = E2eSupport.node(work, "node2", home, redis.uri());
        ServerNode.startAll(node1, node2);
        phase = Phase.BOTH_UP;
        for (TomcatNode n : List.of(node1, node2)) {
            assertTrue(n.logContains("Apache Tomcat/" + tomcatVersion() + "."),
                    n.name() + " does not run Tomcat " + tomcatVersion() + ":\n" + n.tail(40));
            assertTrue(n.logContains("Tether: sessions of /app are kept in Redis"), n.name() + ": Tether not active");
            // The JDK the node was given (tether.node.java.home) is the one Tomcat reports running on.
            List<String> jvm = E2eSupport.linesContaining(n.logSinceStart(), "JVM Version:");
            assertTrue(jvm.stream().anyMatch(l -> l.contains(" " + n.javaVersion())),
                    n.name() + " does not run Java " + n.javaVersion() + ": " + jvm);
        }
        System.out.printf("[e2e] Tomcat %s on Java %s: redis %s, %s, %s; the pids run %s%n", tomcatVersion(), node1.javaVersion(),
                redis.uri(), node1, node2, node1.command());
        prepareSessionsOnNode1();
    }

    @AfterAll
    void stopCluster() {
        ServerNode.killAll(node1, node2);
        if (redis != null) {
            redis.close();
        }
    }

    private void ensureNode1Killed() {
        if (phase == Phase.BOTH_UP) {
            node1.kill9();
            assertFalse(node1.isAlive(), "node1 survived kill -9");
            phase = Phase.NODE1_KILLED;
        }
    }

    private void ensureNode1Restarted() {
        ensureNode1Killed();
        if (phase == Phase.NODE1_KILLED) {
            node1.restart();
            phase = Phase.NODE1_RESTARTED;
        }
    }

    /** node1 if it runs (before the crash, or after its restart), otherwise node2. */
    private TomcatNode aLiveNode() {
        return node1.isAlive() ? node1 : node2;
    }

    @Override
    public List<TomcatNode> nodes() {
        return Arrays.asList(node1, node2);
    }

    // ------------------------------------------------------------------ preparation on node1

    private void prepareSessionsOnNode1() {
        sessionB = newSession(node1, "/app/set?k=a&v=alpha");
        call(node1, "/app/set?k=b&v=beta", sessionB);
        call(node1, "/app/list-add?v=l1", sessionB);
        call(node1, "/app/probe?label=pb", sessionB);

        sessionC = newSession(node1, "/app/set?k=c&v=charlie");

        sessionDBeforeLogin = newSession(node1, "/app/set?k=d&v=delta");
        sessionD = E2eSupport.formLogin(node1, sessionDBeforeLogin);

        sessionE = newSession(node1, "/app/list-add?v=x1");
        Reply e2 = call(node1, "/app/list-add?v=x2", sessionE);
        Reply e3 = call(node1, "/app/list-add?v=x3", sessionE);
        assertEquals("[x1, x2]", e2.value("list"), e2::toString);
        assertEquals("[x1, x2, x3]", e3.value("list"), e3::toString);

        sessionF = newSession(node1, "/app/set?k=fk&v=v1");
        call(node1, "/app/set?k=other&v=keep", sessionF);

        for (int i = 0; i < CONCURRENT_ROUNDS; i++) {
            String id = newSession(node1, "/app/set?k=h&v=hotel" + i);
            call(node1, "/app/probe?label=ph" + i, id);
            sessionsH.add(id);
        }

        List<String> all = new ArrayList<>(List.of(sessionB, sessionC, sessionD, sessionE, sessionF));
        all.addAll(sessionsH);
        for (String id : all) {
            assertEquals("node1", Http.route(id), "prepared session " + id);
            assertEquals("node1", hget(id, "owner"), "Redis record of " + id);
        }
    }

    // ------------------------------------------------------------------ a

    @Test
    @Order(1)
    @DisplayName("a. a session created on node1 has an id ending .node1 and a Redis record keyed by its base")
    void sessionCreatedOnNode1() {
        if (!node1.isAlive()) {
            ensureNode1Restarted();
        }
        Reply r = Http.get(node1.port(), "/app/set?k=a&v=1", null);
        assertEquals(200, r.status(), r::toString);
        SetCookie cookie = r.sessionCookie();
        assertNotNull(cookie, () -> "no session cookie: " + r);
        String id = cookie.value();
        assertTrue(id.endsWith(".node1"), "id " + id);
        assertEquals(id, r.value("id"), r::toString);
        assertEquals("node1", r.value("node"));
        assertEquals("/app", cookie.path(), cookie::raw);
        assertTrue(cookie.httpOnly(), cookie::raw);

        String base = Http.base(id);
        String key = KEY_PREFIX + "{" + base + "}";
        assertEquals(List.of(key), redis.keys(KEY_PREFIX + "{" + base + "}*"), "the record is keyed by the base id only");
        assertEquals(List.of(), redis.keys("*" + id + "*"), "no key may contain the route");
        assertEquals("node1", hget(id, "owner"));
        assertEquals("1", hget(id, "ver"), "one write so far");
        assertEquals("1", attributeInRedis(id, "a"));
        assertEquals("1800", hget(id, "maxInactive"));
        assertNotNull(hget(id, "created"));
        assertNotNull(hget(id, "lastAccessed"));
        long ttl = Long.parseLong(redis.command("TTL", key));
        assertTrue(ttl > 1800, "the record must expire after the session timeout, TTL " + ttl);

        Reply again = call(node1, "/app/get", id);
        assertEquals(Map.of("a", "1"), again.attributes());
        assertNull(again.sessionCookie(), "no new cookie for a known session: " + again);
    }

    // ------------------------------------------------------------------ g

    @Test
    @Order(2)
    @DisplayName("g. a read-only request costs 0 Redis commands; setting one attribute costs exactly one EVALSHA")
    void redisCommandsPerRequest() throws Exception {
        TomcatNode node = aLiveNode();
        String id = newSession(node, "/app/set?k=g&v=1");
        call(node, "/app/list-add?v=g1", id);
        call(node, "/app/probe?label=pg", id);
        Thread.sleep(300); // nothing of the preparation may still be in flight

        try (RedisMonitor monitor = redis.monitor()) {
            long pingsBefore = redis.commandCalls("ping");
            for (int i = 0; i < 3; i++) {
                long before = commandsExceptInfo();
                Reply r = call(node, "/app/get", id);
                Thread.sleep(250); // an asynchronous write would arrive by now
                long after = commandsExceptInfo();
                assertEquals(Map.of("g", "1", "list", "[g1]", "probe", "probe(pg)"), r.attributes(), r::toString);
                assertEquals(0, after - before, "Redis commands caused by read-only request #" + (i + 1)
                        + " (it reads a mutable List and a listener object)\n" + redis.command("INFO", "commandstats"));
            }
            assertEquals(List.of(), withoutPings(monitor.clientCommands()), "commands sent by read-only requests");
            // A garbage collection in Tomcat meanwhile costs one PING (messages it held up are read first).
            assertTrue(redis.commandCalls("ping") - pingsBefore <= 1, "PINGs: " + (redis.commandCalls("ping") - pingsBefore));

            long evalshaBefore = redis.commandCalls("evalsha");
            long evalBefore = redis.commandCalls("eval");
            call(node, "/app/set?k=g&v=2", id);
            Thread.sleep(250);
            assertEquals(1, redis.commandCalls("evalsha") - evalshaBefore, "EVALSHA calls for one setAttribute");
            assertEquals(0, redis.commandCalls("eval") - evalBefore, "EVAL calls (the script must be cached)");
            List<String> sent = withoutPings(monitor.clientCommands());
            assertEquals(1, sent.size(), "round trips for one setAttribute: " + String.join("\n", sent));
            assertTrue(sent.get(0).toLowerCase(java.util.Locale.ROOT).contains("\"evalsha\""), sent.get(0));
        }
        assertEquals("2", attributeInRedis(id, "g"));
    }

    // ------------------------------------------------------------------ b

    @Test
    @Order(10)
    @DisplayName("b. after kill -9 of node1, node2 takes the session over: data, new cookie, listeners, owner")
    void failoverByCookie() {
        ensureNode1Killed();
        String old = sessionB;
        String expected = Http.base(old) + ".node2";
        long verBefore = Long.parseLong(hget(old, "ver"));

        Reply r = Http.get(node2.port(), "/app/get", old);
        assertEquals(200, r.status(), r::toString);
        assertEquals("node2", r.value("node"));
        assertEquals(Map.of("a", "alpha", "b", "beta", "list", "[l1]", "probe", "probe(pb)"), r.attributes(),
                "every attribute must survive the crash: " + r);
        SetCookie cookie = r.sessionCookie();
        assertNotNull(cookie, () -> "the taken-over session needs a new cookie: " + r);
        assertEquals(expected, cookie.value(), cookie::raw);
        assertEquals("/app", cookie.path(), cookie::raw);
        assertTrue(cookie.httpOnly(), cookie::raw);
        assertEquals(expected, r.value("id"), "request.getSession().getId() as the servlet sees it");

        assertEquals("node2", hget(old, "owner"));
        assertTrue(Long.parseLong(hget(old, "ver")) >= verBefore, "the record never goes back");

        Reply stats = stats(node2, old);
        assertEquals("1", stats.value("idChanges"), "HttpSessionIdListener on node2: " + stats);
        assertEquals(expected, stats.value("lastNewId"), stats::toString);
        assertEquals("1", stats.value("activations"), "HttpSessionActivationListener.sessionDidActivate on node2: " + stats);

        // With a cookie, Tomcat never rewrites URLs; it must at least not hand out the old id.
        Reply enc = call(node2, "/app/encode", expected);
        String url = enc.value("url");
        assertFalse(url.contains(".node1"), "encodeURL leaks the old id: " + url);
        assertTrue(url.equals("/app/get") || url.equals("/app/get;jsessionid=" + expected), url);

        Reply again = call(node2, "/app/get", expected);
        assertEquals(expected, again.value("id"));
        assertEquals(r.attributes(), again.attributes());
        assertNull(again.sessionCookie(), "the new cookie is stable: " + again);

        call(node2, "/app/set?k=after&v=failover", expected);
        assertEquals("failover", attributeInRedis(expected, "after"), "node2 owns the record and writes it");
        Reply stats2 = stats(node2, old);
        assertEquals("1", stats2.value("idChanges"), stats2::toString);
        assertEquals("1", stats2.value("activations"), stats2::toString);
    }

    // ------------------------------------------------------------------ c

    @Test
    @Order(20)
    @DisplayName("c. URL tracking: ;jsessionid=<base>.node1 at node2 takes over and encodeURL shows .node2")
    void failoverByUrl() {
        ensureNode1Killed();
        String old = sessionC;
        String expected = Http.base(old) + ".node2";

        Reply r = Http.get(node2.port(), "/app/encode;jsessionid=" + old, null);
        assertEquals(200, r.status(), r::toString);
        assertEquals("node2", r.value("node"));
        assertEquals("true", r.value("fromUrl"), r::toString);
        assertEquals(expected, r.value("id"), r::toString);
        assertEquals("/app/get;jsessionid=" + expected, r.value("url"), "encodeURL after the takeover");
        SetCookie cookie = r.sessionCookie();
        if (cookie != null) {
            assertEquals(expected, cookie.value(), cookie::raw);
        }
        assertEquals("node2", hget(old, "owner"));
        assertEquals("1", stats(node2, old).value("idChanges"));

        Reply next = Http.get(node2.port(), "/app/get;jsessionid=" + expected, null);
        assertEquals(200, next.status(), next::toString);
        assertEquals(expected, next.value("id"), next::toString);
        assertEquals(Map.of("c", "charlie"), next.attributes(), next::toString);
    }

    // ------------------------------------------------------------------ c2

    @Test
    @Order(5)
    @DisplayName("c2. a FORM login whose form is posted to the other node completes there (the interrupted request is in Redis)")
    void formLoginPostedToTheOtherNode() {
        // The login page is served by node1, which keeps the interrupted request in the session...
        Reply page = Http.get(node1.port(), "/app/secure/whoami?from=node1", null);
        assertTrue(page.body().contains(LOGIN_PAGE_MARKER), page::toString);
        String id = page.sessionId();
        assertTrue(id.endsWith(".node1"), id);
        // ...and the form is posted to node2 (a failover, or a balancer without affinity).
        Reply post = Http.postForm(node2.port(), "/app/j_security_check",
                Map.of("j_username", E2eSupport.USER, "j_password", E2eSupport.PASSWORD), id);
        assertTrue(post.status() == 303 || post.status() == 302,
                "expected the redirect to the interrupted request, not Tomcat's 408 for a lost login: " + post);
        assertEquals("/app/secure/whoami?from=node1", URI.create(post.location()).getRawPath() + "?"
                + URI.create(post.location()).getRawQuery(), post::toString);
        String loggedIn = post.sessionId() != null ? post.sessionId() : id;
        assertNotEquals(Http.base(id), Http.base(loggedIn), "the login changes the id");
        Reply back = Http.get(node2.port(), "/app/secure/whoami?from=node1", loggedIn);
        assertEquals(200, back.status(), back::toString);
        assertEquals(E2eSupport.USER, back.value("user"), back::toString);
        assertNull(hget(loggedIn, "n:" + "formRequest"), "the login is done: its interrupted request is no longer kept");
    }

    // ------------------------------------------------------------------ d

    @Test
    @Order(30)
    @DisplayName("d. a FORM-authenticated user stays logged in after failover")
    void formLoginSurvivesFailover() {
        ensureNode1Killed();
        assertNotEquals(Http.base(sessionDBeforeLogin), Http.base(sessionD), "Tomcat changes the session id at login");
        assertEquals("0", redis.command("EXISTS", key(sessionDBeforeLogin)), "the pre-login record must be gone");
        String expected = Http.base(sessionD) + ".node2";

        Reply r = Http.get(node2.port(), "/app/secure/whoami", sessionD);
        String recordState = "(Redis n:principal=" + hget(sessionD, "n:principal") + ", n:authType=" + hget(sessionD, "n:authType") + ")";
        assertEquals(200, r.status(), r::toString);
        assertFalse(r.body().contains(LOGIN_PAGE_MARKER), "node2 asked for a login again " + recordState + ": " + r);
        assertEquals(E2eSupport.USER, r.value("user"), recordState + " " + r);
        assertEquals("true", r.value("role.tester"), r::toString);
        assertEquals("node2", r.value("node"));
        assertEquals(expected, r.value("id"), r::toString);
        assertEquals(expected, r.sessionCookie() == null ? null : r.sessionCookie().value(), r::toString);

        Reply again = call(node2, "/app/secure/whoami", expected);
        assertEquals(E2eSupport.USER, again.value("user"), again::toString);
        assertEquals(Map.of("d", "delta"), call(node2, "/app/get", expected).attributes());
    }

    // ------------------------------------------------------------------ e

    @Test
    @Order(40)
    @DisplayName("e. a List changed in place (no setAttribute) survives failover")
    void inPlaceMutationSurvivesFailover() {
        ensureNode1Killed();
        String expected = Http.base(sessionE) + ".node2";
        Reply r = Http.get(node2.port(), "/app/get", sessionE);
        assertEquals(200, r.status(), r::toString);
        assertEquals(expected, r.value("id"), r::toString);
        assertEquals(Map.of("list", "[x1, x2, x3]"), r.attributes(), "x2 and x3 were added in place on node1: " + r);

        Reply more = call(node2, "/app/list-add?v=x4", expected);
        assertEquals("[x1, x2, x3, x4]", more.value("list"));
        assertEquals(Map.of("list", "[x1, x2, x3, x4]"), call(node2, "/app/get", expected).attributes());
    }

    // ------------------------------------------------------------------ h

    @Test
    @Order(50)
    @DisplayName("h. concurrent requests for a migrating session: one takeover, one session, one id change")
    void concurrentTakeover() throws Exception {
        ensureNode1Killed();
        ExecutorService pool = Executors.newFixedThreadPool(CONCURRENT_REQUESTS);
        try {
            for (int round = 0; round < sessionsH.size(); round++) {
                concurrentTakeoverRound(pool, round, sessionsH.get(round));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private void concurrentTakeoverRound(ExecutorService pool, int round, String old) throws Exception {
        String expected = Http.base(old) + ".node2";
        long verBefore = Long.parseLong(hget(old, "ver"));
        String where = "round " + round + ": ";
        CountDownLatch ready = new CountDownLatch(CONCURRENT_REQUESTS);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Reply>> futures = new ArrayList<>();
        for (int i = 0; i < CONCURRENT_REQUESTS; i++) {
            long delayNanos = i * 150_000L; // most arrive during the takeover, some just after it
            futures.add(pool.submit(() -> {
                ready.countDown();
                go.await();
                java.util.concurrent.locks.LockSupport.parkNanos(delayNanos);
                return Http.get(node2.port(), "/app/get", old);
            }));
        }
        assertTrue(ready.await(10, TimeUnit.SECONDS));
        go.countDown();
        List<Reply> replies = new ArrayList<>();
        for (Future<Reply> f : futures) {
            replies.add(f.get(60, TimeUnit.SECONDS));
        }
        Set<String> ids = new HashSet<>();
        Set<String> cookies = new HashSet<>();
        for (Reply r : replies) {
            assertEquals(200, r.status(), () -> where + r);
            assertEquals("node2", r.value("node"));
            assertEquals(Map.of("h", "hotel" + round, "probe", "probe(ph" + round + ")"), r.attributes(), () -> where + r);
            ids.add(r.value("id"));
            cookies.add(r.sessionCookie() == null ? "(none)" : r.sessionCookie().value());
        }
        assertEquals(Set.of(expected), ids, where + "every request must use the same, re-suffixed session");
        assertEquals(Set.of(expected), cookies, where + "every request that showed the old route gets the new cookie");
        assertEquals("node2", hget(old, "owner"));
        long verAfter = Long.parseLong(hget(old, "ver"));
        assertTrue(verAfter >= verBefore, where + "the record never goes back");
        Reply stats = stats(node2, old);
        assertEquals("1", stats.value("activations"), where + "the session was loaded once: " + stats);
        assertEquals("1", stats.value("idChanges"), where + "its id changed once: " + stats);

        Reply next = call(node2, "/app/get", expected);
        assertEquals(expected, next.value("id"));
        assertNull(next.sessionCookie(), next::toString);
        assertEquals(Map.of("h", "hotel" + round, "probe", "probe(ph" + round + ")"), next.attributes());
        assertEquals(verAfter, Long.parseLong(hget(old, "ver")), "a read on the new owner writes nothing");
    }

    // ------------------------------------------------------------------ f

    @Test
    @Order(60)
    @DisplayName("f. a stray old-route request at the restarted node1 never makes the data regress")
    void strayRequestAfterRestart() throws InterruptedException {
        ensureNode1Killed();
        String old = sessionF;
        String expected = Http.base(old) + ".node2";

        // The user fails over to node2 and changes something there.
        Reply update = Http.get(node2.port(), "/app/set?k=fk&v=v2", old);
        assertEquals(200, update.status(), update::toString);
        assertEquals(expected, update.value("id"), update::toString);
        assertEquals("v2", attributeInRedis(old, "fk"));
        assertEquals("node2", hget(old, "owner"));

        // node1 comes back; a request with the old cookie (say, another tab) reaches it.
        ensureNode1Restarted();
        Reply stray = Http.get(node1.port(), "/app/get", old);
        assertEquals(200, stray.status(), stray::toString);
        assertEquals("node1", stray.value("node"));
        assertEquals(old, stray.value("id"), () -> "the restarted node1 did not find the session on its first request"
                + " (Tether connected to Redis yet: " + node1.logContains("Tether: connected to Redis") + "): " + stray);
        assertEquals(Map.of("fk", "v2", "other", "keep"), stray.attributes(),
                "node1 must serve node2's update, not what it held before the crash: " + stray);
        assertEquals("v2", attributeInRedis(old, "fk"), "the stray request must not overwrite node2's update");
        assertEquals("node1", hget(old, "owner"), "node1 took the session back");

        // node2 still holds its copy; a write through it must not clobber the record with stale state.
        Reply late = Http.get(node2.port(), "/app/set?k=fk&v=v3", expected);
        assertEquals(200, late.status(), late::toString);
        String stored = attributeInRedis(old, "fk");
        assertTrue(Set.of("v2", "v3").contains(stored), "the record regressed: fk=" + stored);
        assertEquals("keep", attributeInRedis(old, "other"));

        String current = late.sessionCookie() == null ? expected : late.sessionCookie().value();
        Reply view2 = call(node2, "/app/get", current);
        Map<String, String> latest = new LinkedHashMap<>(Map.of("fk", attributeInRedis(old, "fk"), "other", "keep"));
        assertTrue(Set.of("v2", "v3").contains(latest.get("fk")), "the record regressed: " + latest);
        assertEquals(latest, view2.attributes(), "node2 must show what Redis holds, never an older state: " + view2);

        // node2's write changed the record after node1 read it: Redis tells node1 (client-side
        // caching), asynchronously; node1 reads the record again on its next request after that.
        long asked = System.nanoTime();
        Reply view1 = call(node1, "/app/get", old);
        while (!latest.equals(view1.attributes()) && System.nanoTime() - asked < TimeUnit.SECONDS.toNanos(5)) {
            Thread.sleep(50);
            view1 = call(node1, "/app/get", old);
        }
        long staleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - asked);
        System.out.printf("[e2e] Tomcat %s f: after the stray takeover node2's write of v3 left fk=%s in Redis"
                + " (owner %s, version %s); node2 shows %s, node1 shows %s (after %d ms)%n", tomcatVersion(), stored,
                hget(old, "owner"), hget(old, "ver"), view2.attributes(), view1.attributes(), staleMillis);
        assertEquals(latest, view1.attributes(), "node1 must read the record again once Redis told it of node2's write: " + view1);
    }

    // ------------------------------------------------------------------ helpers

    /** A request without a cookie that creates a session; returns its id. */
    private String newSession(TomcatNode node, String path) {
        Reply r = Http.get(node.port(), path, null);
        assertEquals(200, r.status(), r::toString);
        SetCookie c = r.sessionCookie();
        assertNotNull(c, () -> "no session cookie from " + path + ": " + r);
        assertEquals(c.value(), r.value("id"), r::toString);
        return c.value();
    }

    /** A request with a session that must answer 200 and keep the same id. */
    private Reply call(TomcatNode node, String path, String sessionId) {
        Reply r = Http.get(node.port(), path, sessionId);
        assertEquals(200, r.status(), r::toString);
        assertEquals(sessionId, r.value("id"), () -> "the session changed unexpectedly: " + r);
        return r;
    }

    private Reply stats(TomcatNode node, String sessionId) {
        Reply r = Http.get(node.port(), "/app/stats?base=" + Http.base(sessionId), null);
        assertEquals(200, r.status(), r::toString);
        assertNull(r.sessionCookie(), "the stats endpoint must not create sessions");
        return r;
    }

    static String key(String sessionId) {
        return KEY_PREFIX + "{" + Http.base(sessionId) + "}";
    }

    private String hget(String sessionId, String field) {
        return redis.command("HGET", key(sessionId), field);
    }

    /** A String attribute as Tether stores it ('S' + UTF-8). */
    private String attributeInRedis(String sessionId, String name) {
        String v = hget(sessionId, "a:" + name);
        if (v == null) {
            return null;
        }
        assertTrue(v.startsWith("S"), "not a String encoding: " + v);
        return v.substring(1);
    }

    /** Calls of every command but INFO (the test's own probe) since the server started. */
    /**
     * Every command Redis ran, except the test's INFO and the nodes' census reports (HSET and PEXPIRE of the
     * nodes hash, sent on a timer whatever the requests do). Tether's request path never sends either
     * command directly; the MONITOR check in the same test sees any that would.
     */
    /** Without the PING a request sends after a garbage collection of the node (at most one per collection). */
    private static List<String> withoutPings(List<String> commands) {
        return commands.stream().filter(l -> !l.toLowerCase(java.util.Locale.ROOT).contains("\"ping\"")).toList();
    }

    private long commandsExceptInfo() {
        return redis.commandCallsByName().entrySet().stream()
                .filter(e -> !Set.of("info", "hset", "pexpire", "ping").contains(e.getKey()))
                .mapToLong(Map.Entry::getValue).sum();
    }
}
