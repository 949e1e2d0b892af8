package dev.tether.store;

import static dev.tether.store.Stores.field;
import static dev.tether.store.Stores.outcome;
import static dev.tether.store.Stores.request;
import static dev.tether.testkit.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * asyncWrites: a request is answered while its write is on its way; the writes of one session
 * still reach Redis in order; a write Redis refuses after the answer is counted; logouts and id
 * changes wait as always. Redis is frozen (SIGSTOP) to hold writes in flight deterministically.
 */
class AsyncWritesTest {

    private static RedisProcess redis;
    private RedisSessionStore store;

    @BeforeAll
    static void startRedis() {
        redis = RedisProcess.start();
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @BeforeEach
    void open() {
        redis.command("FLUSHALL");
        store = Stores.openUp(Stores.options(redis).asyncWrites(true).commandTimeout(Duration.ofSeconds(3)).build(), "node1");
    }

    @AfterEach
    void close() {
        redis.resume();
        store.close();
    }

    private TrackedSession stored(TestSession live) {
        TrackedSession s = store.create(Stores.newBase(), live);
        WriteOutcome first = request(store, s, () -> live.set(s, "n", 0));
        assertTrue(first == WriteOutcome.SENT || first == WriteOutcome.SAVED, first.toString()); // SAVED: Redis was quicker
        await("the first write lands", Duration.ofSeconds(5), () -> "I0".equals(field(redis, store.recordKey(s.baseId()), "a:n")));
        return s;
    }

    @Test
    void aRequestIsAnsweredWhileRedisHasNotYetAnsweredItsWrite() {
        TestSession live = new TestSession();
        TrackedSession s = stored(live);
        redis.pause();
        long t0 = System.nanoTime();
        assertEquals(WriteOutcome.SENT, request(store, s, () -> live.set(s, "n", 1)));
        long micros = (System.nanoTime() - t0) / 1000;
        assertTrue(micros < 1_000_000, "answered without waiting for the frozen Redis: " + micros + " µs");
        redis.resume();
        await("the write lands once Redis runs again", Duration.ofSeconds(5), () -> "I1".equals(field(redis, store.recordKey(s.baseId()), "a:n")));
        assertEquals(0, store.stats().getAcknowledgedUnstored());
    }

    @Test
    void theWritesOfOneSessionLandInOrder() throws Exception {
        TestSession live = new TestSession();
        TrackedSession s = stored(live);
        redis.pause();
        assertEquals(WriteOutcome.SENT, request(store, s, () -> live.set(s, "n", 1)));
        // The next request's write waits for the one on its way, on this request's thread.
        CompletableFuture<WriteOutcome> second = CompletableFuture.supplyAsync(() -> request(store, s, () -> live.set(s, "n", 2)));
        Thread.sleep(300);
        assertFalse(second.isDone(), "the second write must not overtake the first");
        redis.resume();
        WriteOutcome secondOutcome = second.get(5, TimeUnit.SECONDS);
        // SENT, or SAVED when Redis, running again, answered before the request looked.
        assertTrue(secondOutcome == WriteOutcome.SENT || secondOutcome == WriteOutcome.SAVED, secondOutcome::toString);
        await("both land, the second last", Duration.ofSeconds(5), () -> "I2".equals(field(redis, store.recordKey(s.baseId()), "a:n")));
        assertEquals("3", field(redis, store.recordKey(s.baseId()), "ver"), "three writes, each applied once");
    }

    @Test
    void aWriteRefusedAfterTheAnswerIsCountedAndTheCopyIsReadAgain() {
        TestSession live = new TestSession();
        TrackedSession s = stored(live);
        // Another node changes the same attribute meanwhile: this node's write conflicts.
        try (RedisSessionStore other = Stores.openUp(Stores.options(redis).build(), "node2")) {
            SessionRecord r = Stores.load(other, s.baseId(), getClass().getClassLoader());
            TestSession there = TestSession.from(r);
            assertEquals(WriteOutcome.SAVED, request(other, r.tracked(), () -> there.set(r.tracked(), "n", 7)));
        }
        redis.pause(); // the answer goes out before Redis refuses the write
        try {
            assertEquals(WriteOutcome.SENT, request(store, s, () -> live.set(s, "n", 8)));
        } finally {
            redis.resume();
        }
        await("the refusal is counted", Duration.ofSeconds(5), () -> store.stats().getAcknowledgedUnstored() == 1);
        assertEquals("I7", field(redis, store.recordKey(s.baseId()), "a:n"));
        assertFalse(store.isCurrent(s), "the next request reads the session again");
    }

    @Test
    void aLogoutWaitsForRedisAsAlways() throws Exception {
        TestSession live = new TestSession();
        TrackedSession s = stored(live);
        redis.pause();
        CompletionStage<WriteOutcome> logout = store.invalidate(s);
        Thread.sleep(300);
        assertFalse(logout.toCompletableFuture().isDone(), "a logout is acknowledged only once Redis has it");
        redis.resume();
        assertEquals(WriteOutcome.SAVED, outcome(logout));
        assertFalse(Stores.exists(redis, store.recordKey(s.baseId())));
    }

    @Test
    void aLogoutKeepingTheSessionWaitsForRedisToo() throws Exception {
        TestSession live = new TestSession();
        TrackedSession s = stored(live);
        request(store, s, () -> live.user = "alice");
        await("the login lands", Duration.ofSeconds(5), () -> "alice".equals(field(redis, store.recordKey(s.baseId()), "user")));
        redis.pause();
        // request.logout(): the principal goes, the session stays.
        CompletableFuture<WriteOutcome> logout = CompletableFuture.supplyAsync(() -> request(store, s, () -> live.user = null));
        Thread.sleep(300);
        assertFalse(logout.isDone(), "a logout is answered only once Redis has it, asyncWrites or not");
        redis.resume();
        assertEquals(WriteOutcome.SAVED, logout.get(5, TimeUnit.SECONDS));
        assertNull(field(redis, store.recordKey(s.baseId()), "user"));
    }
}
