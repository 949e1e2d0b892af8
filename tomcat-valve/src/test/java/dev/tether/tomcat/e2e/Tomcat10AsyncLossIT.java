package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.TomcatNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The loss window of {@code asyncWrites}, measured: users write a new attribute with every request
 * on one real Tomcat 10.1 node, which is killed with {@code kill -9} under that load. Afterwards
 * Redis is asked for every attribute a user was answered 200 for. With safe writes (the default)
 * none may be missing; with asyncWrites the missing ones are the changes answered shortly before
 * the kill, and the test reports how shortly. CI runs one kill per mode;
 * {@code -Dtether.asyncLoss.kills=N} runs N per mode (the README's numbers).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(DumpLogsOnFailure.class)
@DisplayName("asyncWrites: what a kill -9 under write load loses, against the safe default (real Tomcat 10.1)")
class Tomcat10AsyncLossIT implements DumpLogsOnFailure.WithNodes {

    private static final int USERS = 16;
    private static final long LOAD_BEFORE_KILL_MILLIS = 3_000;

    RedisProcess redis;
    TomcatNode node;

    @Override
    public List<TomcatNode> nodes() {
        return node == null ? List.of() : List.of(node);
    }

    @AfterEach
    void stop() {
        if (node != null) {
            node.kill9();
        }
        if (redis != null) {
            redis.close();
        }
    }

    /** One acknowledged change: the attribute a user's request set, and when its 200 arrived. */
    private record Ack(String sessionId, String attribute, long answeredAtNanos) {
    }

    /**
     * What one kill showed: for each acknowledged change missing from Redis, when its 200 arrived in
     * milliseconds relative to the kill signal (negative: before it; positive: after it, from the
     * socket buffers, while the process was dying).
     */
    private record Kill(int acknowledged, List<Long> lostAnsweredMillis, double requestsPerSecond) {
    }

    @Test
    @DisplayName("safe writes lose nothing acknowledged; asyncWrites loses only what was answered just before the kill")
    void lossWindowUnderKill9() throws Exception {
        int kills = Integer.getInteger("tether.asyncLoss.kills", 1);
        List<Kill> safe = new ArrayList<>();
        List<Kill> async = new ArrayList<>();
        for (int i = 0; i < kills; i++) {
            safe.add(killUnderLoad(false, "safe-" + i));
            async.add(killUnderLoad(true, "async-" + i));
        }
        report("safe (default)", safe);
        report("asyncWrites", async);
        for (Kill k : safe) {
            assertTrue(k.acknowledged() > 100, "too little load to say anything: " + k);
            assertEquals(List.of(), k.lostAnsweredMillis(), "safe writes lost acknowledged changes (answered at ms from the kill)");
        }
        for (Kill k : async) {
            assertTrue(k.acknowledged() > 100, "too little load to say anything: " + k);
            // Whatever is lost was answered within the last moments before the kill, never earlier:
            // a bound far above the window, so the test fails only if writes stop reaching Redis.
            k.lostAnsweredMillis().forEach(ms -> assertTrue(ms > -2_000,
                    "an asynchronous write answered " + -ms + " ms before the kill never reached Redis"));
        }
    }

    private Kill killUnderLoad(boolean asyncWrites, String name) throws Exception {
        if (redis != null) {
            stop();
        }
        redis = RedisProcess.start();
        Path work = E2eSupport.workDir("async-loss-tomcat-10.1").resolve(name);
        node = E2eSupport.node(work, "node1", E2eSupport.tomcatHome("10.1"), redis.uri());
        E2eSupport.deployTestApp(node, "app", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s" asyncWrites="%s"/>
                </Context>
                """.formatted(redis.uri(), asyncWrites));
        node.start();

        ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
        AtomicBoolean dead = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(USERS);
        ExecutorService users = Executors.newFixedThreadPool(USERS);
        for (int u = 0; u < USERS; u++) {
            int user = u;
            users.submit(() -> {
                try (Http.Connection c = Http.keepAlive("127.0.0.1", node.port())) {
                    String id = c.get("/app/set?k=u&v=" + user).sessionId();
                    started.countDown();
                    for (int n = 0; !dead.get(); n++) {
                        String attribute = "w" + n;
                        Reply r = c.get("/app/set?k=" + attribute + "&v=1", id);
                        long at = System.nanoTime();
                        if (r.status() == 200) {
                            acks.add(new Ack(id, attribute, at));
                        }
                    }
                } catch (RuntimeException e) {
                    // the node died under this user's request: that request was never answered
                }
                return null;
            });
        }
        assertTrue(started.await(30, TimeUnit.SECONDS), "users could not start");
        long loadStart = System.nanoTime();
        Thread.sleep(LOAD_BEFORE_KILL_MILLIS);
        long killAt = System.nanoTime();
        node.kill9();
        dead.set(true);
        users.shutdown();
        assertTrue(users.awaitTermination(30, TimeUnit.SECONDS), "users did not stop");

        List<Long> lost = new ArrayList<>();
        for (Ack a : acks) {
            String key = E2eSupport.KEY_PREFIX + "{" + Http.base(a.sessionId()) + "}";
            if ("0".equals(redis.command("HEXISTS", key, "a:" + a.attribute()))) {
                lost.add(TimeUnit.NANOSECONDS.toMillis(a.answeredAtNanos() - killAt));
            }
        }
        lost.sort(null);
        double seconds = (killAt - loadStart) / 1e9;
        Kill k = new Kill(acks.size(), lost, acks.size() / seconds);
        System.out.printf("[e2e] asyncLoss %s: %d changes acknowledged (%.0f/s), %d not in Redis after kill -9%s%n",
                name, k.acknowledged(), k.requestsPerSecond(), lost.size(),
                lost.isEmpty() ? "" : ", answered from " + lost.get(0) + " to " + lost.get(lost.size() - 1) + " ms relative to the kill signal");
        return k;
    }

    private static void report(String mode, List<Kill> kills) {
        long acknowledged = kills.stream().mapToLong(Kill::acknowledged).sum();
        List<Long> lost = kills.stream().flatMap(k -> k.lostAnsweredMillis().stream()).sorted().toList();
        double rate = kills.stream().mapToDouble(Kill::requestsPerSecond).average().orElse(0);
        System.out.printf("[e2e] asyncLoss | %s | %d kill(s) | %d acknowledged | %.0f writes/s | %d lost | %s |%n",
                mode, kills.size(), acknowledged, rate, lost.size(),
                lost.isEmpty() ? "-" : "answered from " + lost.get(0) + " to " + lost.get(lost.size() - 1)
                        + " ms relative to the kill signal (median " + lost.get(lost.size() / 2) + " ms)");
    }
}
