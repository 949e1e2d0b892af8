package dev.tether.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.SessionStoreOptions;
import dev.tether.store.codec.AttributeCodec;
import dev.tether.store.record.RecordFormat;
import dev.tether.testkit.RedisProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.session.SessionData;

/**
 * Jetty sessions as records in Redis, written and read with plain Redis commands (not through the
 * store): what Jetty's store suite calls the store's "physical format". The spelling of keys and
 * fields comes from {@link RecordFormat} and {@link JettySessionData}, the attribute bytes from the
 * core's {@link AttributeCodec}; everything else is written here as the store writes it, so that a
 * change of the format on either side makes a test fail.
 *
 * <p>A Jetty session's record (key {@code tether:jetty:<vhost><context path>:{<id>}}):
 * <table>
 * <tr><td>{@code ver}</td><td>the record's version</td></tr>
 * <tr><td>{@code created}</td><td>Jetty's created</td></tr>
 * <tr><td>{@code lastAccessed}</td><td>when the session became idle: Jetty's expiry minus the
 * max-inactive interval (Jetty's accessed for a session that never expires), so that the core's
 * expiry (lastAccessed + maxInactive) is Jetty's expiry</td></tr>
 * <tr><td>{@code lastSaved}</td><td>when it was last written</td></tr>
 * <tr><td>{@code maxInactive}</td><td>seconds, rounded up; -1: never expires</td></tr>
 * <tr><td>{@code n:maxInactiveMs}, {@code n:cookieSet}</td><td>Jetty's values (cookieSet only when set)</td></tr>
 * <tr><td>{@code x:accessed}, {@code x:lastAccessed}, {@code x:expiry}, {@code x:lastNode}</td><td>Jetty's values</td></tr>
 * <tr><td>{@code a:<name>}, {@code m:a:<name>}</td><td>each attribute, and who wrote it at which version</td></tr>
 * </table>
 * A session that can expire has a TTL of max-inactive + 4 touch intervals and an entry in the
 * expiry index ({@code <prefix>expiry:{<bucket>}}, score: its expiry).
 */
final class JettyRecords {

    /** The factory's default touch interval, which the tests keep. */
    static final long TOUCH_SECONDS = 60;
    /** Buckets of the core's expiry index; a base id's bucket is its hash code modulo this. */
    static final int EXPIRY_BUCKETS = 16;

    private final RedisProcess redis;
    private final AttributeCodec codec;

    JettyRecords(RedisProcess redis) {
        this.redis = redis;
        this.codec = new AttributeCodec(SessionStoreOptions.builder(redis.uri()).build());
    }

    /**
     * The real context path behind Jetty's canonical one, which the suite's SessionData carry:
     * {@code "_"} is the root context, {@code "_other"} is {@code /other}. Tether keys records by
     * the real path (canonical paths are sanitized for file names and can coincide).
     */
    static String contextPath(String canonical) {
        if (canonical.equals("_")) {
            return "/";
        }
        if (canonical.startsWith("_") && canonical.indexOf('_', 1) < 0 && canonical.indexOf('.') < 0) {
            return "/" + canonical.substring(1);
        }
        throw new IllegalArgumentException("no test mapping for canonical context path " + canonical);
    }

    static RecordFormat format(SessionData data) {
        return new RecordFormat(RedisSessionDataStore.defaultPrefix(data.getVhost(), contextPath(data.getContextPath())));
    }

    static String key(SessionData data) {
        return format(data).key(data.getId());
    }

    static String expiryKey(SessionData data) {
        return new String(format(data).expiryKey(Math.floorMod(data.getId().hashCode(), EXPIRY_BUCKETS)), StandardCharsets.UTF_8);
    }

    /** Seconds as the store writes {@code maxInactive}: rounded up, -1 for "never". */
    static int maxInactiveSeconds(long maxInactiveMs) {
        return maxInactiveMs <= 0 ? -1 : (int) Math.max(1, Math.min(Integer.MAX_VALUE, (maxInactiveMs + 999) / 1000));
    }

    /** The record's {@code lastAccessed}: when the session became idle, so that it plus maxInactive is Jetty's expiry. */
    static long idleSince(SessionData data) {
        int seconds = maxInactiveSeconds(data.getMaxInactiveMs());
        return seconds > 0 && data.getExpiry() > 0 ? data.getExpiry() - seconds * 1000L : data.getAccessed();
    }

    /** Writes a session's record as the store would have written it. */
    void persist(SessionData data) throws IOException {
        persist(data, Map.of());
    }

    /** As {@link #persist(SessionData)}, with some fields' bytes replaced afterwards. */
    void persist(SessionData data, Map<String, byte[]> replaced) throws IOException {
        String key = key(data);
        int maxInactive = maxInactiveSeconds(data.getMaxInactiveMs());
        Map<String, byte[]> fields = new HashMap<>();
        String stamp = "1:suite/persist";
        fields.put(RecordFormat.VERSION, bytes("1"));
        fields.put(RecordFormat.CREATED, bytes(Long.toString(data.getCreated())));
        fields.put(RecordFormat.LAST_ACCESSED, bytes(Long.toString(idleSince(data))));
        fields.put(RecordFormat.LAST_SAVED, bytes(Long.toString(data.getLastSaved() > 0 ? data.getLastSaved() : System.currentTimeMillis())));
        fields.put(RecordFormat.MAX_INACTIVE, bytes(Integer.toString(maxInactive)));
        note(fields, JettySessionData.NOTE_MAX_INACTIVE_MS, Long.toString(data.getMaxInactiveMs()), stamp);
        if (data.getCookieSet() > 0) {
            note(fields, JettySessionData.NOTE_COOKIE_SET, Long.toString(data.getCookieSet()), stamp);
        }
        fields.put(RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_ACCESSED, bytes(Long.toString(data.getAccessed())));
        fields.put(RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_LAST_ACCESSED, bytes(Long.toString(data.getLastAccessed())));
        fields.put(RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_EXPIRY, bytes(Long.toString(data.getExpiry())));
        if (data.getLastNode() != null) {
            fields.put(RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_LAST_NODE, bytes(data.getLastNode()));
        }
        for (Map.Entry<String, Object> a : data.getAllAttributes().entrySet()) {
            fields.put(RecordFormat.ATTRIBUTE_PREFIX + a.getKey(), codec.encode(a.getValue()));
            fields.put(RecordFormat.STAMP_PREFIX + RecordFormat.ATTRIBUTE_PREFIX + a.getKey(), bytes(stamp));
        }
        fields.putAll(replaced);
        List<byte[]> hset = new ArrayList<>();
        hset.add(bytes("HSET"));
        hset.add(bytes(key));
        fields.forEach((f, v) -> {
            hset.add(bytes(f));
            hset.add(v);
        });
        redis.commandBytes(hset.toArray(new byte[0][]));
        if (maxInactive > 0) {
            redis.command("EXPIRE", key, Long.toString(maxInactive + 4 * TOUCH_SECONDS));
            redis.command("ZADD", expiryKey(data), Long.toString(idleSince(data) + maxInactive * 1000L), data.getId());
        }
    }

    private static void note(Map<String, byte[]> fields, String name, String value, String stamp) {
        fields.put(RecordFormat.NOTE_PREFIX + name, bytes(value));
        fields.put(RecordFormat.STAMP_PREFIX + RecordFormat.NOTE_PREFIX + name, bytes(stamp));
    }

    boolean exists(SessionData data) {
        return "1".equals(redis.command("EXISTS", key(data)));
    }

    /**
     * Asserts that Redis holds this session as Jetty sees it: every field of the format, the TTL,
     * the expiry index, and each attribute read back with {@code loader}.
     */
    void assertPersisted(SessionData data, ClassLoader loader) throws Exception {
        String key = key(data);
        Map<String, byte[]> record = redis.hgetall(key);
        assertFalse(record.isEmpty(), "no record " + key);
        int maxInactive = maxInactiveSeconds(data.getMaxInactiveMs());
        assertTrue(number(record, RecordFormat.VERSION) >= 1, "ver");
        assertEquals(data.getCreated(), number(record, RecordFormat.CREATED), "created");
        assertEquals(data.getAccessed(), number(record, RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_ACCESSED), "accessed");
        assertEquals(data.getLastAccessed(), number(record, RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_LAST_ACCESSED),
                "lastAccessed");
        assertEquals(data.getExpiry(), number(record, RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_EXPIRY), "expiry");
        assertEquals(data.getMaxInactiveMs(), number(record, RecordFormat.NOTE_PREFIX + JettySessionData.NOTE_MAX_INACTIVE_MS),
                "maxInactiveMs");
        byte[] cookieSet = record.get(RecordFormat.NOTE_PREFIX + JettySessionData.NOTE_COOKIE_SET);
        assertEquals(data.getCookieSet(), cookieSet == null ? 0 : Long.parseLong(string(cookieSet)), "cookieSet");
        assertEquals(data.getLastNode(), string(record.get(RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_LAST_NODE)), "lastNode");
        assertEquals(maxInactive, number(record, RecordFormat.MAX_INACTIVE), "maxInactive (seconds)");
        assertEquals(idleSince(data), number(record, RecordFormat.LAST_ACCESSED), "the core's lastAccessed: when the session became idle");
        assertTrue(number(record, RecordFormat.LAST_SAVED) > 0, "lastSaved");
        long ttl = Long.parseLong(redis.command("TTL", key));
        if (maxInactive > 0) {
            assertTrue(ttl > 0 && ttl <= maxInactive + 4 * TOUCH_SECONDS, "TTL " + ttl);
            assertEquals(Long.toString(idleSince(data) + maxInactive * 1000L), redis.command("ZSCORE", expiryKey(data), data.getId()),
                    "expiry index");
        } else {
            assertEquals(-1, ttl, "a session that never expires has no TTL");
        }
        Map<String, Object> attributes = new HashMap<>();
        for (Map.Entry<String, byte[]> f : record.entrySet()) {
            if (f.getKey().startsWith(RecordFormat.ATTRIBUTE_PREFIX)) {
                Object value = codec.decode(f.getValue(), loader);
                assertNotNull(value, f.getKey());
                attributes.put(f.getKey().substring(RecordFormat.ATTRIBUTE_PREFIX.length()), value);
            }
        }
        assertEquals(data.getAllAttributes().keySet(), attributes.keySet(), "attribute names");
        for (Map.Entry<String, Object> a : data.getAllAttributes().entrySet()) {
            assertEquals(a.getValue(), attributes.get(a.getKey()), "attribute " + a.getKey());
        }
    }

    private static long number(Map<String, byte[]> record, String field) {
        byte[] v = record.get(field);
        assertNotNull(v, "field " + field);
        return Long.parseLong(string(v));
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String string(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }
}
