package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Await;
import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
 * The promise, where it is hardest to keep, on two real Tomcat 10.1 nodes: a request whose session
 * change was not stored never gets a 2xx (503 with Retry-After instead); a change another node's
 * request did not touch is merged, not lost; an asynchronous request is answered only once its change
 * is stored; a logout is final on every node; a command error is no outage; what a session does as
 * its node stops is written.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
@DisplayName("Guarantees under faults on Apache Tomcat 10.1 (real distribution)")
class Tomcat10GuaranteesIT implements DumpLogsOnFailure.WithNodes {

    RedisProcess redis;
    TomcatNode node1;
    TomcatNode node2;

    @BeforeAll
    void startCluster() {
        redis = RedisProcess.start();
        var work = E2eSupport.workDir("guarantees-tomcat-10.1");
        var home = E2eSupport.tomcatHome("10.1");
        node1 = E2eSupport.node(work, "node1", home, redis.uri());
        node2 = E2eSupport.node(work, "node2", home, redis.uri());
        for (TomcatNode n : List.of(node1, node2)) {
            // /app may dispatch into /b (crossContext), a second Tether application.
            E2eSupport.deployTestApp(n, "app", contextXml(" crossContext=\"true\""));
            E2eSupport.deployTestApp(n, "b", contextXml(""));
        }
        ServerNode.startAll(node1, node2);
    }

    @AfterAll
    void stopCluster() {
        ServerNode.killAll(node1, node2);
        if (redis != null) {
            redis.close();
        }
    }

    private String contextXml(String contextAttributes) {
        return """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context%s>
                  <JarScanner scanClassPath="false"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s"/>
                </Context>
                """.formatted(contextAttributes, redis.uri());
    }

    @Override
    public List<TomcatNode> nodes() {
        return Arrays.asList(node1, node2);
    }

    private String key(String id) {
        return E2eSupport.KEY_PREFIX + "{" + Http.base(id) + "}";
    }

    private static String newSession(TomcatNode node, String path) {
        Reply r = Http.get(node.port(), path, null);
        assertEquals(200, r.status(), r::toString);
        return r.sessionId();
    }

    @Test
    @Order(1)
    @DisplayName("a slow request on the old node loses the race for the same attribute: 503 with Retry-After, never a 200")
    void slowRequestOnTheOldNodeIsRefusedWhenTheSameAttributeChangedElsewhere() throws Exception {
        String id = newSession(node1, "/app/list-add?v=a");
        // The request that changes the cart in place sleeps on node1 (a GC pause, a slow page)...
        CompletableFuture<Reply> slow = CompletableFuture.supplyAsync(() -> Http.get(node1.port(), "/app/g/slow-add?v=b&sleepMs=1500", id));
        Thread.sleep(300);
        // ...while the user's next request lands on node2, which takes the session over and changes the cart.
        Reply other = Http.get(node2.port(), "/app/list-add?v=c", id);
        assertEquals(200, other.status(), other::toString);
        Reply late = slow.get();
        assertEquals(503, late.status(), () -> "the slow request's change was not stored, so no 2xx: " + late);
        assertEquals(List.of("1"), late.header("retry-after"), late::toString);
        assertTrue(redis.command("HGET", key(id), "a:list").contains("c"), "node2's change stands");
        assertFalse(redis.command("HGET", key(id), "a:list").contains("b"), "the refused change is not half-stored");
    }

    @Test
    @Order(2)
    @DisplayName("a slow request on the old node that changed another attribute is merged: 200, and both changes stored")
    void slowRequestOnTheOldNodeIsMergedWhenOtherAttributesChangedElsewhere() throws Exception {
        String id = newSession(node1, "/app/set?k=x&v=0");
        CompletableFuture<Reply> slow = CompletableFuture.supplyAsync(() -> Http.get(node1.port(), "/app/g/slow-set?k=x&v=1&sleepMs=1500", id));
        Thread.sleep(300);
        Reply other = Http.get(node2.port(), "/app/set?k=y&v=2", id);
        assertEquals(200, other.status(), other::toString);
        Reply late = slow.get();
        assertEquals(200, late.status(), late::toString);
        assertEquals("S1", redis.command("HGET", key(id), "a:x"));
        assertEquals("S2", redis.command("HGET", key(id), "a:y"));
        // node2 was told of node1's write and reads the record again: it shows both changes.
        String current = other.sessionId() != null ? other.sessionId() : id;
        Await.await("node2 shows both changes", Duration.ofSeconds(5),
                () -> "1".equals(Http.get(node2.port(), "/app/get", current).attributes().get("x")));
    }

    @Test
    @Order(3)
    @DisplayName("an asynchronous request is answered only after the change its other thread made is in Redis")
    void asynchronousChangesAreStoredBeforeTheResponse() {
        String id = newSession(node1, "/app/list-add?v=start");
        for (int i = 0; i < 5; i++) {
            Reply r = Http.get(node1.port(), "/app/g/async-add?v=async" + i, id);
            assertEquals(200, r.status(), r::toString);
            // Read Redis the moment the response is in: the change must be there already.
            String stored = redis.command("HGET", key(id), "a:list");
            assertTrue(stored.contains("async" + i), "acknowledged before it was stored: " + stored);
            assertEquals("Sasync" + i, redis.command("HGET", key(id), "a:async"));
        }
    }

    @Test
    @Order(4)
    @DisplayName("a logout on a node that no longer serves the session is final: the old cookie lets nobody in")
    void logoutOnANodeThatNoLongerServesTheSessionIsFinal() {
        String id = E2eSupport.formLogin(node1, null);
        // The user moves to node2 (a balancer flap), which takes the session over, logged in.
        Reply there = Http.get(node2.port(), "/app/secure/whoami", id);
        assertEquals(E2eSupport.USER, there.value("user"), there::toString);
        String moved = there.sessionId() != null ? there.sessionId() : id;
        // A tab still on node1 logs out, with the cookie node1 gave.
        Reply out = Http.get(node1.port(), "/app/g/logout", id);
        assertEquals(200, out.status(), out::toString);
        assertEquals("0", redis.command("EXISTS", key(id)), "the record is gone everywhere");
        for (String cookie : List.of(id, moved)) {
            for (TomcatNode n : List.of(node1, node2)) {
                Reply probe = Http.get(n.port(), "/app/secure/whoami", cookie);
                assertTrue(probe.body().contains(FailoverScenario.LOGIN_PAGE_MARKER),
                        () -> n.name() + " let the logged-out cookie in: " + probe);
            }
        }
    }

    @Test
    @Order(5)
    @DisplayName("Redis out of memory refuses writes with 503, reads go on, and it is no outage: no queue, no rewrite loop")
    void aCommandErrorIsNoOutage() {
        String id = newSession(node1, "/app/set?k=k&v=before");
        long logBefore = node1.logSize();
        redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction");
        redis.command("CONFIG", "SET", "maxmemory", "1");
        try {
            Reply refused = Http.get(node1.port(), "/app/set?k=k&v=during", id);
            assertEquals(503, refused.status(), refused::toString);
            Reply read = Http.get(node1.port(), "/app/get", id);
            assertEquals(200, read.status(), "a request that changes nothing needs no Redis: " + read);
        } finally {
            redis.command("CONFIG", "SET", "maxmemory", "0");
        }
        Reply after = Http.get(node1.port(), "/app/set?k=k&v=after", id);
        assertEquals(200, after.status(), after::toString);
        assertEquals("Safter", redis.command("HGET", key(id), "a:k"));
        String log = node1.logSince(logBefore);
        assertFalse(log.contains("is unreachable"), "OOM is no outage:\n" + log);
        assertTrue(log.contains("out of memory"), "one clear line about it:\n" + log);
    }

    @Test
    @Order(6)
    @DisplayName("Redis turned replica (READONLY) refuses writes with 503, then works again as master")
    void readOnlyRedisRefusesWritesWithoutAnOutage() {
        String id = newSession(node1, "/app/set?k=r&v=before");
        redis.command("REPLICAOF", "127.0.0.1", "1");
        try {
            Reply refused = Http.get(node1.port(), "/app/set?k=r&v=during", id);
            assertEquals(503, refused.status(), refused::toString);
        } finally {
            redis.command("REPLICAOF", "NO", "ONE");
        }
        Await.await("writes are taken again", Duration.ofSeconds(10),
                () -> Http.get(node1.port(), "/app/set?k=r&v=after", id).status() == 200);
        assertEquals("Safter", redis.command("HGET", key(id), "a:r"));
    }

    @Test
    @Order(7)
    @DisplayName("a logout Redis does not take is answered 503, the session still logged in; retried, it is final")
    void aLogoutRedisRefusesIsNotAcknowledged() {
        String id = E2eSupport.formLogin(node1, null);
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1"); // no replica: every write refused (NOREPLICAS)
        try {
            Reply refused = Http.get(node1.port(), "/app/g/logout", id);
            assertEquals(503, refused.status(), "a logout that did not happen must not look done: " + refused);
            assertFalse(refused.header("Retry-After").isEmpty(), refused::toString);
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        loggedInUntilTheRetry(id, "/app/g/logout");
    }

    @Test
    @Order(8)
    @DisplayName("a logout on an asynchronous request's own thread that Redis does not take is answered 503 too")
    void anAsynchronousLogoutRedisRefusesIsNotAcknowledged() throws Exception {
        String id = E2eSupport.formLogin(node1, null);
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1"); // no replica: every write refused (NOREPLICAS)
        try {
            // A request on the same session that began before the logout and ends before it completes:
            // it must neither take the refusal for its own nor take it away from the logout.
            CompletableFuture<Reply> other = CompletableFuture.supplyAsync(() -> Http.get(node1.port(), "/app/g/sleep?sleepMs=600", id));
            Thread.sleep(100);
            Reply refused = Http.get(node1.port(), "/app/g/async-logout?holdMs=1000", id);
            assertEquals(503, refused.status(), "a logout that did not happen must not look done: " + refused);
            Reply sleeper = other.get(10, TimeUnit.SECONDS);
            assertEquals(200, sleeper.status(), "that request changed nothing: " + sleeper);
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        loggedInUntilTheRetry(id, "/app/g/async-logout");
    }

    /** After a refused logout: the login stands on the other node; the logout retried there is final everywhere. */
    private void loggedInUntilTheRetry(String id, String logout) {
        Reply still = Http.get(node2.port(), "/app/secure/whoami", id);
        assertEquals(E2eSupport.USER, still.value("user"), "the record was not deleted, so the login stands: " + still);
        Reply again = Http.get(node2.port(), logout, still.sessionCookie() == null ? id : still.sessionCookie().value());
        assertEquals(200, again.status(), again::toString);
        Reply after = Http.get(node1.port(), "/app/secure/whoami", id);
        assertTrue(after.body().contains(FailoverScenario.LOGIN_PAGE_MARKER), "logged out everywhere: " + after);
    }

    @Test
    @Order(9)
    @DisplayName("a cross-context include: the other application's session is stored with the request and follows the user to another node")
    void aSessionReachedByACrossContextIncludeIsStoredAndFailsOver() {
        Reply first = Http.get(node1.port(), "/app/g/include?v=x", null);
        assertEquals(200, first.status(), first::toString);
        assertTrue(first.body().contains("list=[x]"), first::toString);
        String id = first.sessionId();
        String other = "tether:tomcat:localhost/b:{" + Http.base(id) + "}";
        assertEquals("1", redis.command("HEXISTS", other, "a:list"), "/b's session under /app's id was not stored: " + redis.keys("*"));
        // node1 is gone for this user: node2 reads both sessions from Redis.
        Reply moved = Http.get(node2.port(), "/app/g/include?v=y", id);
        assertEquals(200, moved.status(), moved::toString);
        assertTrue(moved.body().contains("list=[x, y]"), () -> "/b's session did not follow the user: " + moved);
        assertEquals("2", redis.command("HGET", other, "ver"), "node2 wrote /b's session");
        // A change of /b's session that Redis refuses is not acknowledged (/app's own session is unchanged).
        String now = moved.sessionId() != null ? moved.sessionId() : id;
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1"); // no replica: every write refused (NOREPLICAS)
        try {
            Reply refused = Http.get(node2.port(), "/app/g/include?v=z", now);
            assertEquals(503, refused.status(), () -> "a change that was not stored must not look done: " + refused);
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertEquals("2", redis.command("HGET", other, "ver"), "the refused change left /b's record as it was");
        // /b ends its session (a logout there): answered 200, and /b's next session works, under an
        // id of its own (the user's id is ended for /b: it is never used again).
        Reply out = Http.get(node2.port(), "/app/g/include?to=logout", now);
        assertEquals(200, out.status(), out::toString);
        assertEquals("0", redis.command("EXISTS", other));
        Reply again = Http.get(node2.port(), "/app/g/include?v=w", now);
        assertEquals(200, again.status(), again::toString);
        assertTrue(again.body().contains("list=[w]"), again::toString);
    }

    @Test
    @Order(10)
    @DisplayName("a cross-context forward is stored too; an id change in the other application's page moves the request's own session")
    void aCrossContextForwardAndAnIdChangeInTheOtherApplicationsPage() {
        Reply first = Http.get(node1.port(), "/app/g/include?how=forward&v=f", null);
        assertEquals(200, first.status(), first::toString);
        assertTrue(first.body().contains("list=[f]"), first::toString);
        // A forward may answer with both applications' cookies (paths /app and /b), of one value.
        String id = first.setCookies().stream().filter(c -> c.name().equals("JSESSIONID")).findFirst().orElseThrow().value();
        String other = "tether:tomcat:localhost/b:{" + Http.base(id) + "}";
        assertEquals("1", redis.command("HEXISTS", other, "a:list"), "/b's session reached by a forward was not stored: " + redis.keys("*"));
        // request.changeSessionId() in /b's page changes the request's own (/app's) session, as Tomcat
        // defines it (its include wrapper does not override it): a move Redis refuses is answered 503.
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1");
        try {
            Reply refused = Http.get(node1.port(), "/app/g/include?to=change-id", id);
            assertEquals(503, refused.status(), () -> "an id change that was not stored must not look done: " + refused);
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertEquals("1", redis.command("EXISTS", key(id)), "the refused move left /app's record where it was");
        Reply moved = Http.get(node1.port(), "/app/g/include?to=change-id", id);
        assertEquals(200, moved.status(), moved::toString);
        assertEquals("0", redis.command("EXISTS", key(id)), "/app's record moved to its new id");
        assertEquals("1", redis.command("EXISTS", other), "/b's session is not moved by Tomcat: it stays under the id it has");
    }

    @Test
    @Order(11)
    @DisplayName("a long request keeps its session alive on every node as Tomcat counts idle time: from the request's end")
    void aLongRequestCountsAsAnAccessUntilItEnds() throws Exception {
        String id = newSession(node1, "/app/g/expire-in?s=4"); // max-inactive 4 s
        assertEquals(200, Http.get(node1.port(), "/app/set?k=cart&v=book", id).status());
        // A request that uses the session for 3.5 s (an upload, a report) and changes nothing.
        Reply slow = Http.get(node1.port(), "/app/g/sleep?sleepMs=3500", id);
        assertEquals("slept=true", slow.body().trim(), slow::toString);
        Thread.sleep(2500); // idle 2.5 s since that request ended (6 s since it began)
        Reply there = Http.get(node2.port(), "/app/get", id);
        assertEquals("book", there.value("attr.cart"), () -> "node2 took the session for idle since the long request began: " + there);
    }

    @Test
    @Order(20)
    @DisplayName("what a session listener does as its node stops (sessionWillPassivate) is written")
    void passivationChangesAreWrittenAtStop() {
        String id = newSession(node1, "/app/g/stamp");
        assertNull(redis.command("HGET", key(id), "a:passivatedBy"));
        node1.stop();
        assertEquals("Snode1", redis.command("HGET", key(id), "a:passivatedBy"), "the listener's change reached Redis");
    }
}
