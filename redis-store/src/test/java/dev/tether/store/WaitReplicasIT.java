package dev.tether.store;

import static dev.tether.testkit.Await.await;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code waitReplicas} on a standalone Redis without replicas: the writes still succeed (WAIT only
 * adds a bounded delay), every one counts as a replica shortfall, and the operator reads about it in
 * exactly one WARNING line, whether one request or many concurrent ones write.
 */
@Timeout(60)
class WaitReplicasIT {

    private RedisProcess redis;
    private RedisProcess replica;
    private RedisSessionStore store;

    @AfterEach
    void close() {
        if (store != null) {
            store.close();
        }
        if (replica != null) {
            replica.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void writesSucceedWithoutReplicasAndTheShortfallIsLoggedOnce() throws Exception {
        redis = RedisProcess.start();
        try (LogCapture log = new LogCapture()) {
            // Command timeout 1 s (the default): 16 writers whose WAITs queued up one behind the other
            // (100 ms each) would make the commands behind them time out.
            store = new RedisSessionStore(Stores.options(redis).commandTimeout(Duration.ofSeconds(1)).connectTimeout(Duration.ofSeconds(1))
                    .waitReplicas(1).waitTimeout(Duration.ofMillis(100)).build(), "node1");
            await("the store connects", Duration.ofSeconds(15), store::isRedisAvailable);

            // One request after another.
            TestSession live = new TestSession();
            live.attributes.put("user", "alice");
            TrackedSession s = store.create(Stores.newBase(), live);
            long slowest = 0;
            for (int i = 0; i < 10; i++) {
                int v = i;
                long t0 = System.nanoTime();
                assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.set(s, "v", v)));
                long millis = (System.nanoTime() - t0) / 1_000_000;
                slowest = Math.max(slowest, millis);
                assertTrue(millis >= 90, "WAIT is honoured: the commit waited " + millis + " ms for the replica");
            }
            assertEquals("I9", Stores.field(redis, store.recordKey(s.baseId()), "a:v"));
            assertTrue(store.stats().getWrites() >= 10);
            // Every write counts, including one the store's connect-time replay may add.
            assertEquals(store.stats().getWrites(), store.stats().getReplicaShortfalls());
            assertTrue(slowest < 1000, "a commit waits about waitTimeout, no more: " + slowest + " ms");

            // Many requests at once, the way a busy node writes: the WAITs must not hold up each other's
            // commands until they time out, nor make the store believe Redis is down.
            int threads = 16;
            int perThread = 4;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            Map<WriteOutcome, LongAdder> outcomes = new ConcurrentHashMap<>();
            AtomicBoolean wentDown = new AtomicBoolean();
            List<Future<?>> done = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    TestSession l = new TestSession();
                    TrackedSession st = store.create(Stores.newBase(), l);
                    for (int i = 0; i < perThread; i++) {
                        int v = i;
                        WriteOutcome o = request(store, st, () -> l.set(st, "v", v));
                        outcomes.computeIfAbsent(o, k -> new LongAdder()).increment();
                        if (!store.isRedisAvailable()) {
                            wentDown.set(true);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
            long concurrentMillis = (System.nanoTime() - t0) / 1_000_000;
            pool.shutdownNow();
            long writes = 10 + threads * perThread;
            System.out.println("[WaitReplicasIT] no replica, waitReplicas=1, waitTimeout=100 ms: " + writes + " writes; slowest sequential commit "
                    + slowest + " ms; " + threads + " threads x " + perThread + " commits took " + concurrentMillis + " ms, outcomes "
                    + outcomes + "; replicaShortfalls=" + store.stats().getReplicaShortfalls() + "; redisErrors=" + store.stats().getRedisErrors()
                    + "; store went down=" + wentDown.get() + "; warnings=" + log.warnings());
            assertEquals(Map.of(WriteOutcome.SAVED, (long) threads * perThread),
                    Map.of(WriteOutcome.SAVED, outcomes.getOrDefault(WriteOutcome.SAVED, new LongAdder()).sum()),
                    "every concurrent write is SAVED: " + outcomes);
            assertEquals(1, outcomes.size(), "only SAVED: " + outcomes);
            assertTrue(!wentDown.get() && store.isRedisAvailable(), "a missing replica is no Redis outage");
            assertEquals(0, store.stats().getRedisErrors());
            assertTrue(store.stats().getWrites() >= writes);
            assertEquals(store.stats().getWrites(), store.stats().getReplicaShortfalls(), "each write without its replica counts");
            assertEquals(1, log.warnings().size(), "exactly one warning line: " + log.warnings());
            String warning = log.warnings().get(0);
            assertTrue(warning.contains("waitReplicas=1") && warning.contains("0 of"), warning);

            // A replica comes: writes are acknowledged again. WAIT is a timing contract: on a loaded
            // 2-core machine, a replica that has just synced can miss a 100 ms window now and then, so
            // this asks for a run of acknowledged writes within a few seconds rather than for the first one.
            replica = RedisProcess.start("--replicaof", "127.0.0.1", Integer.toString(redis.port()));
            await("the replica is in sync", Duration.ofSeconds(10),
                    () -> replica.command("INFO", "replication").contains("master_link_status:up"));
            int[] value = {100};
            int[] acknowledgedInARow = {0};
            await("three writes in a row acknowledged by the replica", Duration.ofSeconds(10), () -> {
                long before = store.stats().getReplicaShortfalls();
                int v = ++value[0];
                assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.set(s, "v", v)));
                acknowledgedInARow[0] = store.stats().getReplicaShortfalls() == before ? acknowledgedInARow[0] + 1 : 0;
                return acknowledgedInARow[0] >= 3;
            });
            String last = "I" + value[0];
            await("the replica has the write", Duration.ofSeconds(2),
                    () -> last.equals(Stores.field(replica, store.recordKey(s.baseId()), "a:v")));
            assertEquals(1, log.warnings().size(), log.warnings().toString());
        }
    }
}
