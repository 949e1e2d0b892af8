package dev.tether.store;

import static dev.tether.store.Stores.field;
import static dev.tether.store.Stores.fieldBytes;
import static dev.tether.store.Stores.javaDecoded;
import static dev.tether.store.Stores.record;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What one commit sends: the full record the first time, then only the attributes that changed,
 * nothing at all when nothing did; and which in-place mutations each save mode catches.
 */
class DeltaWriteTest {

    private static RedisProcess redis;
    private RedisSessionStore store;

    @BeforeAll
    static void startRedis() {
        // Every command, scripts' inner calls included, lands in SLOWLOG: it shows what a delta contained.
        redis = RedisProcess.start("--slowlog-log-slower-than", "0", "--slowlog-max-len", "10000");
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @BeforeEach
    void clean() {
        redis.command("FLUSHALL");
        redis.command("CONFIG", "RESETSTAT");
        redis.command("SLOWLOG", "RESET");
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    private RedisSessionStore open(SaveMode mode) {
        store = Stores.openUp(Stores.options(redis).saveMode(mode).build(), "node1");
        return store;
    }

    /** Script-issued writes to the record since the last SLOWLOG RESET: HSET/HDEL/DEL argument lists. */
    private static List<List<String>> recordWrites() {
        return Stores.slowlog(redis).stream()
                .filter(c -> Set.of("HSET", "HDEL", "DEL", "RENAME", "HMSET").contains(c.get(0).toUpperCase()))
                .collect(Collectors.toList());
    }

    /**
     * The data and metadata fields a write touched. The version and the per-field stamps that go
     * with every write ({@code ver}, {@code m:<field>}) are bookkeeping, checked separately.
     */
    private static Set<String> fieldsWritten(List<List<String>> writes, String command) {
        return writes.stream().filter(c -> c.get(0).equalsIgnoreCase(command))
                .flatMap(c -> {
                    List<String> names = new ArrayList<>();
                    int step = command.equalsIgnoreCase("HSET") ? 2 : 1;
                    for (int i = 2; i < c.size(); i += step) {
                        names.add(c.get(i));
                    }
                    return names.stream();
                })
                .filter(f -> !f.equals("ver") && !f.startsWith("m:"))
                .collect(Collectors.toSet());
    }

    @Test
    void firstCommitWritesMetadataAndEveryAttribute() {
        open(SaveMode.ON_GET_ATTRIBUTE);
        String base = Stores.newBase();
        long created = System.currentTimeMillis() - 5000;
        TestSession live = new TestSession(created, 1800);
        live.lastAccessedTime = created + 1234;
        live.attributes.put("name", "Alice");
        live.attributes.put("count", 42);
        live.attributes.put("big", 1L << 40);
        live.attributes.put("flag", true);
        live.attributes.put("cart", new ArrayList<>(List.of("apple", "pear")));
        live.notes.put("principal", "alice");
        TrackedSession state = store.create(base, live);

        long before = System.currentTimeMillis();
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> { }));
        long after = System.currentTimeMillis();

        String key = store.recordKey(base);
        assertEquals("tt:{" + base + "}", key);
        Map<String, String> rec = record(redis, key);
        assertEquals(Set.of("created", "lastAccessed", "maxInactive", "owner", "ver", "lastSaved",
                "a:name", "a:count", "a:big", "a:flag", "a:cart", "n:principal",
                "m:a:name", "m:a:count", "m:a:big", "m:a:flag", "m:a:cart", "m:n:principal"), rec.keySet());
        assertEquals("1", rec.get("ver"));
        assertTrue(rec.get("m:a:cart").startsWith("1:node1/"), "each data field is stamped with the version and the writer");
        assertEquals(Long.toString(created), rec.get("created"));
        assertEquals(Long.toString(created + 1234), rec.get("lastAccessed"));
        assertEquals("1800", rec.get("maxInactive"));
        assertEquals("node1", rec.get("owner"));
        long lastSaved = Long.parseLong(rec.get("lastSaved"));
        assertTrue(lastSaved >= before && lastSaved <= after, "lastSaved " + lastSaved);
        assertEquals("SAlice", rec.get("a:name"));
        assertEquals("I42", rec.get("a:count"));
        assertEquals("L" + (1L << 40), rec.get("a:big"));
        assertEquals("B1", rec.get("a:flag"));
        assertEquals("alice", rec.get("n:principal"));
        assertEquals(List.of("apple", "pear"), javaDecoded(fieldBytes(redis, key, "a:cart")));
        assertEquals(1, store.stats().getWrites());
        assertEquals(List.of(key), redis.keys("tt:{*"), "one record");
        dev.tether.testkit.Await.await("the session is filed in the expiry index", java.time.Duration.ofSeconds(5),
                () -> redis.keys("tt:expiry:*").equals(List.of("tt:expiry:{" + RedisSessionStore.bucket(base) + "}")));
    }

    @Test
    void laterCommitSendsOnlyTheChangedAttribute() {
        open(SaveMode.ON_GET_ATTRIBUTE);
        String base = Stores.newBase();
        TestSession live = new TestSession();
        live.attributes.put("a", "one");
        live.attributes.put("b", "two");
        live.attributes.put("c", new ArrayList<>(List.of(1, 2, 3)));
        TrackedSession state = store.create(base, live);
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> { }));
        String key = store.recordKey(base);
        Map<String, String> before = record(redis, key);

        long evalsha = redis.commandCalls("evalsha");
        long eval = redis.commandCalls("eval");
        redis.command("SLOWLOG", "RESET");
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> live.set(state, "b", "TWO")));
        List<List<String>> writes = recordWrites();

        assertEquals(evalsha + 1, redis.commandCalls("evalsha"), "one EVALSHA per commit");
        assertEquals(eval, redis.commandCalls("eval"), "the script is cached: no EVAL");
        Map<String, String> after = record(redis, key);
        assertEquals(before.keySet(), after.keySet());
        assertEquals("STWO", after.get("a:b"));
        assertEquals(Long.toString(Long.parseLong(before.get("ver")) + 1), after.get("ver"));
        assertTrue(after.get("m:a:b").startsWith(after.get("ver") + ":"), "the changed field is stamped");
        assertEquals(before.get("m:a:a"), after.get("m:a:a"), "the others keep their stamps");
        for (String f : List.of("a:a", "a:c", "created", "owner", "maxInactive")) {
            assertEquals(before.get(f), after.get(f), f + " must be untouched");
        }
        // The delta itself: one HSET of a:b plus the two metadata fields, no other attribute, no DEL.
        assertEquals(Set.of("a:b", "lastAccessed", "lastSaved"), fieldsWritten(writes, "HSET"), writes.toString());
        assertTrue(fieldsWritten(writes, "HDEL").isEmpty(), writes.toString());
        assertTrue(writes.stream().noneMatch(c -> c.get(0).equalsIgnoreCase("DEL")), writes.toString());
    }

    @Test
    void commitWithNothingChangedSendsNoCommand() {
        open(SaveMode.ON_GET_ATTRIBUTE);
        String base = Stores.newBase();
        TestSession live = new TestSession();
        live.attributes.put("s", "text");
        live.attributes.put("list", new ArrayList<>(List.of("x")));
        TrackedSession state = store.create(base, live);
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> { }));

        // The first write also files the session in the expiry index, asynchronously: let it land.
        dev.tether.testkit.Await.await("the expiry index is written", java.time.Duration.ofSeconds(5),
                () -> redis.command("ZSCORE", "tt:expiry:{" + RedisSessionStore.bucket(base) + "}", base) != null);
        // Each INFO is itself counted once; measure that cost rather than assume it.
        long t0 = redis.totalCommandCalls();
        long t1 = redis.totalCommandCalls();
        long infoCost = t1 - t0;
        assertEquals(1, infoCost);

        for (int i = 0; i < 5; i++) {
            // Reads, including of a mutable value that is then left as it was, change nothing.
            assertEquals(WriteOutcome.UNCHANGED, request(store, state, () -> {
                live.get(state, "s");
                live.get(state, "list");
            }));
        }
        // Re-setting an immutable value to an equal one changes no bytes either.
        assertEquals(WriteOutcome.UNCHANGED, request(store, state, () -> live.set(state, "s", "text")));
        long t2 = redis.totalCommandCalls();
        assertEquals(infoCost, t2 - t1, "a commit with nothing changed must send no command to Redis");
        assertEquals(1, store.stats().getWrites());
    }

    @Test
    void removedAttributeIsDeletedFromTheRecord() {
        open(SaveMode.ON_GET_ATTRIBUTE);
        String base = Stores.newBase();
        TestSession live = new TestSession();
        live.attributes.put("user", "alice");
        live.attributes.put("keep", "me");
        TrackedSession state = store.create(base, live);
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> { }));
        String key = store.recordKey(base);
        assertEquals("Salice", field(redis, key, "a:user"));

        redis.command("SLOWLOG", "RESET");
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> live.remove(state, "user")));
        assertNull(field(redis, key, "a:user"));
        assertEquals("Sme", field(redis, key, "a:keep"));
        assertEquals(Set.of("a:user"), fieldsWritten(recordWrites(), "HDEL"));

        // setAttribute(name, null) is a removal too.
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> {
            live.attributes.remove("keep");
            state.attributeSet("keep");
        }));
        assertNull(field(redis, key, "a:keep"));
    }

    private TrackedSession sessionWithCart(TestSession live) {
        live.attributes.put("cart", new ArrayList<>(List.of("apple")));
        live.attributes.put("name", "n");
        TrackedSession state = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> { }));
        return state;
    }

    @Test
    @SuppressWarnings("unchecked")
    void onGetAttributeSavesAListMutatedInPlaceAfterARead() {
        open(SaveMode.ON_GET_ATTRIBUTE);
        TestSession live = new TestSession();
        TrackedSession state = sessionWithCart(live);
        String key = store.recordKey(state.baseId());

        assertEquals(WriteOutcome.SAVED, request(store, state, () -> ((List<String>) live.get(state, "cart")).add("pear")));
        assertEquals(List.of("apple", "pear"), javaDecoded(fieldBytes(redis, key, "a:cart")));

        // An unreported in-place change is not seen in this mode.
        assertEquals(WriteOutcome.UNCHANGED, request(store, state, () -> ((List<String>) live.attributes.get("cart")).add("fig")));
        assertEquals(List.of("apple", "pear"), javaDecoded(fieldBytes(redis, key, "a:cart")));
    }

    @Test
    @SuppressWarnings("unchecked")
    void onSetAttributeDoesNotSaveInPlaceMutation() {
        open(SaveMode.ON_SET_ATTRIBUTE);
        TestSession live = new TestSession();
        TrackedSession state = sessionWithCart(live);
        String key = store.recordKey(state.baseId());
        long evalsha = redis.commandCalls("evalsha");

        assertEquals(WriteOutcome.UNCHANGED, request(store, state, () -> ((List<String>) live.get(state, "cart")).add("pear")));
        assertEquals(evalsha, redis.commandCalls("evalsha"));
        assertEquals(List.of("apple"), javaDecoded(fieldBytes(redis, key, "a:cart")));

        // Setting it again is what this mode needs.
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> live.set(state, "cart", live.attributes.get("cart"))));
        assertEquals(List.of("apple", "pear"), javaDecoded(fieldBytes(redis, key, "a:cart")));
    }

    @Test
    @SuppressWarnings("unchecked")
    void alwaysSavesChangedAttributesWithoutReadsReported() {
        open(SaveMode.ALWAYS);
        TestSession live = new TestSession();
        TrackedSession state = sessionWithCart(live);
        String key = store.recordKey(state.baseId());
        String nameBefore = field(redis, key, "a:name");

        redis.command("SLOWLOG", "RESET");
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> ((List<String>) live.attributes.get("cart")).add("pear")));
        assertEquals(List.of("apple", "pear"), javaDecoded(fieldBytes(redis, key, "a:cart")));
        assertEquals(nameBefore, field(redis, key, "a:name"));
        assertEquals(Set.of("a:cart", "lastAccessed", "lastSaved"), fieldsWritten(recordWrites(), "HSET"),
                "only the attribute whose bytes changed is sent");

        long t0 = redis.totalCommandCalls();
        long t1 = redis.totalCommandCalls();
        assertEquals(WriteOutcome.UNCHANGED, request(store, state, () -> { }));
        assertEquals(t1 - t0, redis.totalCommandCalls() - t1, "unchanged bytes: nothing sent even in ALWAYS");
    }

    @Test
    @SuppressWarnings("unchecked")
    void oneRequestThatSetsReadsAndRemovesSendsEachChangeOnce() {
        for (SaveMode mode : SaveMode.values()) {
            open(mode);
            TestSession live = new TestSession();
            live.attributes.put("gone", "soon");
            live.attributes.put("copy", new ArrayList<>(List.of("x")));
            TrackedSession state = sessionWithCart(live);
            String key = store.recordKey(state.baseId());
            redis.command("SLOWLOG", "RESET");

            assertEquals(WriteOutcome.SAVED, request(store, state, () -> {
                live.set(state, "name", "m");                                // set, and read back in the same request
                live.get(state, "name");
                ((List<String>) live.get(state, "cart")).add("pear");        // read, then set after the read
                live.set(state, "cart", live.attributes.get("cart"));
                live.get(state, "copy");                                     // read, unchanged
                live.remove(state, "gone");
            }));
            List<List<String>> writes = recordWrites();
            assertEquals(Set.of("a:name", "a:cart", "lastAccessed", "lastSaved"), fieldsWritten(writes, "HSET"), mode.name());
            assertEquals(Set.of("a:gone"), fieldsWritten(writes, "HDEL"), mode.name());
            assertEquals(1, writes.stream().filter(c -> c.get(0).equalsIgnoreCase("HSET")).count(), mode + ": one HSET");
            assertEquals("Sm", field(redis, key, "a:name"));
            assertEquals(List.of("apple", "pear"), javaDecoded(fieldBytes(redis, key, "a:cart")));
            assertNull(field(redis, key, "a:gone"));

            // Everything was drained: the next request with no change sends nothing.
            long before = redis.commandCalls("evalsha");
            assertEquals(WriteOutcome.UNCHANGED, request(store, state, () -> { }));
            assertEquals(before, redis.commandCalls("evalsha"), mode.name());
            store.close();
            store = null;
        }
    }

    @Test
    void aWriteAfterRedisForgotItsScriptsStillLands() {
        open(SaveMode.ON_GET_ATTRIBUTE);
        TestSession live = new TestSession();
        TrackedSession state = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> live.set(state, "n", 1)));
        redis.command("SCRIPT", "FLUSH"); // as after a Redis restart or failover to a fresh replica

        assertEquals(WriteOutcome.SAVED, request(store, state, () -> live.set(state, "n", 2)));
        assertEquals("I2", field(redis, store.recordKey(state.baseId()), "a:n"));
        assertEquals(1, redis.commandCalls("eval"), "the script itself was sent once, after NOSCRIPT");
    }

    @Test
    void numbersAreWrittenAsRedisReadsThem() {
        for (long v : new long[] {0, 7, 255, 256, 1800, -1, -10, 1763770000000L, Long.MAX_VALUE, Long.MIN_VALUE}) {
            assertEquals(Long.toString(v), new String(dev.tether.store.record.RecordFormat.ascii(v), java.nio.charset.StandardCharsets.US_ASCII));
        }
    }

    @Test
    void notesAreWrittenAndRemoved() {
        open(SaveMode.ON_GET_ATTRIBUTE);
        TestSession live = new TestSession();
        live.notes.put("principal", "alice");
        TrackedSession state = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, state, () -> { }));
        String key = store.recordKey(state.baseId());
        assertEquals("alice", field(redis, key, "n:principal"));

        assertEquals(WriteOutcome.SAVED, request(store, state, () -> {
            live.notes.remove("principal");
            live.notes.put("authType", "FORM");
        }));
        assertNull(field(redis, key, "n:principal"));
        assertEquals("FORM", field(redis, key, "n:authType"));
        Map<String, String> rec = new TreeMap<>(record(redis, key));
        assertNotNull(rec.get("owner"));
        assertFalse(rec.containsKey("n:principal"));
    }
}
