package dev.tether.store;

import static dev.tether.store.Stores.attributeFields;
import static dev.tether.store.Stores.field;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Attributes that cannot be stored stay local; the rest of the session is written normally. */
class UnwritableAttributeTest {

    /** Not Serializable. */
    static final class Connection {
        int handle = 3;
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
    void clean() {
        redis.command("FLUSHALL");
    }

    @AfterEach
    void close() {
        if (store != null) {
            store.close();
        }
    }

    @Test
    void nonSerializableAttributesAreSkipped() {
        store = Stores.openUp(Stores.options(redis).build(), "node1");
        TestSession live = new TestSession();
        live.attributes.put("user", "alice");
        live.attributes.put("object", new Object());
        live.attributes.put("connection", new Connection());
        live.attributes.put("listWithBadElement", new ArrayList<>(List.of("ok", new Object())));
        live.attributes.put("cart", new ArrayList<>(List.of("apple")));
        TrackedSession s = store.create(Stores.newBase(), live);

        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        String key = store.recordKey(s.baseId());
        assertEquals(Set.of("a:user", "a:cart"), attributeFields(redis, key).keySet());
        assertEquals(3, store.stats().getAttributesNotSerializable());
        assertEquals(5, live.attributes.size(), "the local session keeps them");

        // A stored attribute replaced by an unserializable value must not survive with its old value.
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.set(s, "cart", new Connection())));
        assertNull(field(redis, key, "a:cart"));
        assertEquals("Salice", field(redis, key, "a:user"));
        assertEquals(4, store.stats().getAttributesNotSerializable());
    }

    /**
     * A mutable attribute whose serialization fails once the way a concurrent in-place change makes
     * it fail (ArrayList's ConcurrentModificationException): another request on the node changes
     * the cart while this one's write serializes it.
     */
    static final class Basket implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        final List<String> items = new ArrayList<>();
        transient boolean changedWhileWritten;

        private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
            if (changedWhileWritten) {
                changedWhileWritten = false;
                throw new java.util.ConcurrentModificationException();
            }
            out.defaultWriteObject();
        }
    }

    @Test
    void anAttributeChangedWhileItIsWrittenIsNotDeletedFromRedis() {
        store = Stores.openUp(Stores.options(redis).build(), "node1");
        TestSession live = new TestSession();
        Basket basket = new Basket();
        basket.items.add("apple");
        live.attributes.put("cart", basket);
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        String key = store.recordKey(s.baseId());
        assertTrue(field(redis, key, "a:cart") != null, "the cart is stored");

        WriteOutcome outcome = request(store, s, () -> {
            Basket b = (Basket) live.get(s, "cart");
            b.items.add("pear");
            b.changedWhileWritten = true;
        });
        assertTrue(field(redis, key, "a:cart") != null, "the cart is still in Redis after a write answered " + outcome
                + " (a value that changed while it was serialized is serializable: it is not to be deleted)");
        assertEquals(0, store.stats().getAttributesNotSerializable(), "a Serializable class is not counted as not serializable");
    }

    @Test
    void oversizeAttributesAreSkipped() {
        store = Stores.openUp(Stores.options(redis).maxAttributeBytes(128).build(), "node1");
        TestSession live = new TestSession();
        live.attributes.put("small", "hi");
        live.attributes.put("big", "x".repeat(500));
        live.attributes.put("bigList", new ArrayList<>(List.of("y".repeat(300))));
        live.attributes.put("grows", "short");
        TrackedSession s = store.create(Stores.newBase(), live);

        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        String key = store.recordKey(s.baseId());
        assertEquals(Set.of("a:small", "a:grows"), attributeFields(redis, key).keySet());
        assertEquals(2, store.stats().getAttributesTooLarge());

        assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.set(s, "grows", "z".repeat(200))));
        assertNull(field(redis, key, "a:grows"), "a value grown over the limit must not survive with its old value");
        assertEquals("Shi", field(redis, key, "a:small"));
        assertEquals(3, store.stats().getAttributesTooLarge());
        assertTrue(store.stats().getAttributesNotSerializable() == 0);
    }
}
