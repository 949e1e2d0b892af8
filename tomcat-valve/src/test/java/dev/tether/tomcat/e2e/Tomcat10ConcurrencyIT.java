package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.nio.charset.StandardCharsets;
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
import java.util.function.IntFunction;
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
 * Many parallel requests on ONE session, on two real Tomcat 10.1 nodes.
 *
 * <p>Documented outcome: requests that change <em>different</em> attributes of one session never
 * lose each other's update, on one node and across a failover. Requests that race on the
 * <em>same</em> attribute: last write wins per attribute; the value Redis ends up with is the
 * value the node serves afterwards, and it is one of the written values (never a mix, never an
 * older state than the node's).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
@DisplayName("Parallel requests on one session on Apache Tomcat 10.1 (real distribution)")
class Tomcat10ConcurrencyIT implements DumpLogsOnFailure.WithNodes {

    static final int PARALLEL = 50;
    static final int SAME_ATTRIBUTE_ROUNDS = 5;

    RedisProcess redis;
    TomcatNode node1;
    TomcatNode node2;
    ExecutorService pool;

    @BeforeAll
    void startCluster() {
        redis = RedisProcess.start();
        var work = E2eSupport.workDir("concurrency-tomcat-10.1");
        var home = E2eSupport.tomcatHome("10.1");
        node1 = E2eSupport.node(work, "node1", home, redis.uri());
        node2 = E2eSupport.node(work, "node2", home, redis.uri());
        ServerNode.startAll(node1, node2);
        pool = Executors.newFixedThreadPool(PARALLEL);
    }

    @AfterAll
    void stopCluster() {
        if (pool != null) {
            pool.shutdownNow();
        }
        ServerNode.killAll(node1, node2);
        if (redis != null) {
            redis.close();
        }
    }

    @Override
    public List<TomcatNode> nodes() {
        return Arrays.asList(node1, node2);
    }

    @Test
    @Order(1)
    @DisplayName("50 parallel requests on one session on one node, each setting its own attribute: none lost")
    void distinctAttributesOnOneNode() throws Exception {
        String id = newSession(node1, "/app/set?k=base&v=0");
        List<Reply> replies = burst(i -> node1.port(), i -> "/app/set?k=p" + i + "&v=v" + i, id);
        for (Reply r : replies) {
            assertEquals(200, r.status(), r::toString);
            assertEquals(id, r.value("id"), r::toString);
        }
        Map<String, String> expected = new LinkedHashMap<>(Map.of("base", "0"));
        for (int i = 0; i < PARALLEL; i++) {
            expected.put("p" + i, "v" + i);
        }
        assertEquals(expected, stringAttributesInRedis(id), "Redis must hold every attribute");
        assertEquals(expected, Http.get(node1.port(), "/app/get", id).attributes(), "node1 must serve every attribute");
    }

    @Test
    @Order(2)
    @DisplayName("50 parallel requests with the old .node1 cookie at node2 (failover), each setting its own attribute: none lost")
    void distinctAttributesAcrossFailover() throws Exception {
        String old = newSession(node1, "/app/set?k=before&v=failover");
        for (int i = 0; i < 5; i++) {
            call(node1, "/app/set?k=n1_" + i + "&v=x" + i, old);
        }
        long verBefore = Long.parseLong(hget(old, "ver"));
        String expectedId = Http.base(old) + ".node2";

        List<Reply> replies = burst(i -> node2.port(), i -> "/app/set?k=q" + i + "&v=w" + i, old);
        Set<String> ids = new HashSet<>();
        for (Reply r : replies) {
            assertEquals(200, r.status(), r::toString);
            assertEquals("node2", r.value("node"), r::toString);
            ids.add(r.value("id"));
        }
        assertEquals(Set.of(expectedId), ids, "every parallel request must use the one taken-over session");

        Map<String, String> expected = new LinkedHashMap<>(Map.of("before", "failover"));
        for (int i = 0; i < 5; i++) {
            expected.put("n1_" + i, "x" + i);
        }
        for (int i = 0; i < PARALLEL; i++) {
            expected.put("q" + i, "w" + i);
        }
        assertEquals(expected, stringAttributesInRedis(old), "Redis must hold node1's and all 50 of node2's attributes");
        assertEquals(expected, Http.get(node2.port(), "/app/get", expectedId).attributes(), "node2 must serve all of them");
        assertEquals("node2", hget(old, "owner"));
        assertTrue(Long.parseLong(hget(old, "ver")) >= verBefore, "the record never goes back");
    }

    /**
     * Last write wins per attribute: parallel requests setting the same attribute leave one of the
     * written values, and Redis and the node agree on which.
     */
    @Test
    @Order(3)
    @DisplayName("50 parallel requests setting the SAME attribute: last write wins; Redis holds what the node serves, one of the written values")
    void sameAttributeRace() throws Exception {
        List<String> outcomes = new ArrayList<>();
        for (int round = 0; round < SAME_ATTRIBUTE_ROUNDS; round++) {
            String id = newSession(node1, "/app/set?k=other&v=kept");
            int r = round;
            List<Reply> replies = burst(i -> node1.port(), i -> "/app/set?k=same&v=r" + r + "_" + i, id);
            replies.forEach(x -> assertEquals(200, x.status(), x::toString));
            outcomes.add(checkSameAttribute(node1, id, id, "r" + r + "_"));
        }
        // The same race while the session fails over: old cookie at node2.
        String old = newSession(node1, "/app/set?k=other&v=kept");
        call(node1, "/app/set?k=same&v=before", old);
        List<Reply> replies = burst(i -> node2.port(), i -> "/app/set?k=same&v=f_" + i, old);
        replies.forEach(x -> assertEquals(200, x.status(), x::toString));
        outcomes.add(checkSameAttribute(node2, old, Http.base(old) + ".node2", "f_"));
        System.out.println("[e2e] Tomcat 10.1 same-attribute races (" + PARALLEL + " writers each): winners " + outcomes);
    }

    private String checkSameAttribute(TomcatNode node, String anyId, String currentId, String writtenPrefix) {
        Map<String, String> inRedis = stringAttributesInRedis(anyId);
        Map<String, String> served = Http.get(node.port(), "/app/get", currentId).attributes();
        String value = inRedis.get("same");
        assertNotNull(value, "no value in Redis");
        assertTrue(value.startsWith(writtenPrefix) && Integer.parseInt(value.substring(writtenPrefix.length())) < PARALLEL,
                "Redis holds a value nobody wrote in this race: " + value);
        assertEquals(inRedis, served, "the node must serve exactly what Redis holds");
        assertEquals("kept", served.get("other"));
        return value;
    }

    // ------------------------------------------------------------------ helpers

    /** PARALLEL requests released together, each GET path(i) with the same cookie. */
    private List<Reply> burst(IntFunction<Integer> port, IntFunction<String> path, String sessionId) throws Exception {
        CountDownLatch ready = new CountDownLatch(PARALLEL);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Reply>> futures = new ArrayList<>();
        for (int i = 0; i < PARALLEL; i++) {
            int n = i;
            futures.add(pool.submit(() -> {
                ready.countDown();
                go.await(10, TimeUnit.SECONDS);
                return Http.get(port.apply(n), path.apply(n), sessionId);
            }));
        }
        assertTrue(ready.await(10, TimeUnit.SECONDS), "the pool did not start " + PARALLEL + " requests");
        go.countDown();
        List<Reply> out = new ArrayList<>();
        for (Future<Reply> f : futures) {
            out.add(f.get(60, TimeUnit.SECONDS));
        }
        return out;
    }

    private String newSession(TomcatNode node, String path) {
        Reply r = Http.get(node.port(), path, null);
        assertEquals(200, r.status(), r::toString);
        assertNotNull(r.sessionCookie(), r::toString);
        return r.sessionCookie().value();
    }

    private void call(TomcatNode node, String path, String id) {
        Reply r = Http.get(node.port(), path, id);
        assertEquals(200, r.status(), r::toString);
        assertEquals(id, r.value("id"), r::toString);
    }

    private String hget(String id, String field) {
        return redis.command("HGET", E2eSupport.KEY_PREFIX + "{" + Http.base(id) + "}", field);
    }

    /** Every attribute of the record (all are Strings here: 'S' + UTF-8), by name. */
    private Map<String, String> stringAttributesInRedis(String id) {
        Map<String, String> out = new LinkedHashMap<>();
        redis.hgetall(E2eSupport.KEY_PREFIX + "{" + Http.base(id) + "}").forEach((field, value) -> {
            if (field.startsWith("a:")) {
                String v = new String(value, StandardCharsets.UTF_8);
                assertTrue(v.startsWith("S"), field + " is not a String: " + v);
                out.put(field.substring(2), v.substring(1));
            }
        });
        return new java.util.TreeMap<>(out).entrySet().stream()
                .collect(LinkedHashMap::new, (m, e) -> m.put(e.getKey(), e.getValue()), Map::putAll);
    }
}
