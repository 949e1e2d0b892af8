package dev.tether.jetty.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.ContainerSession;
import dev.tether.store.RedisSessionStore;
import dev.tether.store.SessionId;
import dev.tether.store.SessionSnapshot;
import dev.tether.store.TrackedSession;
import dev.tether.store.SessionStoreOptions;
import dev.tether.store.WriteOutcome;
import dev.tether.testkit.Dirs;
import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.JettyNode;
import dev.tether.testkit.Processes;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * End-to-end scenarios on a real Jetty distribution ({@code jetty-home}, unpacked by Maven): two
 * nodes with their own {@code $JETTY_BASE}, each set up with the Tether archive and
 * {@code --add-modules=http,ee10-deploy,ee8-deploy,session-store-redis}, one Redis, and an ee10
 * (jakarta) and an ee8 (javax) web application on each node. Nodes are killed with {@code kill -9}.
 * Subclasses choose the Jetty version. Every scenario runs against both applications.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
abstract class JettyFailoverScenarios implements DumpLogsOnFailure.WithNodes {

    /** The test applications, by context path: ee10 (jakarta) and ee8 (javax). */
    static final List<String> APPS = List.of("app10", "app8");

    private final String label;
    private final String homeProperty;
    private final String versionPrefix;

    private Path home;
    private Path work;
    private RedisProcess redis;
    private JettyNode node1;
    private JettyNode node2;
    private JettyNode node3;

    /**
     * @param label directory name under {@code target/e2e-jetty}
     * @param homeProperty system property naming the unpacked {@code jetty-home}
     * @param versionPrefix what the distribution's banner must say ({@code jetty-12.0.})
     */
    JettyFailoverScenarios(String label, String homeProperty, String versionPrefix) {
        this.label = label;
        this.homeProperty = homeProperty;
        this.versionPrefix = versionPrefix;
    }

    @BeforeAll
    void startNodes() {
        home = Dirs.fromProperty(homeProperty);
        work = JettyE2e.work(label);
        redis = RedisProcess.start();
        node1 = node("node1", "node1");
        node2 = node("node2", "node2");
        // An administrator's typo: Jetty itself would ignore it without a word.
        node2.setIni("session-store-redis.ini", "jetty.session.redis.comandTimeoutMillis", "1500");
        ServerNode.startAll(node1, node2);
    }

    /** A node set up the way the README tells an administrator, with the ee10 and ee8 test applications. */
    private JettyNode node(String name, String workerName) {
        return JettyE2e.node(name, workerName, home, work, redis.uri(), APPS);
    }

    @Override
    public List<JettyNode> nodes() {
        return Arrays.asList(node1, node2, node3);
    }

    /** A request to the test servlet {@code /<app>/s?<query>}. */
    private static Http.Reply get(JettyNode node, String app, String query, String sessionId) {
        return Http.get(node.port(), "/" + app + "/s?" + query, sessionId);
    }

    @BeforeEach
    void nodesUp() {
        for (JettyNode n : List.of(node1, node2)) {
            if (!n.isAlive()) {
                n.start();
            }
        }
    }

    @AfterAll
    void stopNodes() {
        ServerNode.killAll(node1, node2, node3);
        if (redis != null) {
            redis.close();
        }
    }

    // ------------------------------------------------------------------ scenarios

    /** The distribution deployed one application per environment, with the Tether store and prefix. */
    @Test
    @Order(1)
    void distributionRunsBothEnvironmentsWithTheTetherStore() throws Exception {
        for (JettyNode n : List.of(node1, node2)) {
            assertTrue(n.log().contains("jetty-" + versionPrefix), n.name() + " does not run Jetty " + versionPrefix);
            Http.Reply ee10 = get(n, "app10", "op=ping", null);
            assertEquals("6.0", ee10.value("spec"), "app10 must run as a Servlet 6.0 (ee10) application: " + ee10);
            assertEquals("jakarta.servlet.http", ee10.value("api"));
            Http.Reply ee8 = get(n, "app8", "op=ping", null);
            assertEquals("4.0", ee8.value("spec"), "app8 must run as a Servlet 4.0 (ee8) application: " + ee8);
            assertEquals("javax.servlet.http", ee8.value("api"));
            for (String app : APPS) {
                String line = "Tether: sessions of /" + app + " are kept in Redis under 'tether:jetty:0.0.0.0/" + app
                        + ":{id}', workerName " + n.name();
                assertTrue(n.log().contains(line), n.name() + " did not log: " + line);
            }
        }
        String typo = "Tether: jetty.session.redis.comandTimeoutMillis (start.d/session-store-redis.ini) is not a Tether setting"
                + " (did you mean 'commandTimeoutMillis'?)";
        assertTrue(node2.log().contains(typo), "node2 did not warn about its misspelled property:\n" + node2.tail(40));
        assertTrue(!node1.log().contains("is not a Tether setting"), "node1 has no unknown property:\n" + node1.tail(40));
    }

    /** (a) The cookie carries node1's workerName; Redis holds the record under the Jetty prefix. */
    @Test
    @Order(2)
    void sessionIdEndsWithWorkerNameAndRecordIsUnderTheJettyPrefix() throws Exception {
        for (String app : APPS) {
            Http.Reply r = get(node1, app, "op=set&name=greeting&value=hello-" + app, null);
            assertEquals(200, r.status(), r.toString());
            String cookie = r.sessionId();
            assertNotNull(cookie, app + ": no session cookie: " + r);
            assertTrue(cookie.endsWith(".node1"), app + ": cookie " + cookie + " does not end with .node1");
            String base = Http.base(cookie);
            assertEquals(base, r.value("id"), app + ": getId() is the id without the workerName");
            String key = jettyKey(app, base);
            // flushOnResponseCommit: the record is there as soon as the response is.
            assertEquals(List.of(key), redis.keys("*{" + base + "}*"), app + ": exactly one record, under the Jetty prefix");
            assertEquals("node1", redis.command("HGET", key, "owner"));
            assertEquals("1", redis.command("HGET", key, "ver"), app + ": one write so far");
            assertEquals("Shello-" + app, redis.command("HGET", key, "a:greeting"));
        }
    }

    /**
     * The jar the module archive put in {@code lib/tether/} runs the operator tool: it counts the
     * node's sessions, and an invalidation through it makes the node drop its copy at once.
     */
    @Test
    @Order(2)
    void theArchivesJarRunsTheOperatorTool() throws Exception {
        String cookie = get(node1, "app10", "op=set&name=greeting&value=hello", null).sessionId();
        Path jar;
        try (var jars = Files.list(node1.base().resolve("lib/tether"))) {
            jar = jars.filter(p -> p.getFileName().toString().startsWith("tether-jetty-")).findFirst().orElseThrow();
        }
        List<String> java = List.of(Processes.java(), "-jar", jar.toString());
        String summary = Processes.run(null, Duration.ofSeconds(60), concat(java, "summary", redis.uri(), "--json"));
        assertTrue(summary.contains("{\"prefix\":\"tether:jetty:0.0.0.0/app10:\"") && summary.contains("{\"owner\":\"node1\""), summary);
        String invalidated = Processes.run(null, Duration.ofSeconds(60), concat(java, "invalidate", cookie, redis.uri()));
        assertTrue(invalidated.startsWith("invalidated " + SessionId.redact(Http.base(cookie)) + " in tether:jetty:0.0.0.0/app10:"),
                invalidated);
        // The next request finds the copy emptied at once; then it leaves Jetty's cache.
        Http.Reply after = get(node1, "app10", "op=get", cookie);
        assertNull(after.attribute("greeting"), "node1 dropped its copy's data at once: " + after);
        assertTrue(dev.tether.testkit.Await.within(Duration.ofSeconds(5),
                () -> get(node1, "app10", "op=get", cookie).body().contains("session=none")), "and then the session");
        System.out.println("[e2e-jetty] java -jar " + node1.base().relativize(jar) + " invalidate <id> <uri>: " + invalidated.trim());
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }

    /** (g) A Tomcat-style record with the very same id lives beside the Jetty one; neither sees the other. */
    @Test
    @Order(3)
    void jettyAndTomcatRecordsNeverCollide() throws Exception {
        for (String app : APPS) {
            Http.Reply r = get(node1, app, "op=set&name=greeting&value=from-jetty", null);
            String cookie = r.sessionId();
            String base = Http.base(cookie);
            String tomcatPrefix = "tether:tomcat:localhost/" + app + ":";
            try (RedisSessionStore tomcat = new RedisSessionStore(
                    SessionStoreOptions.builder(redis.uri()).keyPrefix(tomcatPrefix).build(), "node1")) {
                awaitRedis(tomcat);
                PlainSession live = new PlainSession();
                live.attributes.put("greeting", "from-tomcat");
                TrackedSession state = tomcat.create(base, live);
                assertEquals(WriteOutcome.SAVED, tomcat.commit(state).toCompletableFuture().get(10, TimeUnit.SECONDS));
                assertEquals(tomcatPrefix + "{" + base + "}", tomcat.recordKey(base));
            }
            String jettyKey = jettyKey(app, base);
            assertTrue(jettyKey.startsWith("tether:jetty:"));
            List<String> keys = new ArrayList<>(redis.keys("*{" + base + "}*"));
            keys.sort(null);
            assertEquals(List.of(jettyKey, tomcatPrefix + "{" + base + "}"), keys, app + ": two separate records");
            assertEquals("Sfrom-jetty", redis.command("HGET", jettyKey, "a:greeting"));
            assertEquals("Sfrom-tomcat", redis.command("HGET", tomcatPrefix + "{" + base + "}", "a:greeting"));
            // The Jetty session at another node (loaded from Redis) is still the Jetty one.
            Http.Reply other = get(node2, app, "op=get", cookie);
            assertEquals("from-jetty", other.attribute("greeting"), app + ": " + other);
        }
    }

    /**
     * (b) failover after kill -9 carries every attribute and re-issues the cookie with node2's suffix;
     * (c) {@code ;jsessionid=<id>.node1} URL tracking works at node2 and encodeURL shows .node2;
     * (d) a list changed in place (no setAttribute) survives with the default save mode;
     * (e) HttpSessionActivationListener: sessionDidActivate is called on node2's copy.
     */
    @Test
    @Order(4)
    void killedNodesSessionsContinueOnTheOtherNode() throws Exception {
        Map<String, String> cookies = new HashMap<>();
        Map<String, String> urlIds = new HashMap<>();
        Map<String, Integer> activationsBefore = new HashMap<>();
        Map<String, Long> versionsBefore = new HashMap<>();
        for (String app : APPS) {
            String c1 = get(node1, app, "op=set&name=greeting&value=hello-" + app, null).sessionId();
            assertTrue(c1.endsWith(".node1"), c1);
            get(node1, app, "op=set&name=count&value=42", c1);
            get(node1, app, "op=add&value=one", c1);
            Http.Reply inPlace = get(node1, app, "op=add&value=two", c1);
            assertEquals("[one, two]", inPlace.attribute("list"), app + ": " + inPlace);
            get(node1, app, "op=probe", c1);
            cookies.put(app, c1);
            versionsBefore.put(app, Long.parseLong(redis.command("HGET", jettyKey(app, Http.base(c1)), "ver")));

            String u = get(node1, app, "op=set&name=tracked&value=url-" + app, null).sessionId();
            assertTrue(u.endsWith(".node1"), u);
            urlIds.put(app, u);
            activationsBefore.put(app, Integer.parseInt(get(node2, app, "op=counters", null).value("didActivate")));
        }

        node1.kill9();

        for (String app : APPS) {
            String c1 = cookies.get(app);
            String base = Http.base(c1);
            Http.Reply r = get(node2, app, "op=get", c1);
            assertEquals(200, r.status(), app + ": " + r);
            assertEquals("node2", r.value("node"));
            assertEquals(base, r.value("id"), app + ": same session");
            assertEquals(base + ".node2", r.sessionId(), app + ": Set-Cookie must carry the same id with .node2: " + r);
            assertEquals("hello-" + app, r.attribute("greeting"), app + ": " + r);
            assertEquals("42", r.attribute("count"), app + ": " + r);
            assertEquals("[one, two]", r.attribute("list"), app + ": the in-place change made on node1 was lost: " + r);
            assertNotNull(r.attribute("probe"), app + ": " + r);
            assertTrue(r.attribute("probe").startsWith("probe(createdOn=node1,"), app + ": " + r);
            String key = jettyKey(app, base);
            assertEquals("node2", redis.command("HGET", key, "owner"), app + ": node2 owns the session now");
            assertTrue(Long.parseLong(redis.command("HGET", key, "ver")) >= versionsBefore.get(app), app + ": the record never goes back");

            // Later requests with the new cookie work, and can write.
            String c2 = r.sessionId();
            Http.Reply next = get(node2, app, "op=add&value=three", c2);
            assertEquals(200, next.status(), app + ": " + next);
            assertEquals(base, next.value("id"));
            assertEquals("[one, two, three]", next.attribute("list"), app + ": " + next);
            assertTrue(next.sessionId() == null || next.sessionId().equals(c2), app + ": cookie changed again: " + next);
            assertEquals("hello-" + app, next.attribute("greeting"));
            // The instance deserialized on node2 was told it was activated there. Jetty 12 itself
            // calls sessionDidActivate only around a store (AbstractSessionCache.commit/release), not
            // when the cache loads a session: so it fires at the end of the first request on node2,
            // and only this second request can see it; the first one above saw activatedOn=null.
            assertEquals("probe(createdOn=node1,activatedOn=node2)", next.attribute("probe"), app + ": " + next);
            int activations = Integer.parseInt(get(node2, app, "op=counters", null).value("didActivate"));
            assertTrue(activations > activationsBefore.get(app), app + ": no sessionDidActivate on node2");

            // URL tracking: the id with node1's suffix in the path parameter.
            String u = urlIds.get(app);
            Http.Reply url = Http.get(node2.port(), "/" + app + "/s;jsessionid=" + u + "?op=get", null);
            assertEquals(200, url.status(), app + ": " + url);
            assertEquals(Http.base(u), url.value("id"), app + ": " + url);
            assertEquals("url-" + app, url.attribute("tracked"), app + ": " + url);
            assertEquals("/" + app + "/s;jsessionid=" + Http.base(u) + ".node2?op=get", url.value("url"),
                    app + ": encodeURL must rewrite with node2's suffix: " + url);
        }
    }

    /**
     * Redirect-after-POST: the POST's attribute is in Redis before its response, so kill -9 right
     * after the response loses nothing, and the redirected GET at node2 sees it.
     */
    @Test
    @Order(5)
    void redirectAfterPostSurvivesAKillRightAfterTheResponse() throws Exception {
        String config = node1.startJar("--list-config");
        assertTrue(config.contains("jetty.session.flushOnResponseCommit = true"),
                "the module must turn flushOnResponseCommit on:\n" + config);
        for (String app : APPS) {
            if (!node1.isAlive()) {
                node1.start();
            }
            Http.Reply post = Http.postForm(node1.port(), "/" + app + "/s?op=post", Map.of("name", "cart", "value", "book-" + app), null);
            node1.kill9();
            assertEquals(302, post.status(), app + ": " + post);
            String cookie = post.sessionId();
            assertTrue(cookie.endsWith(".node1"), app + ": " + post);
            String location = URI.create(post.header("location").get(0)).getRawPath() + "?"
                    + URI.create(post.header("location").get(0)).getRawQuery();
            assertTrue(location.startsWith("/" + app + "/s"), location);
            Http.Reply get = Http.get(node2.port(), location, cookie);
            assertEquals(200, get.status(), app + ": " + get);
            assertEquals("book-" + app, get.attribute("cart"), app + ": the POST's attribute was lost: " + get);
            assertEquals(Http.base(cookie) + ".node2", get.sessionId(), app + ": " + get);
        }
    }

    /**
     * (f) node1 comes back after its sessions moved to node2 and gets a stray request with the old
     * {@code .node1} cookie: it serves node2's newer data and never writes its old state back.
     */
    @Test
    @Order(6)
    void restartedNodeWithAStaleCookieNeverRegressesTheData() throws Exception {
        Map<String, String> cookies = new HashMap<>();
        for (String app : APPS) {
            cookies.put(app, get(node1, app, "op=set&name=v&value=old", null).sessionId());
        }
        node1.kill9();
        for (String app : APPS) {
            Http.Reply r = get(node2, app, "op=set&name=v&value=new", cookies.get(app));
            assertEquals("new", r.attribute("v"), app + ": " + r);
            assertEquals(Http.base(cookies.get(app)) + ".node2", r.sessionId());
        }
        node1.start();
        for (String app : APPS) {
            String c1 = cookies.get(app);
            String key = jettyKey(app, Http.base(c1));
            Http.Reply stray = get(node1, app, "op=get", c1);
            assertEquals(200, stray.status(), app + ": " + stray);
            assertEquals("new", stray.attribute("v"), app + ": the restarted node must see node2's write: " + stray);
            assertEquals("Snew", redis.command("HGET", key, "a:v"), app + ": the record regressed");
            Http.Reply again = get(node1, app, "op=add&value=after-restart", c1);
            assertEquals("new", again.attribute("v"), app + ": " + again);
            assertEquals("Snew", redis.command("HGET", key, "a:v"), app + ": the record regressed");
        }
    }

    /**
     * (f) The same with node1 still alive and holding its copy (a balancer sent the user to node2
     * meanwhile): Redis tells node1 of node2's write (client-side caching), node1 reads the record
     * again, and no node ever serves or writes back old data. (When Redis' message is late, the
     * version check inside Redis refuses node1's write of the same attribute: see redis-store's NodesTest.)
     */
    @Test
    @Order(7)
    void liveNodeWithAStaleCopyDropsItWhenTheTakeOverIsAnnounced() throws Exception {
        for (String app : APPS) {
            String c1 = get(node1, app, "op=set&name=v&value=old", null).sessionId();
            String key = jettyKey(app, Http.base(c1));
            Http.Reply moved = get(node2, app, "op=set&name=v&value=new", c1);
            String c2 = moved.sessionId();
            assertEquals(Http.base(c1) + ".node2", c2, app + ": " + moved);
            assertEquals("node2", redis.command("HGET", key, "owner"));

            // Redis told node1 of node2's write: a stray request there reads the current state
            // instead of the old one.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            Http.Reply stray;
            do {
                stray = get(node1, app, "op=get", c1);
                if ("new".equals(stray.attribute("v"))) {
                    break;
                }
                Thread.sleep(100);
            } while (System.nanoTime() < deadline);
            assertEquals(200, stray.status(), app + ": " + stray);
            assertEquals("new", stray.attribute("v"), app + ": node1 served its stale copy");
            assertEquals("Snew", redis.command("HGET", key, "a:v"), app + ": node1 wrote its stale data back");

            // A later write at node1 builds on the current state; node2 then sees it too, because
            // node1's take-over was announced in turn. Nothing regresses either way.
            assertEquals(200, get(node1, app, "op=set&name=w&value=fromNode1", c1).status());
            assertEquals("SfromNode1", redis.command("HGET", key, "a:w"));
            assertEquals("Snew", redis.command("HGET", key, "a:v"));
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            Http.Reply back;
            do {
                back = get(node2, app, "op=get", c2);
                if ("fromNode1".equals(back.attribute("w"))) {
                    break;
                }
                Thread.sleep(100);
            } while (System.nanoTime() < deadline);
            assertEquals("fromNode1", back.attribute("w"), app + ": node2 kept serving its stale copy");
            assertEquals("new", back.attribute("v"));
        }
        // Dropping the stale copy is routine, not an error: the fenced request still completes cleanly.
        assertFalse(node1.logSinceStart().contains("Unable to release Session"),
                "node1 broke the fenced request's completion:\n" + node1.tail(60));
    }

    /**
     * (h) A workerName with a dot would break balancer routing: Jetty itself refuses to start with
     * one; a workerName Jetty accepts but a balancer cannot route on is refused by Tether.
     */
    @Test
    @Order(8)
    void unusableWorkerNamesAreRefused() throws Exception {
        node3 = node("node3", "node.3");
        node3.launch();
        int exit = node3.awaitExit(Duration.ofSeconds(60));
        assertNotEquals(Integer.MIN_VALUE, exit, "a node with workerName node.3 kept running:\n" + node3.tail(60));
        assertNotEquals(0, exit);
        assertTrue(node3.log().contains("Name cannot contain '.'"), "no clear message:\n" + node3.tail(60));

        node3.workerName("node+3");
        node3.launch();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!node3.log().contains("Started oejs.Server") && !node3.log().contains("Started Server")) {
            assertTrue(node3.isAlive(), "node3 exited:\n" + node3.tail(60));
            assertTrue(System.nanoTime() < deadline, "node3 did not start:\n" + node3.tail(60));
            Thread.sleep(100);
        }
        for (String app : APPS) {
            Http.Reply r = get(node3, app, "op=set&name=a&value=b", null);
            assertEquals(503, r.status(), app + " must be unavailable: " + r);
        }
        String message = "Tether: workerName 'node+3' is not usable: it may only contain letters, digits, '_' and '-'";
        assertEquals(2, occurrences(node3.log(), "IllegalStateException: " + message),
                "both applications must refuse the workerName:\n" + node3.tail(80));
        node3.kill9();
    }

    // ------------------------------------------------------------------ helpers

    private static String jettyKey(String app, String base) {
        return "tether:jetty:0.0.0.0/" + app + ":{" + base + "}";
    }

    private static int occurrences(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    private static void awaitRedis(RedisSessionStore store) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!store.isRedisAvailable()) {
            assertTrue(System.nanoTime() < deadline, "the core store did not connect to Redis");
            Thread.sleep(20);
        }
    }

    /** A session as the Tomcat adapter would hand it to the core. */
    private static final class PlainSession implements ContainerSession {
        final Map<String, Object> attributes = new ConcurrentHashMap<>();
        final long created = System.currentTimeMillis();

        @Override
        public SessionSnapshot snapshot() {
            return new SessionSnapshot(attributes, created, created, 1800, Map.of());
        }

        @Override
        public void drop() {
        }
    }
}
