package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Await;
import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.Ports;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
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
 * Operations on real Tomcat nodes: a node whose Manager has the wrong Redis password, and
 * Tether's counters read over remote JMX from Tomcat's own Manager MBean. Subclasses pick the
 * Tomcat version.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
abstract class OperationsScenario implements DumpLogsOnFailure.WithNodes {

    static final String RIGHT_PASSWORD = "right-Pw-4711";
    static final String WRONG_PASSWORD = "wrong-Pw-0815";
    static final String MANAGER_MBEAN = "Catalina:type=Manager,host=localhost,context=/app";
    /** The core's statistics bean, registered by the Manager beside its own. */
    static final String TETHER_MBEAN = "Catalina:type=Tether,host=localhost,context=/app";

    RedisProcess redis;
    RedisProcess securedRedis;
    TomcatNode node1;
    TomcatNode node2;
    TomcatNode wrongPassword;
    int jmxPort;

    /** "9.0" or "10.1": which of the distributions in tether.tomcat.homes to run. */
    abstract String tomcatVersion();

    @BeforeAll
    void startNodes() throws Exception {
        redis = RedisProcess.start();
        securedRedis = RedisProcess.start();
        // Set after start: the harness's own readiness PING runs unauthenticated.
        securedRedis.command("CONFIG", "SET", "requirepass", RIGHT_PASSWORD);
        securedRedis.password(RIGHT_PASSWORD);
        var work = E2eSupport.workDir("operations-tomcat-" + tomcatVersion());
        var home = E2eSupport.tomcatHome(tomcatVersion());
        node1 = E2eSupport.node(work, "node1", home, redis.uri());
        node2 = E2eSupport.node(work, "node2", home, redis.uri());
        jmxPort = E2eSupport.remoteJmx(node2);
        wrongPassword = E2eSupport.node(work, "node3", home, "redis://:" + WRONG_PASSWORD + "@127.0.0.1:" + securedRedis.port());
        ServerNode.startAll(node1, node2, wrongPassword);
    }

    @AfterAll
    void stopNodes() {
        ServerNode.killAll(node1, node2, wrongPassword);
        for (RedisProcess r : new RedisProcess[] {redis, securedRedis}) {
            if (r != null) {
                r.close();
            }
        }
    }

    @Override
    public List<TomcatNode> nodes() {
        return Arrays.asList(node1, node2, wrongPassword);
    }

    // ------------------------------------------------------------------ 4: wrong password

    @Test
    @Order(1)
    @DisplayName("4. wrong Redis password at start: the application starts, serves sessions from memory, one clear error line")
    void wrongPasswordAtStart() throws Exception {
        assertTrue(wrongPassword.logContains("Tether: sessions of /app are kept in Redis"), "the context must have started");

        Reply created = Http.get(wrongPassword.port(), "/app/set?k=user&v=alice", null);
        assertEquals(200, created.status(), created::toString);
        String id = created.sessionCookie().value();
        assertTrue(id.endsWith(".node3"), id);
        for (int i = 0; i < 20; i++) {
            Reply r = Http.get(wrongPassword.port(), "/app/set?k=n" + (i % 3) + "&v=" + i, id);
            assertEquals(200, r.status(), r::toString);
            assertEquals(id, r.value("id"), r::toString);
            assertEquals(200, Http.get(wrongPassword.port(), "/app/list-add?v=" + i, id).status());
        }
        Thread.sleep(3000); // Tether retries in the background meanwhile (about once a second)
        Reply view = Http.get(wrongPassword.port(), "/app/get", id);
        assertEquals(200, view.status(), view::toString);
        assertEquals(Map.of("user", "alice", "n0", "18", "n1", "19", "n2", "17",
                "list", "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]"), view.attributes(), view::toString);

        String log = java.nio.file.Files.readString(wrongPassword.logFile(), StandardCharsets.UTF_8);
        List<String> problems = log.lines()
                .filter(l -> (l.contains("WARNING") || l.contains("SEVERE")) && l.toLowerCase(Locale.ROOT).contains("redis"))
                .toList();
        System.out.println("[e2e] Tomcat " + tomcatVersion() + " wrong password: after 42 requests and a few seconds of retries, the node logged:\n  "
                + String.join("\n  ", problems));
        assertEquals(1, problems.size(), "exactly one warning or error about Redis:\n" + String.join("\n", problems));
        String line = problems.get(0);
        assertTrue(line.contains("Tether: Redis at redis://127.0.0.1:" + securedRedis.port() + " is not reachable"), line);
        assertTrue(line.contains("WRONGPASS") || line.contains("NOAUTH") || line.toLowerCase(Locale.ROOT).contains("auth"),
                "the line must say it is about authentication: " + line);
        assertFalse(log.contains(WRONG_PASSWORD), "the password must never be logged");
        assertEquals(List.of(), E2eSupport.linesContaining(log, "SEVERE"), "SEVERE lines");
        assertEquals(0, securedKeys(), "nothing reached the secured Redis");

        // Give the node the password it was configured with: Tether, which kept retrying, connects and
        // writes the session it served from memory.
        assertEquals("OK", securedRedis.command("CONFIG", "SET", "requirepass", WRONG_PASSWORD));
        securedRedis.password(WRONG_PASSWORD);
        String key = E2eSupport.KEY_PREFIX + "{" + Http.base(id) + "}";
        assertTrue(waitFor(15_000, () -> wrongPassword.logContains("Tether: connected to Redis")),
                "Tether did not connect once the password matched");
        assertTrue(waitFor(10_000, () -> "Salice".equals(securedRedisHget(key, "a:user"))),
                "the session served from memory was not written once Redis accepted the node");
        assertEquals("S18", securedRedisHget(key, "a:n0"));
        assertEquals("S19", securedRedisHget(key, "a:n1"));
    }

    private long securedKeys() {
        return Long.parseLong(securedRedis.command("DBSIZE"));
    }

    private String securedRedisHget(String key, String field) {
        return securedRedis.command("HGET", key, field);
    }

    // ------------------------------------------------------------------ 5: JMX

    @Test
    @Order(2)
    @DisplayName("5. JMX: the Tether MBean beside Tomcat's Manager MBean shows the counters after traffic and a takeover")
    void jmxCounters() throws Exception {
        // Traffic on node2: five sessions, three writes each.
        for (int i = 0; i < 5; i++) {
            Reply r = Http.get(node2.port(), "/app/set?k=a&v=" + i, null);
            assertEquals(200, r.status(), r::toString);
            String id = r.sessionCookie().value();
            assertEquals(200, Http.get(node2.port(), "/app/set?k=b&v=" + i, id).status());
            assertEquals(200, Http.get(node2.port(), "/app/list-add?v=" + i, id).status());
        }
        // A node1 session, with one attribute nobody can read, taken over by node2.
        Reply onNode1 = Http.get(node1.port(), "/app/set?k=user&v=bob", null);
        String old = onNode1.sessionCookie().value();
        redis.command("HSET", E2eSupport.KEY_PREFIX + "{" + Http.base(old) + "}", "a:unreadable", "Zgarbage");
        Reply taken = Http.get(node2.port(), "/app/get", old);
        assertEquals(200, taken.status(), taken::toString);
        assertEquals(Map.of("user", "bob"), taken.attributes(), taken::toString);

        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi");
        try (JMXConnector connector = JMXConnectorFactory.connect(url, Map.of())) {
            MBeanServerConnection mbs = connector.getMBeanServerConnection();
            ObjectName manager = new ObjectName(MANAGER_MBEAN);
            ObjectName tether = new ObjectName(TETHER_MBEAN);
            Map<String, Object> values = new TreeMap<>();
            values.put("activeSessions", mbs.getAttribute(manager, "activeSessions"));
            for (MBeanAttributeInfo a : mbs.getMBeanInfo(tether).getAttributes()) {
                values.put(a.getName(), mbs.getAttribute(tether, a.getName()));
            }
            System.out.println("[e2e] Tomcat " + tomcatVersion() + " JMX " + TETHER_MBEAN + " on node2, every Tether attribute: " + values);

            assertEquals(6, ((Number) values.get("activeSessions")).intValue(), "5 created here + 1 taken over");
            assertEquals(Boolean.TRUE, values.get("RedisAvailable"));
            assertEquals(5L, values.get("SessionsCreated"));
            assertEquals(1L, values.get("SessionsTakenOver"));
            assertEquals("node1=1", values.get("SessionsTakenOverByRoute"));
            assertTrue((Long) values.get("Writes") >= 16, "15 changing requests + the cleanup after the takeover: " + values);
            assertTrue((Long) values.get("WriteLatencyP99Micros") > 0, values::toString);
            assertTrue((Long) values.get("WriteLatencyP99Micros") >= (Long) values.get("WriteLatencyP50Micros"));
            assertEquals(1L, values.get("AttributesRejected"), "the unreadable attribute");
            assertEquals(0L, values.get("WritesPending"));

            System.out.printf("[e2e] README one-liner (JMX, %s): activeSessions=%s RedisAvailable=%s Writes=%s"
                    + " SessionsTakenOver=%s SessionsTakenOverByRoute=%s WriteLatencyP99Micros=%s"
                    + " AttributesRejected=%s%n", TETHER_MBEAN, values.get("activeSessions"), values.get("RedisAvailable"),
                    values.get("Writes"), values.get("SessionsTakenOver"), values.get("SessionsTakenOverByRoute"),
                    values.get("WriteLatencyP99Micros"), values.get("AttributesRejected"));

            // RedisAvailable is live: it turns false when Redis goes away and true when it is back.
            redis.command("SAVE");
            redis.kill();
            assertTrue(waitFor(10_000, () -> Boolean.FALSE.equals(attribute(mbs, tether, "RedisAvailable"))),
                    "RedisAvailable stayed true while Redis was down");
            redis.relaunch();
            assertTrue(waitFor(15_000, () -> Boolean.TRUE.equals(attribute(mbs, tether, "RedisAvailable"))),
                    "RedisAvailable did not come back");
        }
    }

    // ------------------------------------------------------------------ 6: the operator tool

    @Test
    @Order(3)
    @DisplayName("6. java -jar of the shaded jar: summary, show and invalidate on the running nodes' sessions")
    void operatorToolFromTheShadedJar() throws Exception {
        Reply created = Http.get(node1.port(), "/app/set?k=user&v=carol", null);
        assertEquals(200, created.status(), created::toString);
        String id = created.sessionCookie().value();
        assertEquals(200, Http.get(node1.port(), "/app/list-add?v=1", id).status());
        String key = E2eSupport.KEY_PREFIX + "{" + Http.base(id) + "}";
        assertTrue(waitFor(15_000, () -> "Scarol".equals(redis.command("HGET", key, "a:user"))
                && redis.command("HGET", key, "a:list") != null), "the session is in Redis");

        Ran summary = tool("summary", redis.uri(), "--json");
        assertEquals(0, summary.exit(), summary.text());
        assertTrue(summary.text().contains("{\"prefix\":\"" + E2eSupport.KEY_PREFIX + "\"")
                && summary.text().contains("{\"owner\":\"node1\",\"sessions\":"), summary.text());

        Ran show = tool("show", id, redis.uri());
        assertEquals(0, show.exit(), show.text());
        assertTrue(show.text().lines().anyMatch(l -> l.matches("\\s+user\\s+java\\.lang\\.String\\s+.*")), show.text());
        assertTrue(show.text().lines().anyMatch(l -> l.matches("\\s+list\\s+java\\.util\\.ArrayList\\s+.*")), show.text());
        assertFalse(show.text().contains("carol") || show.text().contains(Http.base(id)), "no value, no full id: " + show.text());

        Ran invalidate = tool("invalidate", id, redis.uri());
        assertEquals(0, invalidate.exit(), invalidate.text());
        Reply after = Http.get(node1.port(), "/app/get", id);
        assertEquals("none", after.value("id"), "node1 dropped its copy at once: " + after);
        Ran unreachable = tool("summary", "redis://127.0.0.1:" + Ports.free());
        assertEquals(3, unreachable.exit(), unreachable.text());
        assertEquals(1, unreachable.text().lines().count(), "one line, no stack trace: " + unreachable.text());
        System.out.println("[e2e] Tomcat " + tomcatVersion() + " operator tool, java -jar " + jar().getFileName() + ":\n" + show.text()
                + invalidate.text() + unreachable.text());
    }

    @Test
    @Order(4)
    @DisplayName("7. JMX expireSession (also what a single sign-on logout calls) ends the session everywhere, not only this node's copy")
    void expireSessionOverJmxIsFinal() throws Exception {
        Reply created = Http.get(node2.port(), "/app/set?k=user&v=dave", null);
        assertEquals(200, created.status(), created::toString);
        String id = created.sessionCookie().value();
        String key = E2eSupport.KEY_PREFIX + "{" + Http.base(id) + "}";
        assertTrue(waitFor(15_000, () -> "Sdave".equals(redis.command("HGET", key, "a:user"))), "the session is in Redis");

        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi");
        try (JMXConnector connector = JMXConnectorFactory.connect(url, Map.of())) {
            connector.getMBeanServerConnection().invoke(new ObjectName(MANAGER_MBEAN), "expireSession", new Object[] {id},
                    new String[] {String.class.getName()});
        }
        assertTrue(waitFor(5_000, () -> redis.command("EXISTS", key).equals("0")), "the record is deleted");
        assertEquals("1", redis.command("EXISTS", key + ":gone"), "with its tombstone");
        Reply elsewhere = Http.get(node1.port(), "/app/get", id);
        assertEquals(200, elsewhere.status(), elsewhere::toString);
        assertEquals(Map.of(), elsewhere.attributes(), "another node does not serve the expired session: " + elsewhere);
    }

    @Test
    @Order(5)
    @DisplayName("8. a copy read again after another node's change tells its HttpSessionActivationListener values, as a load does")
    void aCopyReadAgainActivatesItsValues() {
        Reply created = Http.get(node1.port(), "/app/probe?label=p", null);
        String id = created.sessionCookie().value();
        Reply atNode2 = Http.get(node2.port(), "/app/set?k=a&v=1", id); // the user moves: node2 loads it (activation there)
        assertEquals(200, atNode2.status(), atNode2::toString);
        String moved = atNode2.sessionCookie() != null ? atNode2.sessionCookie().value() : id;
        Reply back = Http.get(node1.port(), "/app/get", moved); // and back: node1 reads its old copy again
        assertEquals("probe(p)", back.attributes().get("probe"), back::toString);
        Reply stats = Http.get(node1.port(), "/app/stats?base=" + Http.base(id), null);
        assertEquals("1", stats.value("activations"), "sessionDidActivate on node1 for the value read again: " + stats);
    }

    record Ran(int exit, String text) {
    }

    /** One run of {@code java -jar} on the shaded jar; stdout and stderr together. */
    private Ran tool(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(dev.tether.testkit.Processes.java(), "-jar", jar().toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the tool ends");
        return new Ran(p.exitValue(), text);
    }

    /** The shaded jar this Tomcat runs. */
    private java.nio.file.Path jar() {
        return E2eSupport.jar(E2eSupport.tomcatHome(tomcatVersion()));
    }

    private static Object attribute(MBeanServerConnection mbs, ObjectName name, String attribute) {
        try {
            return mbs.getAttribute(name, attribute);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean waitFor(long millis, BooleanSupplier condition) {
        return Await.within(Duration.ofMillis(millis), condition);
    }
}
