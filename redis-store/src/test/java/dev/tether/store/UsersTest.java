package dev.tether.store;

import static dev.tether.store.Stores.exists;
import static dev.tether.store.Stores.field;
import static dev.tether.store.Stores.outcome;
import static dev.tether.store.Stores.request;
import static dev.tether.testkit.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.record.RecordFormat;
import dev.tether.testkit.RedisProcess;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sessions by user: the index follows login, logout, id change and expiry; "log out everywhere"
 * ends a user's sessions on every node; maxSessionsPerUser ends the least recently used.
 */
class UsersTest {

    private static RedisProcess redis;
    private final RecordFormat format = new RecordFormat("tt:");
    private RedisSessionStore node1;
    private RedisSessionStore node2;

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
        node1 = Stores.openUp(Stores.options(redis).maxSessionsPerUser(0).build(), "node1");
        node2 = Stores.openUp(Stores.options(redis).build(), "node2");
    }

    @AfterEach
    void close() {
        node1.close();
        node2.close();
    }

    private Set<String> indexed(String user) {
        Set<String> out = new TreeSet<>();
        @SuppressWarnings("unchecked")
        List<byte[]> members = (List<byte[]>) redis.reply("ZRANGE", new String(format.userKey(user), StandardCharsets.UTF_8), "0", "-1");
        for (byte[] m : members) {
            out.add(new String(m, StandardCharsets.UTF_8));
        }
        return out;
    }

    /** A session created on a node and logged in as {@code user} by one request. */
    private TrackedSession login(RedisSessionStore store, TestSession live, String user) {
        String base = Stores.newBase();
        TrackedSession s = store.create(base, live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.user = user));
        return s;
    }

    @Test
    void loginPutsTheSessionInTheIndexAndTheRecordNamesTheUserInPlainText() {
        TestSession live = new TestSession();
        TrackedSession s = login(node1, live, "alice");
        assertEquals("alice", field(redis, node1.recordKey(s.baseId()), "user"));
        assertEquals(Set.of(s.baseId()), indexed("alice"));
        long ttl = (Long) redis.reply("PTTL", new String(format.userKey("alice"), StandardCharsets.UTF_8));
        assertTrue(ttl > 1800_000L, "the index outlives the record: " + ttl);

        // A request that changes nothing sends nothing: the index costs no round trip per request.
        redis.command("CONFIG", "RESETSTAT");
        assertEquals(WriteOutcome.UNCHANGED, request(node1, s, () -> { }));
        assertEquals(0, redis.commandCalls("zadd") + redis.commandCalls("evalsha"));
    }

    @Test
    void aLoginOnASessionThatNeverExpiresIsIndexedAndTheUsersNextLoginsToo() {
        TestSession forever = new TestSession(System.currentTimeMillis(), -1);
        TrackedSession s = login(node1, forever, "alice"); // the index's last score is the end of time
        String key = new String(format.userKey("alice"), StandardCharsets.UTF_8);
        long lasts = (Long) redis.reply("PTTL", key);
        assertTrue(lasts > 100L * 365 * 86_400_000, "an index holding a session that never expires lasts as long: " + lasts);
        TestSession usual = new TestSession();
        TrackedSession next = login(node1, usual, "alice");
        assertEquals(Set.of(s.baseId(), next.baseId()), indexed("alice"));
        assertEquals(WriteOutcome.SAVED, outcome(node1.invalidate(s)));
        await("the index drops the session", Duration.ofSeconds(5), () -> indexed("alice").equals(Set.of(next.baseId())));
        TestSession third = new TestSession();
        login(node1, third, "alice");
        long ttl = (Long) redis.reply("PTTL", key);
        assertTrue(ttl > 1800_000L, "with the everlasting session gone, the index expires again: " + ttl);
    }

    @Test
    void logoutOfTheUserTakesTheSessionOutOfTheIndex() {
        TestSession live = new TestSession();
        TrackedSession s = login(node1, live, "alice");
        assertEquals(WriteOutcome.SAVED, outcome(node1.invalidate(s)));
        await("the index drops the session", Duration.ofSeconds(5), () -> indexed("alice").isEmpty());
    }

    @Test
    void loggingOutWithoutInvalidatingRemovesTheUserField() {
        TestSession live = new TestSession();
        TrackedSession s = login(node1, live, "alice");
        assertEquals(WriteOutcome.SAVED, request(node1, s, () -> live.user = null));
        assertNull(field(redis, node1.recordKey(s.baseId()), "user"));
        await("the index drops the session", Duration.ofSeconds(5), () -> indexed("alice").isEmpty());
    }

    @Test
    void idChangeMovesTheIndexEntry() {
        TestSession live = new TestSession();
        TrackedSession s = login(node1, live, "alice");
        String old = s.baseId();
        String fresh = Stores.newBase();
        assertEquals(WriteOutcome.SAVED, outcome(node1.changeId(s, fresh)));
        await("the index names the new id only", Duration.ofSeconds(5), () -> indexed("alice").equals(Set.of(fresh)));
        assertEquals("alice", field(redis, node1.recordKey(fresh), "user"));
    }

    @Test
    void invalidateSessionsOfEndsTheUsersSessionsOnEveryNodeAndNoOneElses() throws Exception {
        TestSession a1 = new TestSession();
        TrackedSession onNode1 = login(node1, a1, "alice");
        TestSession a2 = new TestSession();
        TrackedSession onNode2 = login(node2, a2, "alice");
        TestSession b = new TestSession();
        TrackedSession bob = login(node1, b, "bob");
        // A stale member (its record names someone else now) is pruned, never ended.
        redis.command("ZADD", new String(format.userKey("alice"), StandardCharsets.UTF_8),
                Long.toString(System.currentTimeMillis() + 600_000), bob.baseId());

        assertEquals(2, node1.invalidateSessionsOf("alice"));

        assertFalse(exists(redis, node1.recordKey(onNode1.baseId())));
        assertFalse(exists(redis, node1.recordKey(onNode2.baseId())));
        assertTrue(exists(redis, node1.recordKey(bob.baseId())), "bob's session stays");
        assertEquals(1, a1.ended.get(), "the copy on the node that acted ends with its events");
        assertTrue(indexed("alice").isEmpty());
        // The other node's copy may not serve another request.
        await("node2 hears of it", Duration.ofSeconds(5), () -> !node2.isCurrent(onNode2));
        assertEquals(RedisSessionStore.Refresh.GONE, node2.reload(onNode2, getClass().getClassLoader(), new SessionRecord[1]));
        assertTrue(node1.isCurrent(bob));
    }

    @Test
    void aLoginBeyondTheLimitEndsTheLeastRecentlyUsedSessions() throws Exception {
        RedisSessionStore limited = Stores.openUp(Stores.options(redis).maxSessionsPerUser(2).build(), "node3");
        try {
            TestSession first = new TestSession(System.currentTimeMillis() - 60_000, 1800);
            TrackedSession oldest = login(limited, first, "carol");
            TestSession second = new TestSession();
            TrackedSession middle = login(node2, second, "carol");
            assertTrue(exists(redis, limited.recordKey(oldest.baseId())));

            TestSession third = new TestSession();
            TrackedSession newest = login(limited, third, "carol");

            assertFalse(exists(redis, limited.recordKey(oldest.baseId())), "the least recently used session ended");
            assertTrue(exists(redis, limited.recordKey(middle.baseId())));
            assertTrue(exists(redis, limited.recordKey(newest.baseId())));
            await("its copy ends with its events", Duration.ofSeconds(5), () -> first.ended.get() == 1);
            assertEquals(Set.of(middle.baseId(), newest.baseId()), indexed("carol"));
        } finally {
            limited.close();
        }
    }

    @Test
    void aClaimedExpiryTakesTheSessionOutOfTheIndex() {
        TestSession live = new TestSession(System.currentTimeMillis() - 10_000, 2); // last used 10 s ago
        TrackedSession s = login(node1, live, "dave");
        assertEquals(Set.of(s.baseId()), indexed("dave"));
        assertEquals(RedisSessionStore.Expiry.EXPIRED, node1.expire(s));
        await("the index drops it", Duration.ofSeconds(5), () -> indexed("dave").isEmpty());
    }

    @Test
    void theClusterWideCountsComeFromRedisAndEachNodesReport() {
        login(node1, new TestSession(), "erin");
        login(node1, new TestSession(), "erin");
        login(node2, new TestSession(), "frank");
        StoreStats stats = node1.stats();
        await("every node has reported", Duration.ofSeconds(30),
                () -> stats.getClusterSessions() == 3 && stats.getClusterSessionsByRoute().equals("node1=2,node2=1"));
    }
}
