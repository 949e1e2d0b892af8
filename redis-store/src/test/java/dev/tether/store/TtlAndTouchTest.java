package dev.tether.store;

import static dev.tether.store.Stores.field;
import static dev.tether.store.Stores.request;
import static dev.tether.store.Stores.ttl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Await;
import dev.tether.testkit.RedisProcess;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Record expiry follows max-inactive plus four touch intervals; pure accesses are throttled touches. */
class TtlAndTouchTest {

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
    void clean() {
        redis.command("FLUSHALL");
        redis.command("CONFIG", "RESETSTAT");
    }

    @AfterEach
    void close() {
        if (store != null) {
            store.close();
        }
    }

    private void open(Duration touchInterval) {
        store = Stores.openUp(Stores.options(redis).touchInterval(touchInterval).build(), "node1");
    }

    private static void assertTtl(long expected, long actual) {
        assertTrue(actual <= expected && actual >= expected - 3, "ttl " + actual + ", expected about " + expected);
    }

    private TrackedSession created(TestSession live) {
        live.attributes.put("user", "alice");
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        return s;
    }

    @Test
    void ttlIsMaxInactivePlusFourTouchIntervals() {
        open(Duration.ofSeconds(1));
        TrackedSession s = created(new TestSession(System.currentTimeMillis(), 1800));
        assertTtl(1804, ttl(redis, store.recordKey(s.baseId())));
    }

    @Test
    void ttlWithDefaultTouchInterval() {
        store = Stores.openUp(Stores.options(redis).build(), "node1");
        TrackedSession s = created(new TestSession(System.currentTimeMillis(), 600));
        assertTtl(600 + 240, ttl(redis, store.recordKey(s.baseId())));
    }

    @Test
    void sessionsThatNeverExpireHaveNoTtl() {
        open(Duration.ofSeconds(1));
        TrackedSession zero = created(new TestSession(System.currentTimeMillis(), 0));
        TrackedSession negative = created(new TestSession(System.currentTimeMillis(), -1));
        assertEquals(-1, ttl(redis, store.recordKey(zero.baseId())));
        assertEquals(-1, ttl(redis, store.recordKey(negative.baseId())));
        assertEquals("0", field(redis, store.recordKey(zero.baseId()), "maxInactive"));
    }

    @Test
    void changingMaxInactiveRewritesTheTtlAtOnce() {
        open(Duration.ofSeconds(1));
        TestSession live = new TestSession(System.currentTimeMillis(), 1800);
        TrackedSession s = created(live);
        String key = store.recordKey(s.baseId());

        assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.maxInactiveSeconds = 0));
        assertEquals(-1, ttl(redis, key));
        assertEquals("0", field(redis, key, "maxInactive"));

        assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.maxInactiveSeconds = 300));
        assertTtl(304, ttl(redis, key));
        assertEquals("300", field(redis, key, "maxInactive"));
    }

    @Test
    void pureAccessesAreThrottledToOneAsynchronousTouchPerInterval() {
        open(Duration.ofSeconds(1));
        TestSession live = new TestSession(System.currentTimeMillis(), 1800);
        TrackedSession s = created(live);
        long writtenAt = System.currentTimeMillis(); // the store's own write time is at or before this
        String key = store.recordKey(s.baseId());
        String firstAccess = field(redis, key, "lastAccessed");
        redis.command("EXPIRE", key, "100"); // a lower TTL makes the touch's refresh visible

        long t0 = redis.totalCommandCalls();
        long t1 = redis.totalCommandCalls();
        long infoCost = t1 - t0;
        for (int i = 1; i <= 5; i++) {
            long access = live.creationTime + i;
            assertEquals(WriteOutcome.UNCHANGED, request(store, s, () -> live.lastAccessedTime = access));
        }
        long t2 = redis.totalCommandCalls();
        assertTrue(System.currentTimeMillis() - writtenAt < 1000, "test too slow to check the throttle");
        assertEquals(infoCost, t2 - t1, "accesses within the touch interval send nothing");
        assertEquals(firstAccess, field(redis, key, "lastAccessed"));

        // After the interval, the next access is written: asynchronously (the commit does not wait).
        long due = writtenAt + 1000 + 20;
        Await.await("the touch interval passes", Duration.ofSeconds(3), () -> System.currentTimeMillis() >= due);
        long evalsha = redis.commandCalls("evalsha");
        long lastAccess = live.creationTime + 100;
        assertEquals(WriteOutcome.UNCHANGED, request(store, s, () -> live.lastAccessedTime = lastAccess));
        Await.await("the touch reaches Redis", Duration.ofSeconds(3),
                () -> Long.toString(lastAccess).equals(field(redis, key, "lastAccessed")));
        assertEquals(evalsha + 1, redis.commandCalls("evalsha"), "exactly one touch");
        assertTtl(1804, ttl(redis, key));

        // And the clock restarts: the next access right after is throttled again.
        long t3 = redis.totalCommandCalls();
        long t4 = redis.totalCommandCalls();
        assertEquals(WriteOutcome.UNCHANGED, request(store, s, () -> live.lastAccessedTime = lastAccess + 1));
        assertEquals(t4 - t3, redis.totalCommandCalls() - t4);
    }

    @Test
    void deltasSetTheTtlAtMostOncePerTouchInterval() {
        open(Duration.ofSeconds(1));
        TestSession live = new TestSession(System.currentTimeMillis(), 1800);
        TrackedSession s = created(live);
        long writtenAt = System.currentTimeMillis();
        String key = store.recordKey(s.baseId());
        redis.command("EXPIRE", key, "100"); // a lower TTL shows whether a delta set it again

        long expires = redis.commandCalls("expire");
        for (int i = 1; i <= 5; i++) {
            int v = i;
            assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.set(s, "n", v)));
        }
        assertTrue(System.currentTimeMillis() - writtenAt < 1000, "test too slow to check the throttle");
        assertEquals("I5", field(redis, key, "a:n"));
        assertEquals(expires, redis.commandCalls("expire"), "deltas within the touch interval leave the TTL alone");
        assertTtl(100, ttl(redis, key));

        // The first delta after the interval sets it again: the record outlives the last access by
        // max-inactive plus at least one touch interval.
        long due = writtenAt + 1000 + 20;
        Await.await("the touch interval passes", Duration.ofSeconds(3), () -> System.currentTimeMillis() >= due);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.set(s, "n", 6)));
        assertEquals(expires + 1, redis.commandCalls("expire"));
        assertTtl(1804, ttl(redis, key));
    }

    @Test
    void flushWritesThrottledAccesses() {
        open(Duration.ofSeconds(30));
        TestSession live = new TestSession(System.currentTimeMillis(), 1800);
        TrackedSession s = created(live);
        String key = store.recordKey(s.baseId());
        long access = live.creationTime + 777;
        assertEquals(WriteOutcome.UNCHANGED, request(store, s, () -> live.lastAccessedTime = access));
        assertEquals(Long.toString(live.creationTime), field(redis, key, "lastAccessed"));
        long evalsha = redis.commandCalls("evalsha");
        store.flush();
        // flush() sends the pending touch (it does not wait for a touch's answer, hence the polling).
        Await.await("flush writes the last access", Duration.ofSeconds(3),
                () -> Long.toString(access).equals(field(redis, key, "lastAccessed")));
        assertEquals(evalsha + 1, redis.commandCalls("evalsha"));
    }
}
