package dev.tether.store;

import static dev.tether.store.Stores.bytes;
import static dev.tether.store.Stores.exists;
import static dev.tether.store.Stores.fieldBytes;
import static dev.tether.store.Stores.javaEncoded;
import static dev.tether.store.Stores.plantRecord;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Unreadable bytes in one attribute field cost that attribute only. */
class CorruptDataTest {

    static final class Known implements Serializable {
        private static final long serialVersionUID = 1L;
        int value = 5;
    }

    /** An application class whose own deserialization fails with a message quoting a value. */
    static final class Leaky implements Serializable {
        private static final long serialVersionUID = 1L;
        String card = "4111-0000-secret";

        private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
            in.defaultReadObject();
            throw new IllegalArgumentException("card " + card + " is not accepted");
        }
    }

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
        store = Stores.openUp(Stores.options(redis).build(), "node2");
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static Map<String, byte[]> corrupt() {
        Random random = new Random(42);
        Map<String, byte[]> m = new LinkedHashMap<>();
        byte[] noise = new byte[300];
        random.nextBytes(noise);
        noise[0] = (byte) 0xFE; // not a known tag
        m.put("random", noise);
        byte[] garbage = new byte[200];
        random.nextBytes(garbage);
        garbage[0] = 'J';
        m.put("javaGarbage", garbage);
        byte[] headerThenGarbage = Arrays.copyOf(new byte[] {'J', (byte) 0xAC, (byte) 0xED, 0, 5}, 64);
        for (int i = 5; i < headerThenGarbage.length; i++) {
            headerThenGarbage[i] = (byte) random.nextInt();
        }
        m.put("javaHeaderThenGarbage", headerThenGarbage);
        m.put("javaEmpty", new byte[] {'J'});
        byte[] list = javaEncoded(new ArrayList<>(List.of("a", "b", "c")));
        m.put("javaTruncated", Arrays.copyOf(list, list.length / 2));
        m.put("unknownTag", bytes("Zhello"));
        m.put("empty", new byte[0]);
        m.put("badInteger", bytes("Inot-a-number"));
        m.put("overlongLong", bytes("L123456789012345678901234567890"));
        m.put("emptyInteger", bytes("I"));
        return m;
    }

    @Test
    void corruptFieldsAreDroppedAndTheRestLoads() {
        Map<String, byte[]> attrs = new LinkedHashMap<>();
        attrs.put("user", bytes("Salice"));
        attrs.put("count", bytes("I7"));
        attrs.put("id", bytes("L-12"));
        attrs.put("flag", bytes("B0"));
        attrs.put("unicode", ("Sgrüße ✓").getBytes(StandardCharsets.UTF_8));
        attrs.put("list", javaEncoded(new ArrayList<>(List.of("x"))));
        Map<String, byte[]> bad = corrupt();
        attrs.putAll(bad);
        String base = Stores.newBase();
        String key = "tt:{" + base + "}";
        plantRecord(redis, key, "node1", 3, attrs);

        SessionRecord s = Stores.load(store, base, getClass().getClassLoader());
        assertNotNull(s);
        assertEquals(Map.of("user", "alice", "count", 7, "id", -12L, "flag", false, "unicode", "grüße ✓",
                "list", List.of("x")), s.attributes());
        assertEquals(bad.size(), store.stats().getAttributesRejected());
        assertEquals(3, s.tracked().version(), "the version as stored: a load writes nothing");

        // The unreadable values are removed from the record on the next write; the good ones stay.
        TestSession.from(s);
        assertEquals(WriteOutcome.SAVED, request(store, s.tracked(), () -> { }));
        for (String name : bad.keySet()) {
            assertNull(fieldBytes(redis, key, "a:" + name), name);
        }
        assertEquals("Salice", new String(fieldBytes(redis, key, "a:user"), StandardCharsets.UTF_8));
        assertNotNull(fieldBytes(redis, key, "a:list"));
    }

    @Test
    void anUnreadableAttributeIsLoggedOnceNotOnEveryReadAndNeverWithItsValue() {
        byte[] known = javaEncoded(new Known());
        String name = Known.class.getName();
        Map<String, byte[]> attrs = new LinkedHashMap<>();
        attrs.put("missing", replace(known, bytes(name), bytes(name.substring(0, name.length() - 1) + "X")));
        attrs.put("leaky", javaEncoded(new Leaky()));
        String base = Stores.newBase();
        plantRecord(redis, "tt:{" + base + "}", "node1", 1, attrs);
        try (LogCapture log = new LogCapture()) {
            for (int i = 0; i < 5; i++) {
                SessionRecord s = Stores.load(store, base, getClass().getClassLoader());
                assertNotNull(s);
                assertTrue(s.attributes().isEmpty());
                store.drop(s.tracked()); // read again from Redis, as another node's change would make it
            }
            assertEquals(10, store.stats().getAttributesRejected(), "every read counts");
            List<String> warnings = log.warnings();
            assertEquals(1, warnings.stream().filter(w -> w.contains("'missing'")).count(), warnings::toString);
            assertEquals(1, warnings.stream().filter(w -> w.contains("'leaky'")).count(), warnings::toString);
            assertTrue(warnings.stream().noneMatch(w -> w.contains("4111")), () -> "an attribute value was logged: " + warnings);
        }
    }

    @Test
    void missingClassDropsTheAttributeButKeepsItsBytes() {
        // Same stream as a Known, with the class name changed to one the application does not have
        // (for instance a redeploy removed it): the value is skipped here, but not destroyed.
        byte[] known = javaEncoded(new Known());
        String name = Known.class.getName();
        String missing = name.substring(0, name.length() - 1) + "X";
        byte[] renamed = replace(known, bytes(name), bytes(missing));
        Map<String, byte[]> attrs = new LinkedHashMap<>();
        attrs.put("user", bytes("Salice"));
        attrs.put("known", known);
        attrs.put("missing", renamed);
        String base = Stores.newBase();
        String key = "tt:{" + base + "}";
        plantRecord(redis, key, "node1", 1, attrs);

        SessionRecord s = Stores.load(store, base, getClass().getClassLoader());
        assertNotNull(s);
        assertEquals(5, ((Known) s.attributes().get("known")).value);
        assertFalse(s.attributes().containsKey("missing"));
        assertEquals(1, store.stats().getAttributesRejected());
        TestSession.from(s);
        assertEquals(WriteOutcome.UNCHANGED, request(store, s.tracked(), () -> { }));
        assertNotNull(fieldBytes(redis, key, "a:missing"));
    }

    @Test
    void damagedMetadataMakesTheRecordCountAsMissingNeverNeverExpiring() {
        String base = Stores.newBase();
        String key = "tt:{" + base + "}";
        plantRecord(redis, key, "node1", 1, Map.of("user", bytes("Salice")));
        // A guess would be dangerous: an unreadable maxInactive read as "never expires" keeps a
        // session alive for good.
        redis.command("HSET", key, "maxInactive", "x");
        assertNull(Stores.load(store, base, getClass().getClassLoader()));
        assertEquals(1, store.stats().getRecordsRefused());
        assertTrue(exists(redis, key), "left in Redis for inspection");
    }

    private static byte[] replace(byte[] in, byte[] from, byte[] to) {
        for (int i = 0; i + from.length <= in.length; i++) {
            if (Arrays.equals(in, i, i + from.length, from, 0, from.length)) {
                byte[] out = in.clone();
                System.arraycopy(to, 0, out, i, to.length);
                return out;
            }
        }
        throw new AssertionError("pattern not found");
    }
}
