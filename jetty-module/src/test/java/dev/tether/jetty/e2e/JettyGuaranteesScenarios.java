package dev.tether.jetty.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Await;
import dev.tether.testkit.Dirs;
import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.JettyNode;
import dev.tether.testkit.Ports;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The promise, where it is hardest to keep, on two nodes of a real Jetty 12 distribution, with one
 * test application (ee10 or ee8, chosen by the subclass with the Jetty version): a request whose session
 * change was not stored never gets a 2xx (503 with Retry-After instead); a change another node's
 * request did not touch is merged; concurrent requests on one node lose nothing of each other; an
 * asynchronous request is answered only once its change is stored; an id change at login is one
 * fenced step; a logout is final on every node, and one Redis did not take is not acknowledged; a
 * command error is no outage; what a session listener does as its node stops is written. The
 * store's counters (JMX) say what each refusal was.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
abstract class JettyGuaranteesScenarios implements DumpLogsOnFailure.WithNodes {

    private final String label;
    private final String homeProperty;
    private final String app;
    private final String prefix;

    private RedisProcess redis;
    private JettyNode node1;
    private JettyNode node2;
    private int jmxPort;

    /**
     * @param label directory name under {@code target/e2e-jetty}
     * @param homeProperty system property naming the unpacked {@code jetty-home}
     * @param app the test application: {@code app10} (ee10) or {@code app8} (ee8)
     */
    JettyGuaranteesScenarios(String label, String homeProperty, String app) {
        this.label = label;
        this.homeProperty = homeProperty;
        this.app = app;
        this.prefix = "tether:jetty:0.0.0.0/" + app + ":";
    }

    @BeforeAll
    void startNodes() {
        var home = Dirs.fromProperty(homeProperty);
        var work = JettyE2e.work(label);
        redis = RedisProcess.start();
        node1 = JettyE2e.node("node1", "node1", home, work, redis.uri(), List.of(app), "jmx");
        node2 = JettyE2e.node("node2", "node2", home, work, redis.uri(), List.of(app));
        jmxPort = Ports.free();
        node1.addJvmOptions("-Dcom.sun.management.jmxremote.port=" + jmxPort + " -Dcom.sun.management.jmxremote.rmi.port=" + jmxPort
                + " -Dcom.sun.management.jmxremote.host=127.0.0.1 -Dcom.sun.management.jmxremote.authenticate=false"
                + " -Dcom.sun.management.jmxremote.ssl=false -Djava.rmi.server.hostname=127.0.0.1");
        ServerNode.startAll(node1, node2);
    }

    @AfterAll
    void stopNodes() {
        ServerNode.killAll(node1, node2);
        if (redis != null) {
            redis.close();
        }
    }

    @BeforeEach
    void nodesUp() {
        for (JettyNode n : List.of(node1, node2)) {
            if (!n.isAlive()) {
                n.start();
            }
        }
    }

    @Override
    public List<JettyNode> nodes() {
        return Arrays.asList(node1, node2);
    }

    private Reply get(JettyNode node, String query, String sessionId) {
        return Http.get(node.port(), "/" + app + "/s?" + query, sessionId);
    }

    private CompletableFuture<Reply> later(JettyNode node, String query, String sessionId) {
        return CompletableFuture.supplyAsync(() -> get(node, query, sessionId));
    }

    private String newSession(JettyNode node, String query) {
        Reply r = get(node, query, null);
        assertEquals(200, r.status(), r::toString);
        assertNotNull(r.sessionId(), r::toString);
        return r.sessionId();
    }

    private String key(String id) {
        return prefix + "{" + Http.base(id) + "}";
    }

    /** The live records (not tombstones) among these ids'. */
    private List<String> liveRecords(String... ids) {
        List<String> live = new ArrayList<>();
        for (String id : ids) {
            if ("1".equals(redis.command("EXISTS", key(id)))) {
                live.add(key(id));
            }
        }
        return live;
    }

    /** node1's store counter, over JMX (Jetty's jmx module registers the store's statistics). */
    private long stat(String attribute) {
        try {
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi");
            try (JMXConnector connector = JMXConnectorFactory.connect(url, Map.of())) {
                MBeanServerConnection mbs = connector.getMBeanServerConnection();
                Set<ObjectName> names = mbs.queryNames(new ObjectName("dev.tether.store:type=storestats,*"), null);
                assertEquals(1, names.size(), () -> "one store on node1: " + names);
                ObjectName name = names.iterator().next();
                long value = ((Number) mbs.getAttribute(name, attribute)).longValue();
                assertPrometheusRuleMatches(name, attribute, value);
                return value;
            }
        } catch (Exception e) {
            throw new IllegalStateException("node1's JMX: " + e, e);
        }
    }

    /**
     * examples/prometheus: the exporter reads a bean as {@code domain<key=value, ...><>attribute: value},
     * keys in the order Jetty registered them; the example's Jetty rule must match it.
     */
    private static void assertPrometheusRuleMatches(ObjectName name, String attribute, long value) throws java.io.IOException {
        String rules = java.nio.file.Files.readString(java.nio.file.Path.of("..", "examples", "prometheus", "tether-jmx-exporter.yml"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("pattern: '(dev\\.tether\\.store<[^']*|dev.tether.store<[^']*)'").matcher(rules);
        assertTrue(m.find(), "the example has a rule for Jetty");
        String bean = name.getDomain() + "<" + name.getKeyPropertyListString().replace(",", ", ") + "><>" + attribute + ": " + value;
        java.util.regex.Matcher rule = java.util.regex.Pattern.compile(m.group(1)).matcher(bean);
        assertTrue(rule.matches(), () -> "the example's Jetty rule does not match " + bean);
        assertEquals(attribute, rule.group(3), bean);
    }

    private static void assertRefused(Reply r, String why) {
        assertEquals(503, r.status(), () -> why + ": " + r);
        assertFalse(r.header("Retry-After").isEmpty(), () -> "a 503 without Retry-After: " + r);
    }

    private boolean loggedIn(JettyNode node, String cookie) {
        Reply r = get(node, "op=get", cookie);
        assertTrue(r.status() == 200 || r.status() == 404, r::toString);
        return r.attribute("user") != null;
    }

    // ------------------------------------------------------------------ scenarios

    @Test
    @Order(1)
    @DisplayName("a slow request on the old node loses the race for the same attribute: 503 with Retry-After, counted as refused")
    void slowRequestOnTheOldNodeIsRefusedWhenTheSameAttributeChangedElsewhere() throws Exception {
        long refusedBefore = stat("RefusedRequests");
        long unstoredBefore = stat("AcknowledgedUnstored");
        String id = newSession(node1, "op=add&value=item-a");
        // The request that changes the cart in place sleeps on node1 (a GC pause, a slow page)...
        CompletableFuture<Reply> slow = later(node1, "op=slow-add&value=item-b&sleepMs=2500", id);
        Thread.sleep(300);
        // ...while the user's next request lands on node2, which takes the session over and changes the cart.
        Reply other = get(node2, "op=add&value=item-c", id);
        assertEquals(200, other.status(), other::toString);
        Reply late = slow.get();
        assertRefused(late, "the slow request's change was not stored, so no 2xx");
        String list = redis.command("HGET", key(id), "a:list");
        assertTrue(list.contains("item-c"), "node2's change stands");
        assertFalse(list.contains("item-b"), "the refused change is not half-stored");
        // Counted once as what it was: a refusal, not a change acknowledged and lost.
        Await.await("node1 counts the refusal", Duration.ofSeconds(5), () -> stat("RefusedRequests") == refusedBefore + 1);
        Thread.sleep(300); // the session's release (the last request leaving) comes after the response
        assertEquals(refusedBefore + 1, stat("RefusedRequests"));
        assertEquals(unstoredBefore, stat("AcknowledgedUnstored"), "a request answered 503 was counted as acknowledged and lost");
        // The user's retry on node1 works, on the current state.
        Reply retry = get(node1, "op=add&value=item-b", id);
        assertEquals(200, retry.status(), retry::toString);
        assertEquals("[item-a, item-c, item-b]", retry.attribute("list"), retry::toString);
    }

    @Test
    @Order(2)
    @DisplayName("a slow request on the old node that changed another attribute is merged: 200, and both changes stored")
    void slowRequestOnTheOldNodeIsMergedWhenOtherAttributesChangedElsewhere() throws Exception {
        String id = newSession(node1, "op=set&name=x&value=0");
        CompletableFuture<Reply> slow = later(node1, "op=slow-set&name=x&value=1&sleepMs=2500", id);
        Thread.sleep(300);
        Reply other = get(node2, "op=set&name=y&value=2", id);
        assertEquals(200, other.status(), other::toString);
        Reply late = slow.get();
        assertEquals(200, late.status(), late::toString);
        assertEquals("S1", redis.command("HGET", key(id), "a:x"));
        assertEquals("S2", redis.command("HGET", key(id), "a:y"));
        String current = other.sessionId() != null ? other.sessionId() : id;
        Await.await("node2 shows both changes", Duration.ofSeconds(5), () -> "1".equals(get(node2, "op=get", current).attribute("x")));
    }

    @Test
    @Order(3)
    @DisplayName("two requests on one session on one node: the first one's store keeps the second one's in-place change")
    void concurrentRequestsOnOneNodeLoseNothingOfEachOther() throws Exception {
        long unstoredBefore = stat("AcknowledgedUnstored");
        String id = newSession(node1, "op=add&value=item-a");
        for (int i = 0; i < 3; i++) {
            CompletableFuture<Reply> slow = later(node1, "op=slow-add&value=slow" + i + "&sleepMs=800", id);
            Thread.sleep(200);
            // This one reads the cart too, and is stored (at its response) while the slow one still works on it.
            Reply quick = get(node1, "op=add&value=quick" + i, id);
            assertEquals(200, quick.status(), quick::toString);
            Reply late = slow.get();
            assertEquals(200, late.status(), late::toString);
            String list = redis.command("HGET", key(id), "a:list");
            assertTrue(list.contains("quick" + i) && list.contains("slow" + i), "acknowledged and not stored: list " + i);
        }
        assertEquals(unstoredBefore, stat("AcknowledgedUnstored"));
    }

    @Test
    @Order(4)
    @DisplayName("an asynchronous request is answered only after the change its other thread made is in Redis")
    void asynchronousChangesAreStoredBeforeTheResponse() {
        String id = newSession(node1, "op=add&value=start");
        for (int i = 0; i < 5; i++) {
            Reply r = get(node1, "op=async-add&value=async" + i, id);
            assertEquals(200, r.status(), r::toString);
            assertEquals("async" + i, r.value("added"), r::toString);
            // Read Redis the moment the response is in: the change must be there already.
            String stored = redis.command("HGET", key(id), "a:list");
            assertTrue(stored.contains("async" + i), "acknowledged before it was stored: " + i);
            assertEquals("Sasync" + i, redis.command("HGET", key(id), "a:async"));
        }
    }

    @Test
    @Order(5)
    @DisplayName("a login (new id) is one step: the old id is gone everywhere, and a request still using it never revives it")
    void loginRenewsTheIdInOneStep() throws Exception {
        String before = newSession(node1, "op=set&name=cart&value=book");
        // A slow request on the same session runs across the login.
        CompletableFuture<Reply> slow = later(node1, "op=slow-set&name=late&value=yes&sleepMs=1000", before);
        Thread.sleep(200);
        Reply login = get(node1, "op=login&user=alice", before);
        assertEquals(200, login.status(), login::toString);
        String after = login.sessionId();
        assertNotNull(after, login::toString);
        assertNotEquals(Http.base(before), Http.base(after));
        Reply late = slow.get();
        assertEquals(200, late.status(), late::toString);
        assertEquals(List.of(key(after)), liveRecords(before, after), "one live record, under the new id");
        assertEquals("Syes", redis.command("HGET", key(after), "a:late"), "the slow request's change went to the session's record");
        assertEquals("Salice", redis.command("HGET", key(after), "a:user"));
        // The old id, on either node: no session, and no record comes back under it.
        for (JettyNode n : List.of(node1, node2)) {
            Reply stale = get(n, "op=get", before);
            assertEquals(404, stale.status(), () -> n.name() + " served the pre-login session: " + stale);
            Reply fresh = get(n, "op=set&name=other&value=1", before);
            assertEquals(200, fresh.status(), fresh::toString);
            assertNotEquals(Http.base(before), Http.base(fresh.sessionId()), "the old id was reused for a new session");
            assertNull(fresh.attribute("cart"), fresh::toString);
        }
        assertEquals(List.of(key(after)), liveRecords(before, after));
        assertTrue(loggedIn(node2, after), "the login holds on node2");
    }

    @Test
    @Order(6)
    @DisplayName("a login racing a change of the session on another node: never two live records, never a 2xx for what was not stored")
    void loginRacingAChangeElsewhereIsFenced() throws Exception {
        String before = newSession(node1, "op=set&name=cart&value=book");
        CompletableFuture<Reply> login = later(node1, "op=login&user=bob&sleepMs=2000", before);
        Thread.sleep(300);
        Reply elsewhere = get(node2, "op=set&name=cart&value=pen", before);
        Reply done = login.get();
        System.out.println("[guarantees-jetty] a login racing a change on another node answered " + done.status()
                + ", the change " + elsewhere.status());
        String after = done.sessionId();
        List<String> live = after == null ? liveRecords(before) : liveRecords(before, after);
        assertEquals(1, live.size(), () -> "live records: " + live + ", login " + done);
        if (done.status() == 200) {
            assertEquals(List.of(key(after)), live);
            assertEquals("Sbob", redis.command("HGET", key(after), "a:user"));
            assertFalse(loggedIn(node2, before), "the old id lets nobody in");
            if (elsewhere.status() == 200) {
                // Only if node2's change came before the login read the session: then the login built on it.
                assertEquals("Spen", redis.command("HGET", key(after), "a:cart"), "an acknowledged change was lost");
            } else {
                // The login came first (a slow machine): node2's late change to the old id was refused.
                assertRefused(elsewhere, "a change to a session whose id changed meanwhile");
            }
        } else {
            assertRefused(done, "a login that was not stored");
            assertEquals(200, elsewhere.status(), elsewhere::toString);
            assertEquals(List.of(key(before)), live);
            assertNull(redis.command("HGET", key(before), "a:user"), "the refused login left no user");
            assertEquals("Spen", redis.command("HGET", key(before), "a:cart"), "node2's change stands");
            Reply retry = get(node1, "op=login&user=bob", before);
            assertEquals(200, retry.status(), retry::toString);
            assertEquals(List.of(key(retry.sessionId())), liveRecords(before, retry.sessionId()));
            assertEquals("Spen", redis.command("HGET", key(retry.sessionId()), "a:cart"));
        }
    }

    @Test
    @Order(7)
    @DisplayName("a logout on a node that no longer serves the session is final: the old cookie lets nobody in")
    void logoutOnANodeThatNoLongerServesTheSessionIsFinal() {
        String id = get(node1, "op=login&user=alice", newSession(node1, "op=set&name=cart&value=book")).sessionId();
        Reply there = get(node2, "op=get", id);
        assertEquals("alice", there.attribute("user"), there::toString);
        String moved = there.sessionId() != null ? there.sessionId() : id;
        Reply out = get(node1, "op=logout", id);
        assertEquals(200, out.status(), out::toString);
        assertEquals("true", out.value("loggedOut"), out::toString);
        assertEquals("0", redis.command("EXISTS", key(id)), "the record is gone everywhere");
        for (String cookie : List.of(id, moved)) {
            for (JettyNode n : List.of(node1, node2)) {
                assertFalse(loggedIn(n, cookie), () -> n.name() + " let the logged-out cookie in");
            }
        }
    }

    @Test
    @Order(8)
    @DisplayName("Redis out of memory refuses writes with 503, reads go on, and it is no outage")
    void aCommandErrorIsNoOutage() throws Exception {
        String id = newSession(node1, "op=set&name=k&value=before");
        long logBefore = node1.logSize();
        long unstoredBefore = stat("AcknowledgedUnstored");
        redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction");
        redis.command("CONFIG", "SET", "maxmemory", "1");
        try {
            assertRefused(get(node1, "op=set&name=k&value=during", id), "a write Redis refused");
            Reply read = get(node1, "op=get", id);
            assertEquals(200, read.status(), () -> "a request that changes nothing needs no Redis: " + read);
        } finally {
            redis.command("CONFIG", "SET", "maxmemory", "0");
        }
        Reply after = get(node1, "op=set&name=k&value=after", id);
        assertEquals(200, after.status(), after::toString);
        assertEquals("Safter", redis.command("HGET", key(id), "a:k"));
        String log = node1.logSince(logBefore);
        assertFalse(log.contains("is unreachable"), "OOM is no outage:\n" + log);
        assertTrue(log.contains("out of memory"), "one clear line about it:\n" + log);
        assertEquals(unstoredBefore, stat("AcknowledgedUnstored"), "a request answered 503 was counted as acknowledged and lost");
    }

    @Test
    @Order(9)
    @DisplayName("Redis turned replica (READONLY) refuses writes with 503, then works again as master")
    void readOnlyRedisRefusesWritesWithoutAnOutage() {
        String id = newSession(node1, "op=set&name=r&value=before");
        redis.command("REPLICAOF", "127.0.0.1", "1");
        try {
            assertRefused(get(node1, "op=set&name=r&value=during", id), "a write Redis refused");
        } finally {
            redis.command("REPLICAOF", "NO", "ONE");
        }
        Await.await("writes are taken again", Duration.ofSeconds(10), () -> get(node1, "op=set&name=r&value=after", id).status() == 200);
        assertEquals("Safter", redis.command("HGET", key(id), "a:r"));
    }

    @Test
    @Order(10)
    @DisplayName("a write Redis does not answer in time (paused) is answered 503, never 200")
    void aWriteRedisDoesNotAnswerIsRefused() {
        String id = newSession(node1, "op=set&name=p&value=before");
        redis.pause();
        Reply r;
        try {
            r = get(node1, "op=set&name=p&value=during", id);
        } finally {
            redis.resume();
        }
        assertRefused(r, "a write Redis did not answer");
    }

    @Test
    @Order(11)
    @DisplayName("a logout Redis refuses is answered 503, the session still logged in; retried, it is final")
    void aLogoutRedisRefusesIsNotAcknowledged() {
        String id = get(node1, "op=login&user=carol", newSession(node1, "op=set&name=cart&value=book")).sessionId();
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1"); // no replica: every write refused (NOREPLICAS)
        Reply refused;
        try {
            refused = get(node1, "op=logout", id);
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertRefused(refused, "a logout that did not happen must not look done");
        loggedInUntilTheRetry(id, "op=logout");
    }

    @Test
    @Order(12)
    @DisplayName("a logout on an asynchronous request's own thread that Redis refuses is answered 503 too")
    void anAsynchronousLogoutRedisRefusesIsNotAcknowledged() {
        String id = get(node1, "op=login&user=cora", newSession(node1, "op=set&name=cart&value=book")).sessionId();
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1"); // no replica: every write refused (NOREPLICAS)
        Reply refused;
        Reply sleeper;
        try {
            // A request on the same session, in its handler while the logout's own thread ends the
            // session: it did not make that change, and is not refused for it.
            CompletableFuture<Reply> other = later(node1, "op=sleep&sleepMs=1000", id);
            Await.sleep(100);
            refused = get(node1, "op=async-logout&sleepMs=300", id);
            sleeper = other.join();
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertRefused(refused, "a logout that did not happen must not look done");
        assertEquals(200, sleeper.status(), () -> "that request changed nothing: " + sleeper);
        loggedInUntilTheRetry(id, "op=async-logout");
    }

    /** After a refused logout: the login stands on the other node; the logout retried there is final everywhere. */
    private void loggedInUntilTheRetry(String id, String logout) {
        assertTrue(loggedIn(node2, id), "the record was not deleted, so the login stands");
        Reply again = get(node2, logout, id);
        assertEquals(200, again.status(), again::toString);
        assertFalse(loggedIn(node1, id), "logged out everywhere");
        assertFalse(loggedIn(node2, id), "logged out everywhere");
    }

    @Test
    @Order(12)
    @DisplayName("a logout while Redis does not answer (paused) is answered 503; retried when Redis is back, it is final")
    void aLogoutRedisDoesNotAnswerIsNotAcknowledged() {
        String id = get(node1, "op=login&user=dave", newSession(node1, "op=set&name=cart&value=book")).sessionId();
        redis.pause();
        Reply r;
        try {
            r = get(node1, "op=logout", id);
        } finally {
            redis.resume();
        }
        assertRefused(r, "a logout Redis did not answer must not look done");
        Reply again = get(node1, "op=logout", id);
        assertEquals(200, again.status(), again::toString);
        assertEquals("0", redis.command("EXISTS", key(id)));
        assertFalse(loggedIn(node1, id), "logged out everywhere");
        assertFalse(loggedIn(node2, id), "logged out everywhere");
    }

    @Test
    @Order(13)
    @DisplayName("a logout Redis refuses after the response went out cannot be a 503: it is counted as acknowledged and not stored")
    void aRefusalAfterTheResponseIsCounted() {
        String id = get(node1, "op=login&user=erin", newSession(node1, "op=set&name=cart&value=book")).sessionId();
        long refusedBefore = stat("RefusedRequests");
        long unstoredBefore = stat("AcknowledgedUnstored");
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1");
        Reply r;
        try {
            r = get(node1, "op=flush-logout", id);
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertEquals(200, r.status(), () -> "the response was out before the logout: " + r);
        Await.await("node1 counts it", Duration.ofSeconds(5), () -> stat("AcknowledgedUnstored") == unstoredBefore + 1);
        assertEquals(refusedBefore, stat("RefusedRequests"), "no 503 was sent");
        assertTrue(loggedIn(node2, id), "the record was not deleted");
    }

    @Test
    @Order(20)
    @DisplayName("what a session listener does as its node stops (sessionWillPassivate) is written")
    void passivationChangesAreWrittenAtStop() {
        String id = newSession(node1, "op=stamp");
        Await.await("the first passivation is stored", Duration.ofSeconds(5), () -> redis.command("HGET", key(id), "a:passivations") != null);
        String before = redis.command("HGET", key(id), "a:passivations");
        node1.stop();
        String after = redis.command("HGET", key(id), "a:passivations");
        assertNotNull(after);
        assertTrue(Integer.parseInt(after.substring(1)) > Integer.parseInt(before.substring(1)),
                "the listener's change at the stop did not reach Redis: " + before + " -> " + after);
    }
}
