package dev.tether.store;

import static dev.tether.store.Stores.bytes;
import static dev.tether.store.Stores.javaEncoded;
import static dev.tether.store.Stores.plantRecord;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.tether.testkit.RedisProcess;
import java.io.ObjectInputFilter;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An operator's JVM-wide deserialization filter ({@code jdk.serialFilter}) still holds for session
 * attributes: a filter set on a stream replaces the JVM-wide one, so Tether asks that one first.
 * (The JVM-wide filter set here refuses only this test's own class, so other tests are unaffected.)
 */
class JvmSerialFilterTest {

    static final class BannedByTheOperator implements Serializable {
        private static final long serialVersionUID = 1L;
        String what = "anything";
    }

    private static RedisProcess redis;

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
        if (ObjectInputFilter.Config.getSerialFilter() == null) {
            ObjectInputFilter.Config.setSerialFilter(ObjectInputFilter.Config.createFilter("!" + BannedByTheOperator.class.getName()));
        }
    }

    @AfterAll
    static void stop() {
        redis.close();
    }

    @Test
    void theJvmWideFilterRefusesWhatItRefuses() {
        String base = Stores.newBase();
        Map<String, byte[]> attrs = new LinkedHashMap<>();
        attrs.put("user", bytes("Salice"));
        attrs.put("list", javaEncoded(new ArrayList<>(List.of("a"))));
        attrs.put("banned", javaEncoded(new BannedByTheOperator()));
        plantRecord(redis, "tt:{" + base + "}", "node1", 1, attrs);
        try (RedisSessionStore store = Stores.openUp(Stores.options(redis).build(), "node2")) {
            SessionRecord s = Stores.load(store, base, getClass().getClassLoader());
            assertNotNull(s);
            assertEquals(Map.of("user", "alice", "list", List.of("a")), s.attributes(), "the operator's filter refused one attribute");
            assertEquals(1, store.stats().getAttributesRejected());
        }
    }
}
