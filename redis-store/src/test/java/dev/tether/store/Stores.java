package dev.tether.store;

import static dev.tether.testkit.Await.await;

import dev.tether.testkit.RedisProcess;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/** Shared helpers of the redis-store tests: options, waiting with deadlines, reading records. */
final class Stores {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Stores() {
    }

    /** Short timeouts so that outage tests stay fast. */
    static SessionStoreOptions.Builder options(RedisProcess redis) {
        return options(redis.uri());
    }

    static SessionStoreOptions.Builder options(String uri) {
        return SessionStoreOptions.builder(uri)
                .keyPrefix("tt:")
                .commandTimeout(Duration.ofMillis(400))
                .connectTimeout(Duration.ofMillis(400));
    }

    /** Opens a store and waits until its lazy connection is up. */
    static RedisSessionStore openUp(SessionStoreOptions options, String route) {
        RedisSessionStore store = new RedisSessionStore(options, route);
        // Generous: the first connection in a cold JVM on a loaded 2-core machine can take seconds.
        await("store connects to Redis", Duration.ofSeconds(20), store::isRedisAvailable);
        return store;
    }

    static WriteOutcome outcome(CompletionStage<WriteOutcome> stage) {
        try {
            return stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("write did not complete", e);
        }
    }

    /** A load the way an adapter asks for one; {@code null} for a missing record or an unreachable Redis. */
    static SessionRecord load(RedisSessionStore store, String base, ClassLoader loader) {
        try {
            return store.load(base, null, loader);
        } catch (RedisSessionStore.UnavailableException e) {
            return null;
        }
    }

    /** A commit the way an adapter makes one at the end of a request. */
    static WriteOutcome request(RedisSessionStore store, TrackedSession state, Runnable body) {
        state.requestStarted();
        body.run();
        return outcome(store.commit(state));
    }

    static String newBase() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b).toUpperCase();
    }

    /** A record as text, values read as ISO-8859-1 so that binary values compare exactly. */
    static Map<String, String> record(RedisProcess redis, String key) {
        Map<String, String> out = new TreeMap<>();
        redis.hgetall(key).forEach((k, v) -> out.put(k, new String(v, StandardCharsets.ISO_8859_1)));
        return out;
    }

    static Map<String, String> attributeFields(RedisProcess redis, String key) {
        Map<String, String> out = new TreeMap<>();
        record(redis, key).forEach((k, v) -> {
            if (k.startsWith("a:")) {
                out.put(k, v);
            }
        });
        return out;
    }

    static String field(RedisProcess redis, String key, String field) {
        byte[] v = (byte[]) redis.reply("HGET", key, field);
        return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }

    static byte[] fieldBytes(RedisProcess redis, String key, String field) {
        return (byte[]) redis.reply("HGET", key, field);
    }

    static boolean exists(RedisProcess redis, String key) {
        return (Long) redis.reply("EXISTS", key) == 1L;
    }

    static long ttl(RedisProcess redis, String key) {
        return (Long) redis.reply("TTL", key);
    }

    /** The stored form of a Java-serialized attribute: 'J' and the stream. */
    static byte[] javaEncoded(Serializable value) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.write('J');
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(value);
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads a stored 'J' value back with plain Java serialization (test-side check of what was written). */
    static Object javaDecoded(byte[] stored) {
        if (stored == null || stored.length == 0 || stored[0] != 'J') {
            throw new AssertionError("not a Java-serialized attribute");
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(stored, 1, stored.length - 1))) {
            return in.readObject();
        } catch (IOException | ClassNotFoundException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Writes a record the way a node would have: metadata plus the given attribute fields, so that
     * hostile or corrupt values can be planted where a store will read them.
     */
    static void plantRecord(RedisProcess redis, String key, String owner, long version, Map<String, byte[]> attributes) {
        List<byte[]> args = new ArrayList<>();
        args.add(bytes("HSET"));
        args.add(bytes(key));
        long now = System.currentTimeMillis();
        for (String[] kv : new String[][] {{"created", Long.toString(now - 60_000)}, {"lastAccessed", Long.toString(now - 1000)},
                {"maxInactive", "1800"}, {"owner", owner}, {"ver", Long.toString(version)}, {"lastSaved", Long.toString(now - 1000)}}) {
            args.add(bytes(kv[0]));
            args.add(bytes(kv[1]));
        }
        attributes.forEach((name, value) -> {
            args.add(bytes("a:" + name));
            args.add(value);
        });
        redis.reply(args.toArray(new byte[0][]));
        redis.command("EXPIRE", key, "1900");
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** CRC16-CCITT (XModem) as Redis Cluster uses it. */
    static int crc16(byte[] data) {
        int crc = 0;
        for (byte b : data) {
            crc ^= (b & 0xff) << 8;
            for (int i = 0; i < 8; i++) {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
                crc &= 0xffff;
            }
        }
        return crc;
    }

    /** The Redis Cluster slot of a key, hash tags included. */
    static int slot(String key) {
        int open = key.indexOf('{');
        if (open >= 0) {
            int close = key.indexOf('}', open + 1);
            if (close > open + 1) {
                key = key.substring(open + 1, close);
            }
        }
        return crc16(bytes(key)) % 16384;
    }

    /** Commands Redis ran (scripts' inner calls included) as recorded in SLOWLOG, oldest first. */
    static List<List<String>> slowlog(RedisProcess redis) {
        @SuppressWarnings("unchecked")
        List<Object> entries = (List<Object>) redis.reply("SLOWLOG", "GET", "1000");
        List<List<String>> out = new ArrayList<>();
        for (Object e : entries) {
            List<?> entry = (List<?>) e;
            List<String> args = new ArrayList<>();
            for (Object a : (List<?>) entry.get(3)) {
                args.add(new String((byte[]) a, StandardCharsets.ISO_8859_1));
            }
            out.add(0, args);
        }
        return out;
    }

    /** Runs a task on a thread with a large stack (to build deeply nested test payloads). */
    static <T> T onBigStack(java.util.concurrent.Callable<T> task) {
        Object[] result = new Object[1];
        Throwable[] error = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                result[0] = task.call();
            } catch (Throwable e) {
                error[0] = e;
            }
        }, "big-stack", 1L << 30);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (error[0] != null) {
            throw new AssertionError(error[0]);
        }
        @SuppressWarnings("unchecked")
        T r = (T) result[0];
        return r;
    }
}
