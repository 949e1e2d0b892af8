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
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tether.testkit.RedisProcess;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import javax.management.BadAttributeValueExpException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Attributes read from Redis pass the class filter before any class of theirs is loaded, and the
 * JDK serial filter bounds depth, array length and references: a refused attribute is dropped,
 * nothing of it runs, the rest of the session loads.
 */
class ClassFilterTest {

    /** Stands for a gadget: its readObject has a visible side effect. */
    static final class Gadget implements Serializable {
        private static final long serialVersionUID = 1L;
        static final AtomicInteger READS = new AtomicInteger();
        String payload = "boom";

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            READS.incrementAndGet();
        }
    }

    private static final String GADGET = Gadget.class.getName();
    private static RedisProcess redis;
    private RedisSessionStore store;
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
    void reset() {
        redis.command("FLUSHALL");
        Gadget.READS.set(0);
    }

    @AfterEach
    void close() {
        if (store != null) {
            store.close();
        }
    }

    private RedisSessionStore open(UnaryOperator<SessionStoreOptions.Builder> config) {
        store = Stores.openUp(config.apply(Stores.options(redis)).build(), "node2");
        return store;
    }

    /** A record written by "node1" with two harmless attributes plus the given ones. */
    private String plant(Map<String, byte[]> hostile) {
        String base = Stores.newBase();
        Map<String, byte[]> attrs = new LinkedHashMap<>();
        attrs.put("user", bytes("Salice"));
        attrs.put("list", javaEncoded(new ArrayList<>(List.of("a", "b"))));
        attrs.putAll(hostile);
        plantRecord(redis, "tt:{" + base + "}", "node1", 1, attrs);
        return base;
    }

    private static Map<String, byte[]> gadgets() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("gadget", javaEncoded(new Gadget()));
        m.put("wrapped", javaEncoded(new ArrayList<>(List.of("ok", new Gadget()))));
        return m;
    }

    private void assertHarmlessLoaded(SessionRecord s) {
        assertNotNull(s);
        assertEquals("alice", s.attributes().get("user"));
        assertEquals(List.of("a", "b"), s.attributes().get("list"));
    }

    @Test
    void controlGadgetIsReadWhenNothingForbidsIt() {
        // Proves the counter detects a read: without a filter rule the gadget loads and its readObject runs.
        open(b -> b);
        SessionRecord s = Stores.load(store, plant(gadgets()), loader);
        assertHarmlessLoaded(s);
        assertTrue(s.attributes().get("gadget") instanceof Gadget);
        assertEquals(2, Gadget.READS.get());
        assertEquals(0, store.stats().getAttributesRejected());
    }

    @Test
    void allowListExcludingTheClassDropsItUnread() {
        open(b -> b.allowClasses(List.of("com.example.**")));
        String base = plant(gadgets());
        SessionRecord s = Stores.load(store, base, loader);
        assertHarmlessLoaded(s); // java.util and java.lang stay readable under a narrow allow list
        assertFalse(s.attributes().containsKey("gadget"));
        assertFalse(s.attributes().containsKey("wrapped"));
        assertEquals(0, Gadget.READS.get());
        assertEquals(2, store.stats().getAttributesRejected());

        // The refused values are cleaned out of the record by the new owner's next write.
        TestSession live = TestSession.from(s);
        assertEquals(WriteOutcome.SAVED, request(store, s.tracked(), () -> { }));
        String key = store.recordKey(base);
        assertNull(fieldBytes(redis, key, "a:gadget"));
        assertNull(fieldBytes(redis, key, "a:wrapped"));
        assertNotNull(fieldBytes(redis, key, "a:user"));
        assertEquals(0, live.dropped.get());
    }

    @Test
    void denyListNamingTheClassDropsIt() {
        open(b -> b.denyClasses(List.of(GADGET)));
        SessionRecord s = Stores.load(store, plant(gadgets()), loader);
        assertHarmlessLoaded(s);
        assertEquals(List.of("list", "user"), s.attributes().keySet().stream().sorted().toList());
        assertEquals(0, Gadget.READS.get());
        assertEquals(2, store.stats().getAttributesRejected());
    }

    @Test
    void denyPatternsBeatTheAllowList() {
        for (String pattern : List.of("dev.tether.store.*", "dev.tether.**", "dev.tether.store.ClassFilterTest$*")) {
            Gadget.READS.set(0);
            open(b -> b.allowClasses(List.of("dev.tether.store.*")).denyClasses(List.of(pattern)));
            SessionRecord s = Stores.load(store, plant(gadgets()), loader);
            assertHarmlessLoaded(s);
            assertFalse(s.attributes().containsKey("gadget"), pattern);
            assertEquals(0, Gadget.READS.get(), pattern);
            store.close();
            store = null;
        }
    }

    @Test
    void builtInDenyListRefusesKnownGadgetClassesWhateverTheAllowList() throws Exception {
        Map<String, byte[]> hostile = new LinkedHashMap<>();
        hostile.put("badAttr", javaEncoded(new BadAttributeValueExpException("x"))); // javax.management.**
        hostile.put("rmi", javaEncoded(new java.rmi.MarshalledObject<>("x")));        // java.rmi.**
        hostile.put("naming", javaEncoded(new javax.naming.CompositeName("a/b")));  // javax.naming.**
        for (List<String> allow : List.of(List.of("*"), List.of("javax.management.*", "java.rmi.**", "javax.naming.*"))) {
            open(b -> b.allowClasses(allow));
            SessionRecord s = Stores.load(store, plant(hostile), loader);
            assertHarmlessLoaded(s);
            assertEquals(2, s.attributes().size(), () -> "loaded " + s.attributes().keySet() + " with allow " + allow);
            assertEquals(3, store.stats().getAttributesRejected());
            store.close();
            store = null;
        }
    }

    // ---------------------------------------------------------------- limits

    private static ArrayList<Object> nested(int depth) {
        ArrayList<Object> root = new ArrayList<>();
        ArrayList<Object> cur = root;
        for (int i = 1; i < depth; i++) {
            ArrayList<Object> next = new ArrayList<>();
            cur.add(next);
            cur = next;
        }
        return root;
    }

    @Test
    void deeplyNestedPayloadIsRefusedWithoutStackOverflow() {
        byte[] deep = Stores.onBigStack(() -> javaEncoded(nested(10_000)));
        byte[] shallow = javaEncoded(nested(50));
        open(b -> b);
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("deep", deep);
        m.put("shallow", shallow);
        SessionRecord s = Stores.load(store, plant(m), loader);
        assertHarmlessLoaded(s);
        assertFalse(s.attributes().containsKey("deep"));
        assertTrue(s.attributes().containsKey("shallow"), "depth 50 is within the default maxDepth of 100");
        assertEquals(1, store.stats().getAttributesRejected());
    }

    @Test
    void hugeArrayHeaderIsRefusedBeforeAllocation() {
        // An int[] whose header claims ~8 GiB: without the filter, reading it is an OutOfMemoryError.
        byte[] payload = javaEncoded(new int[] {7});
        int claimed = 0x7FFFFFF0;
        assumeTrue(Runtime.getRuntime().maxMemory() < 4L * claimed, "heap too large for this check to be meaningful");
        int at = payload.length - 8; // length (4 bytes), then the one element
        payload[at] = (byte) (claimed >>> 24);
        payload[at + 1] = (byte) (claimed >>> 16);
        payload[at + 2] = (byte) (claimed >>> 8);
        payload[at + 3] = (byte) claimed;
        open(b -> b);
        SessionRecord s = Stores.load(store, plant(Map.of("huge", payload)), loader);
        assertHarmlessLoaded(s);
        assertFalse(s.attributes().containsKey("huge"));
        assertEquals(1, store.stats().getAttributesRejected());
    }

    @Test
    void configuredArrayAndReferenceLimitsApply() {
        open(b -> b.maxArrayLength(1000).maxReferences(500));
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("bigArray", javaEncoded(new int[5000]));
        m.put("smallArray", javaEncoded(new int[500]));
        ArrayList<Object> many = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            many.add(Integer.valueOf(100_000 + i)); // distinct objects, each a reference
        }
        m.put("manyRefs", javaEncoded(many));
        SessionRecord s = Stores.load(store, plant(m), loader);
        assertHarmlessLoaded(s);
        assertFalse(s.attributes().containsKey("bigArray"));
        assertFalse(s.attributes().containsKey("manyRefs"));
        assertTrue(Arrays.equals(new int[500], (int[]) s.attributes().get("smallArray")));
        assertEquals(2, store.stats().getAttributesRejected());
    }

    @Test
    void storedValueOverMaxAttributeBytesIsNotRead() {
        open(b -> b.maxAttributeBytes(256));
        String base = plant(Map.of("big", bytes("S" + "x".repeat(1000))));
        SessionRecord s = Stores.load(store, base, loader);
        assertHarmlessLoaded(s);
        assertFalse(s.attributes().containsKey("big"));
        assertEquals(1, store.stats().getAttributesRejected());
        assertTrue(exists(redis, store.recordKey(base)));
    }
}
