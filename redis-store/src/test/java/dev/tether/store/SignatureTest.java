package dev.tether.store;

import static dev.tether.store.Stores.bytes;
import static dev.tether.store.Stores.field;
import static dev.tether.store.Stores.plantRecord;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * With signingKeys, each attribute and note carries an HMAC bound to its session and field:
 * someone who can write to Redis but holds no key can neither plant a value nor forge a login, nor
 * move a signed value to another session. Keys rotate: the first signs, all verify.
 */
class SignatureTest {

    private static final String K1 = "first-secret-0123456789";
    private static final String K2 = "second-secret-0123456789";
    private static RedisProcess redis;
    private final ClassLoader loader = getClass().getClassLoader();

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
    }

    @AfterAll
    static void stop() {
        redis.close();
    }

    @BeforeEach
    void flush() {
        redis.command("FLUSHALL");
    }

    private static RedisSessionStore open(String route, String... keys) {
        return Stores.openUp(Stores.options(redis).signingKeys(List.of(keys)).build(), route);
    }

    private static TrackedSession written(RedisSessionStore store, Map<String, Object> attributes, Map<String, String> notes) {
        TestSession live = new TestSession();
        live.attributes.putAll(attributes);
        live.notes.putAll(notes);
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        return s;
    }

    @Test
    void signedRecordsLoadOnEveryNodeWithTheKey() {
        try (RedisSessionStore a = open("node1", K1); RedisSessionStore b = open("node2", K1)) {
            TrackedSession s = written(a, Map.of("user", "alice", "cart", new java.util.ArrayList<>(List.of(1))), Map.of("principal", "alice"));
            String key = a.recordKey(s.baseId());
            assertNotNull(field(redis, key, "h:a:user"), "each attribute is signed");
            assertNotNull(field(redis, key, "h:n:principal"), "and the principal");
            SessionRecord r = Stores.load(b, s.baseId(), loader);
            assertNotNull(r);
            assertEquals("alice", r.notes().get("principal"));
            assertEquals(0, b.stats().getRecordsRefused());
        }
    }

    @Test
    void aPlantedAttributeOrForgedLoginMakesTheRecordMissing() {
        try (LogCapture log = new LogCapture(); RedisSessionStore a = open("node1", K1)) {
            TrackedSession s = written(a, Map.of("user", "alice"), Map.of("principal", "alice"));
            String key = a.recordKey(s.baseId());
            // Someone with write access to Redis but no key turns the login into an administrator's.
            redis.command("HSET", key, "n:principal", "admin");
            assertNull(Stores.load(a, s.baseId(), loader), "treated as missing");
            assertEquals(1, a.stats().getRecordsRefused());

            // A planted attribute without a signature.
            TrackedSession t = written(a, Map.of("user", "bob"), Map.of());
            redis.command("HSET", a.recordKey(t.baseId()), "a:gadget", "Sanything");
            assertNull(Stores.load(a, t.baseId(), loader));
            assertEquals(1, log.warnings().stream().filter(w -> w.contains("signature")).count(), "one line, not one per record");
        }
    }

    @Test
    void aSignedValueCannotBeMovedToAnotherSession() {
        try (RedisSessionStore a = open("node1", K1)) {
            TrackedSession admin = written(a, Map.of("role", "admin"), Map.of());
            TrackedSession user = written(a, Map.of("role", "user"), Map.of());
            String from = a.recordKey(admin.baseId());
            String to = a.recordKey(user.baseId());
            redis.command("HSET", to, "a:role", field(redis, from, "a:role"), "h:a:role", field(redis, from, "h:a:role"));
            assertNull(Stores.load(a, user.baseId(), loader), "a signature is bound to its session");
        }
    }

    @Test
    void anUnsignedRecordIsRefusedOnceSigningIsOn() {
        String base = Stores.newBase();
        plantRecord(redis, "tt:{" + base + "}", "node1", 1, Map.of("user", bytes("Salice")));
        try (RedisSessionStore a = open("node1", K1)) {
            assertNull(Stores.load(a, base, loader));
        }
        try (RedisSessionStore plain = Stores.openUp(Stores.options(redis).build(), "node1")) {
            assertNotNull(Stores.load(plain, base, loader), "without keys nothing is checked");
        }
    }

    @Test
    void keysRotateTheFirstSignsAllVerify() {
        try (RedisSessionStore old = open("node1", K1); RedisSessionStore rotating = open("node2", K2, K1);
                RedisSessionStore rotated = open("node3", K2)) {
            TrackedSession s = written(old, Map.of("user", "alice"), Map.of());
            SessionRecord r = Stores.load(rotating, s.baseId(), loader);
            assertNotNull(r, "the new node still verifies the old key");
            TestSession live = TestSession.from(r);
            assertEquals(WriteOutcome.SAVED, request(rotating, r.tracked(), () -> live.set(r.tracked(), "user", "alice2")));
            assertTrue(new String(field(redis, old.recordKey(s.baseId()), "h:a:user").getBytes()).length() > 8);
            assertNotNull(Stores.load(rotated, s.baseId(), loader), "rewritten under the new key, the old one can go");
            assertNull(Stores.load(old, s.baseId(), loader), "a node with only the old key refuses the new signatures");
        }
    }
}
