package dev.tether.store;

import static dev.tether.store.Stores.exists;
import static dev.tether.store.Stores.field;
import static dev.tether.store.Stores.outcome;
import static dev.tether.store.Stores.record;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Await;
import dev.tether.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two nodes on one Redis: a takeover bumps the ownership epoch, and from then on the old owner can
 * neither write nor delete the record; an invalidation's tombstone stops any late write.
 */
class FencingTest {

    private static RedisProcess redis;
    private RedisSessionStore a;
    private RedisSessionStore b;
    private final ClassLoader loader = getClass().getClassLoader();

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
        a = Stores.openUp(Stores.options(redis).build(), "node1");
        b = Stores.openUp(Stores.options(redis).build(), "node2");
        // These tests play the worst case: A never hears that B took over (pub/sub lost in a
        // partition), so only the fencing inside Redis stands between A and B's data.
        a.announcementsMuted = true;
    }

    @AfterEach
    void close() {
        a.close();
        b.close();
    }

    private SessionState createOnA(TestSession live) {
        live.attributes.put("user", "alice");
        live.attributes.put("cart", new ArrayList<>(List.of(1, 2)));
        live.attributes.put("n", 7);
        SessionState s = a.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(a, s, () -> { }));
        return s;
    }

    @Test
    void takeOverMovesOwnershipAndFencesTheOldOwner() {
        TestSession liveA = new TestSession();
        SessionState stateA = createOnA(liveA);
        String key = a.recordKey(stateA.baseId());
        assertEquals(key, b.recordKey(stateA.baseId()));

        LoadedSession loaded = b.takeOver(stateA.baseId(), loader);
        assertNotNull(loaded);
        assertEquals("node1", loaded.previousOwner());
        assertEquals(2, loaded.state().epoch());
        assertEquals(Map.of("user", "alice", "cart", List.of(1, 2), "n", 7), loaded.attributes());
        assertEquals(liveA.creationTime, loaded.creationTime());
        assertEquals(1800, loaded.maxInactiveSeconds());
        assertEquals("node2", field(redis, key, "owner"));
        assertEquals("2", field(redis, key, "epoch"));
        assertEquals(Map.of("node1", 1L), b.stats().sessionsTakenOver());
        TestSession liveB = TestSession.from(loaded);
        SessionState stateB = loaded.state();

        assertFalse(a.stillOwned(stateA));
        assertTrue(b.stillOwned(stateB));

        // B's copy is fully usable: a change lands, fenced by B's token.
        assertEquals(WriteOutcome.SAVED, request(b, stateB, () -> liveB.set(stateB, "n", 8)));
        Map<String, String> byB = record(redis, key);

        // A does not know yet and writes a change: refused inside Redis, A drops its copy.
        assertEquals(WriteOutcome.FENCED, request(a, stateA, () -> liveA.set(stateA, "user", "mallory")));
        assertEquals(1, liveA.ownershipLost.get());
        assertTrue(stateA.isLost());
        assertEquals(1, a.stats().writesFenced());
        assertEquals(byB, record(redis, key), "the new owner's record is untouched");
        assertEquals("Salice", field(redis, key, "a:user"));
        assertEquals("node2", field(redis, key, "owner"));

        // Once lost, A sends nothing at all.
        long t0 = redis.totalCommandCalls();
        long t1 = redis.totalCommandCalls();
        assertEquals(WriteOutcome.LOST, request(a, stateA, () -> liveA.set(stateA, "user", "again")));
        assertEquals(WriteOutcome.LOST, outcome(a.delete(stateA)));
        assertEquals(t1 - t0, redis.totalCommandCalls() - t1);
        assertTrue(exists(redis, key));
        assertEquals(0, liveB.ownershipLost.get());
    }

    @Test
    void oldOwnerDropsItsCopyAsSoonAsATakeOverIsAnnounced() {
        a.announcementsMuted = false;
        TestSession liveA = new TestSession();
        SessionState stateA = createOnA(liveA);
        String key = a.recordKey(stateA.baseId());
        LoadedSession loaded = b.takeOver(stateA.baseId(), loader);
        assertNotNull(loaded);
        TestSession liveB = TestSession.from(loaded);

        // No write from A is needed: the announcement alone makes A drop its stale copy, so the
        // user's next request on A reloads the current state instead of writing into old data.
        Await.await("A drops its copy", java.time.Duration.ofSeconds(3), () -> liveA.ownershipLost.get() == 1);
        assertTrue(stateA.isLost());
        assertNull(a.owned(stateA.baseId()));
        assertEquals(0, liveB.ownershipLost.get());
        Map<String, String> byB = record(redis, key);
        assertEquals(WriteOutcome.LOST, request(a, stateA, () -> liveA.set(stateA, "user", "mallory")));
        assertEquals(byB, record(redis, key));

        // A's next request loads the current state and owns it; B hears of it and drops its copy.
        LoadedSession back = a.takeOver(stateA.baseId(), loader);
        assertEquals(3, back.state().epoch());
        Await.await("B drops its copy", java.time.Duration.ofSeconds(3), () -> liveB.ownershipLost.get() == 1);
        assertTrue(loaded.state().isLost());
    }

    @Test
    void aRefusedSubscriptionIsRetriedUntilTheChannelIsAllowed() throws InterruptedException {
        // An ACL user without the ownership channel: the store works, warns once, and keeps trying.
        redis.command("ACL", "SETUSER", "nochannel", "on", ">secret", "~*", "+@all", "resetchannels");
        String uri = "redis://nochannel:secret@127.0.0.1:" + redis.port();
        try (LogCapture log = new LogCapture();
                RedisSessionStore refused = Stores.openUp(Stores.options(uri).build(), "node3")) {
            Await.await("a warning about the channel", Duration.ofSeconds(5), () -> !log.warnings().isEmpty());
            assertEquals(1, log.warnings().size(), log.warnings()::toString);
            String warning = log.warnings().get(0);
            assertTrue(warning.contains("NOPERM") && warning.contains("&tt:ownership"), warning);
            assertFalse(warning.contains("secret"), "never the password: " + warning);

            TestSession liveC = new TestSession();
            SessionState stateC = refused.create(Stores.newBase(), liveC);
            assertEquals(WriteOutcome.SAVED, request(refused, stateC, () -> liveC.set(stateC, "user", "carol")));
            Thread.sleep(2500); // a few retries, still refused: no further warning
            assertEquals(1, log.warnings().size(), log.warnings()::toString);

            redis.command("ACL", "SETUSER", "nochannel", "&tt:ownership");
            Await.await("the retry subscribes", Duration.ofSeconds(5),
                    () -> log.messages(Level.INFO).stream().anyMatch(m -> m.contains("subscribed to the ownership channel")));
            assertNotNull(b.takeOver(stateC.baseId(), loader));
            Await.await("the copy is dropped on the announcement", Duration.ofSeconds(3), () -> liveC.ownershipLost.get() == 1);
            assertTrue(stateC.isLost());
        } finally {
            redis.command("ACL", "DELUSER", "nochannel");
        }
    }

    @Test
    void oldOwnersDeleteIsRefused() {
        TestSession liveA = new TestSession();
        SessionState stateA = createOnA(liveA);
        String key = a.recordKey(stateA.baseId());
        assertNotNull(b.takeOver(stateA.baseId(), loader));
        Map<String, String> byB = record(redis, key);

        // For instance A's local expiry fired: its delete must not destroy B's live session.
        assertEquals(WriteOutcome.FENCED, outcome(a.delete(stateA)));
        assertTrue(exists(redis, key));
        assertEquals(byB, record(redis, key));
        assertFalse(exists(redis, key + ":gone"), "no tombstone for a refused delete");
        assertEquals(1, a.stats().writesFenced());
        assertEquals(0, a.stats().deletes());
    }

    @Test
    void sameRouteTakeOverAlsoFencesTheEarlierCopy() {
        // A node that restarted under the same route loads the record; its pre-restart state is stale.
        TestSession liveA = new TestSession();
        SessionState stale = createOnA(liveA);
        LoadedSession again = a.takeOver(stale.baseId(), loader);
        assertNotNull(again);
        assertEquals("node1", again.previousOwner());
        assertEquals(1, a.stats().sessionsLoaded());
        assertEquals(WriteOutcome.FENCED, request(a, stale, () -> liveA.set(stale, "n", 99)));
        assertEquals("I7", field(redis, a.recordKey(stale.baseId()), "a:n"));
    }

    @Test
    void invalidationLeavesATombstoneThatStopsLateWrites() {
        TestSession liveA = new TestSession();
        SessionState stateA = createOnA(liveA);
        String key = a.recordKey(stateA.baseId());
        LoadedSession loaded = b.takeOver(stateA.baseId(), loader);
        TestSession.from(loaded);

        assertEquals(WriteOutcome.SAVED, outcome(b.delete(loaded.state())));
        assertFalse(exists(redis, key));
        assertTrue(exists(redis, key + ":gone"));
        long tombstoneTtl = Stores.ttl(redis, key + ":gone");
        assertTrue(tombstoneTtl >= 1800 && tombstoneTtl <= 1800 + 120, "tombstone ttl " + tombstoneTtl);
        assertEquals(1, b.stats().deletes());

        // A's delta: the record is gone on purpose, so A drops its copy.
        assertEquals(WriteOutcome.GONE, request(a, stateA, () -> liveA.set(stateA, "user", "late")));
        assertEquals(1, liveA.ownershipLost.get());
        assertFalse(exists(redis, key), "a late delta must not resurrect the record");
        assertNull(b.takeOver(stateA.baseId(), loader));
    }

    @Test
    void fullWriteOfAStaleCopyCannotResurrectAnInvalidatedSession() {
        TestSession liveA = new TestSession();
        SessionState stateA = createOnA(liveA);
        String key = a.recordKey(stateA.baseId());
        LoadedSession loaded = b.takeOver(stateA.baseId(), loader);
        TestSession.from(loaded);
        assertEquals(WriteOutcome.SAVED, outcome(b.delete(loaded.state())));

        // A's next write carries the full state, as after an outage or a lost record.
        stateA.needsFull = true;
        assertEquals(WriteOutcome.GONE, request(a, stateA, () -> liveA.set(stateA, "user", "late")));
        assertEquals(1, liveA.ownershipLost.get());
        assertFalse(exists(redis, key));
        assertEquals(List.of(key + ":gone"), redis.keys("tt:*"));
    }

    @Test
    void newSessionCannotBeCreatedUnderAnInvalidatedId() {
        TestSession liveA = new TestSession();
        SessionState stateA = createOnA(liveA);
        String base = stateA.baseId();
        assertEquals(WriteOutcome.SAVED, outcome(a.delete(stateA)));
        assertEquals(WriteOutcome.LOST, request(a, stateA, () -> liveA.set(stateA, "x", "y")));

        TestSession other = new TestSession();
        other.attributes.put("x", "y");
        SessionState reused = b.create(base, other);
        assertEquals(WriteOutcome.GONE, request(b, reused, () -> { }));
        assertFalse(exists(redis, a.recordKey(base)));
    }
}
