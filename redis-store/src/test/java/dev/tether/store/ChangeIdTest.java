package dev.tether.store;

import static dev.tether.store.Stores.attributeFields;
import static dev.tether.store.Stores.exists;
import static dev.tether.store.Stores.field;
import static dev.tether.store.Stores.outcome;
import static dev.tether.store.Stores.record;
import static dev.tether.store.Stores.request;
import static dev.tether.store.Stores.slot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** changeSessionId: the record moves to a key in another cluster slot without RENAME. */
class ChangeIdTest {

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
        redis.command("CONFIG", "RESETSTAT");
        store = Stores.openUp(Stores.options(redis).build(), "node1");
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void crc16MatchesRedisCluster() {
        assertEquals(0x31C3, Stores.crc16(Stores.bytes("123456789")));
        assertEquals(12182, slot("foo"));
        assertEquals(5061, slot("bar"));
        assertEquals(slot("{user1000}.following"), slot("{user1000}.followers"));
        assertEquals(slot("user1000"), slot("tt:{user1000}"));
        assertEquals(slot("tt:{abc}"), slot("tt:{abc}:gone"), "record and tombstone share a slot");
    }

    private String baseInAnotherSlot(String oldKey) {
        for (int i = 0; i < 1000; i++) {
            String candidate = Stores.newBase();
            if (slot(store.recordKey(candidate)) != slot(oldKey)) {
                return candidate;
            }
        }
        throw new AssertionError("no base in another slot");
    }

    /**
     * A response can go out before its write lands (Tomcat's FORM login forwards to the login page,
     * which commits the response; the session's write follows). The next request's id change must
     * build on that write, not race it: else the old record is one version ahead and the login is
     * refused.
     */
    @Test
    void anIdChangeWaitsForTheWriteStillOnItsWay() throws Exception {
        TestSession live = new TestSession();
        live.attributes.put("n", 1);
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        String oldBase = s.baseId();

        redis.pause(); // the write of the previous request is on its way
        java.util.concurrent.CompletableFuture<WriteOutcome> previous = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> request(store, s, () -> live.set(s, "n", 2)));
        dev.tether.testkit.Await.await("the write is in flight", java.time.Duration.ofSeconds(2),
                () -> s.writing.availablePermits() == 0);
        String newBase = Stores.newBase();
        java.util.concurrent.CompletableFuture<WriteOutcome> login = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> outcome(store.changeId(s, newBase)));
        Thread.sleep(100);
        redis.resume();

        assertEquals(WriteOutcome.SAVED, previous.get(5, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(WriteOutcome.SAVED, login.get(5, java.util.concurrent.TimeUnit.SECONDS), "the login builds on the write before it");
        assertFalse(exists(redis, store.recordKey(oldBase)), "the old record is gone");
        assertEquals("I2", field(redis, store.recordKey(s.baseId()), "a:n"));
    }

    @Test
    void changeIdMovesEverythingToTheNewKeyAndTombstonesTheOld() {
        TestSession live = new TestSession();
        live.attributes.put("user", "alice");
        live.attributes.put("cart", new ArrayList<>(List.of("apple")));
        live.attributes.put("n", 3);
        live.notes.put("principal", "alice");
        String oldBase = Stores.newBase();
        TrackedSession state = store.create(oldBase, live);
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> { }));
        String oldKey = store.recordKey(oldBase);
        Map<String, String> oldRecord = record(redis, oldKey);
        Map<String, String> oldAttributes = attributeFields(redis, oldKey);

        String newBase = baseInAnotherSlot(oldKey);
        String newKey = store.recordKey(newBase);
        assertNotEquals(slot(oldKey), slot(newKey));

        assertEquals(WriteOutcome.SAVED, outcome(store.changeId(state, newBase)));
        assertEquals(newBase, state.baseId());

        assertEquals(oldAttributes, attributeFields(redis, newKey));
        Map<String, String> moved = record(redis, newKey);
        for (String f : List.of("created", "owner", "epoch", "maxInactive", "n:principal")) {
            assertEquals(oldRecord.get(f), moved.get(f), f);
        }
        assertFalse(exists(redis, oldKey));
        assertTrue(exists(redis, oldKey + ":gone"));
        assertTrue(Stores.ttl(redis, oldKey + ":gone") > 0);
        assertTrue(Stores.ttl(redis, newKey) > 0);
        assertEquals(0, redis.commandCalls("rename"));
        assertEquals(0, redis.commandCalls("renamenx"));
        assertEquals(0, redis.commandCalls("copy"));

        // Later writes go to the new key only.
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> live.set(state, "n", 4)));
        assertEquals("I4", field(redis, newKey, "a:n"));
        assertFalse(exists(redis, oldKey));

        // Another node finds the session under the new id, and nothing under the old one.
        try (RedisSessionStore other = Stores.openUp(Stores.options(redis).build(), "node2")) {
            assertEquals(null, Stores.load(other, oldBase, getClass().getClassLoader()));
            SessionRecord loaded = Stores.load(other, newBase, getClass().getClassLoader());
            assertNotNull(loaded);
            assertEquals(Map.of("user", "alice", "cart", List.of("apple"), "n", 4), loaded.attributes());
            assertEquals(Map.of("principal", "alice"), loaded.notes());
        }
    }

    @Test
    void changeIdOfANeverWrittenSessionWritesOnlyTheNewKey() {
        TestSession live = new TestSession();
        live.attributes.put("user", "bob");
        String oldBase = Stores.newBase();
        TrackedSession state = store.create(oldBase, live);
        String newBase = baseInAnotherSlot(store.recordKey(oldBase));

        assertEquals(WriteOutcome.SAVED, outcome(store.changeId(state, newBase)));
        assertEquals(List.of(store.recordKey(newBase)), redis.keys("tt:{*"));
        assertEquals("Sbob", field(redis, store.recordKey(newBase), "a:user"));
    }

    @Test
    void changeIdOfAStaleCopyChangesNothing() {
        TestSession live = new TestSession();
        live.attributes.put("user", "carol");
        String oldBase = Stores.newBase();
        TrackedSession state = store.create(oldBase, live);
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> { }));
        try (RedisSessionStore other = Stores.openUp(Stores.options(redis).build(), "node2")) {
            SessionRecord loaded = Stores.load(other, oldBase, getClass().getClassLoader());
            assertNotNull(loaded);
            TestSession otherLive = TestSession.from(loaded);
            // Another node changed the session after this node read it: this node's copy is stale.
            assertEquals(WriteOutcome.SAVED, request(other, loaded.tracked(), () -> otherLive.set(loaded.tracked(), "cart", "x")));
        }
        String oldKey = store.recordKey(oldBase);
        Map<String, String> before = record(redis, oldKey);

        String newBase = baseInAnotherSlot(oldKey);
        WriteOutcome o = outcome(store.changeId(state, newBase));
        // A login on the stale copy would carry it to the new id without the other node's change.
        assertEquals(WriteOutcome.CONFLICT, o);
        assertTrue(exists(redis, oldKey), "the other node's record survives");
        assertEquals(before, record(redis, oldKey));
        assertFalse(exists(redis, oldKey + ":gone"));
        assertFalse(exists(redis, store.recordKey(newBase)), "never two live records: the new one was taken back");
        // The copy under the new id may stay in a container's cache for a while: its write-back after
        // an outage must find the tombstone for as long as the record could have lived.
        assertTrue(Stores.ttl(redis, store.recordKey(newBase) + ":gone") > 1800, "the taken-back id stays ended");
    }

    /**
     * Two id changes of one session at once (parallel requests at a login): the second must build
     * on the first's new record, never leave it live beside its own. Redis is frozen to hold the
     * first change's write in flight while the second is asked for.
     */
    @Test
    void twoIdChangesAtOnceLeaveOneLiveRecord() throws Exception {
        store.close();
        store = Stores.openUp(Stores.options(redis).commandTimeout(java.time.Duration.ofSeconds(3)).build(), "node1");
        TestSession live = new TestSession();
        live.attributes.put("user", "alice");
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        String first = s.baseId();
        String second = Stores.newBase();
        String third = Stores.newBase();
        redis.pause();
        java.util.concurrent.CompletableFuture<WriteOutcome> a;
        java.util.concurrent.CompletableFuture<WriteOutcome> b;
        try {
            a = store.changeId(s, second).toCompletableFuture();
            b = java.util.concurrent.CompletableFuture.supplyAsync(() -> outcome(store.changeId(s, third)));
            Thread.sleep(200);
        } finally {
            redis.resume();
        }
        assertEquals(WriteOutcome.SAVED, outcome(a));
        assertEquals(WriteOutcome.SAVED, b.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertFalse(exists(redis, store.recordKey(first)), "the first id is gone");
        assertFalse(exists(redis, store.recordKey(second)), "the id in between is gone, not left live");
        assertTrue(exists(redis, store.recordKey(third)));
        assertEquals(third, s.baseId());
    }
}
