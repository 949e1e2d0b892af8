package dev.tether.store;

import static dev.tether.store.Stores.attributeFields;
import static dev.tether.store.Stores.outcome;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Concurrent requests of one session on one node: every change reaches Redis. */
class ConcurrencyTest {

    private static final int THREADS = 16;
    private static RedisProcess redis;
    private static ExecutorService pool;
    private RedisSessionStore store;

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
        pool = Executors.newFixedThreadPool(THREADS);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
        redis.close();
    }

    @BeforeEach
    void open() {
        redis.command("FLUSHALL");
        store = Stores.openUp(Stores.options(redis).build(), "node1");
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** One round: THREADS requests, each setting its own attribute, released at once. */
    private void round(TestSession live, TrackedSession s, int round) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<CompletionStage<WriteOutcome>>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                go.await();
                s.requestStarted();
                live.set(s, "k" + thread, "r" + round + "t" + thread);
                return store.commit(s);
            }));
        }
        go.countDown();
        for (Future<CompletionStage<WriteOutcome>> f : futures) {
            WriteOutcome o = outcome(f.get(5, TimeUnit.SECONDS));
            assertTrue(o == WriteOutcome.SAVED || o == WriteOutcome.UNCHANGED, o.toString());
        }
    }

    private Map<String, String> expected(int round) {
        Map<String, String> m = new TreeMap<>();
        for (int t = 0; t < THREADS; t++) {
            m.put("a:k" + t, "Sr" + round + "t" + t);
        }
        return m;
    }

    @Test
    void concurrentCommitsOfANewSessionLoseNothing() throws Exception {
        for (int i = 0; i < 10; i++) {
            TestSession live = new TestSession();
            TrackedSession s = store.create(Stores.newBase(), live);
            round(live, s, 0);
            assertEquals(expected(0), attributeFields(redis, store.recordKey(s.baseId())));
        }
    }

    @Test
    void concurrentCommitsOfAStoredSessionLoseNothing() throws Exception {
        TestSession live = new TestSession();
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        for (int r = 1; r <= 20; r++) {
            round(live, s, r);
            assertEquals(expected(r), attributeFields(redis, store.recordKey(s.baseId())), "round " + r);
        }
    }

    @Test
    void removalRacingTheFirstWriteIsNotUndone() throws Exception {
        // The first write of a session is still in flight when the next request removes an attribute.
        for (int i = 0; i < 20; i++) {
            TestSession live = new TestSession();
            live.attributes.put("user", "alice");
            live.attributes.put("keep", "me");
            TrackedSession s = store.create(Stores.newBase(), live);
            s.requestStarted();
            CompletionStage<WriteOutcome> first = store.commit(s);
            s.requestStarted();
            live.remove(s, "user");
            CompletionStage<WriteOutcome> second = store.commit(s);
            assertEquals(WriteOutcome.SAVED, outcome(first));
            outcome(second);
            String key = store.recordKey(s.baseId());
            assertNull(Stores.field(redis, key, "a:user"), "iteration " + i + ": a removed attribute came back");
            assertEquals("Sme", Stores.fieldBytes(redis, key, "a:keep") == null ? null : Stores.field(redis, key, "a:keep"));
        }
    }

    /**
     * Two requests on one copy: one puts a new cart and fills it in place afterwards, the other
     * ends in between (the usual "get, create if missing, add" of a shop, beside any other
     * request). The first write carries the cart's name, and the empty cart; the cart must still
     * be written full by the request that filled it, not reported as written by the other's write.
     */
    @Test
    void aValueSetThenChangedInPlaceWhileAnotherRequestWritesIsWrittenWithItsChange() throws Exception {
        TestSession live = new TestSession();
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        WriteOutcome filled = cartFilledAfterAnotherRequestsWrite(live, s);
        assertEquals(WriteOutcome.SAVED, filled, "the request that filled the cart ends");
    }

    /** As above, on a new session: the other request's write is the first, full one. */
    @Test
    void aValueSetThenChangedInPlaceWhileTheFirstWriteGoesIsWrittenWithItsChange() throws Exception {
        TestSession live = new TestSession();
        cartFilledAfterAnotherRequestsWrite(live, store.create(Stores.newBase(), live));
    }

    /**
     * Request 1 sets a new, empty cart; request 2 ends and writes; request 1 then adds an item in
     * place and ends. Asserts that Redis holds the empty cart after the first write and the item
     * after the second; returns the second write's outcome.
     */
    private WriteOutcome cartFilledAfterAnotherRequestsWrite(TestSession live, TrackedSession s) {
        String key = store.recordKey(s.baseId());
        s.requestStarted(); // the request that will fill the cart
        s.requestStarted(); // another request of the same user
        ArrayList<String> cart = new ArrayList<>();
        live.set(s, "cart", cart);
        assertEquals(WriteOutcome.SAVED, outcome(store.commit(s)), "the other request ends, writing the new (empty) cart");
        assertEquals(List.of(), Stores.javaDecoded(Stores.fieldBytes(redis, key, "a:cart")));
        cart.add("apple"); // filled in place, after that write
        WriteOutcome filled = outcome(store.commit(s));
        assertEquals(List.of("apple"), Stores.javaDecoded(Stores.fieldBytes(redis, key, "a:cart")),
                "an item acknowledged (" + filled + ") and not in Redis");
        return filled;
    }
}
