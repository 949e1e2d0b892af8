package dev.tether.bench.scale;

import dev.tether.testkit.RedisProcess;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Every key in Redis sorted by what it is (session record, tombstone, expiry bucket, user index,
 * node census), counted with SCAN, and its size from MEMORY USAGE (SAMPLES 0: every element) on a
 * random sample of each kind, scaled to the kind's count.
 */
final class RedisFootprint {

    private static final int SAMPLE = 500;

    record Kind(String name, long keys, long sampled, double avgBytes, String encoding) {
        double totalBytes() {
            return avgBytes * keys;
        }
    }

    private RedisFootprint() {
    }

    static List<Kind> measure(RedisProcess redis) {
        Map<String, List<String>> byKind = new LinkedHashMap<>();
        for (String k : List.of("session record (hash)", "tombstone of an invalidated session (:gone)", "expiry index bucket (zset)",
                "user index (zset)", "node census (hash)", "other")) {
            byKind.put(k, new ArrayList<>());
        }
        String cursor = "0";
        do {
            List<?> reply = (List<?>) redis.reply("SCAN", cursor, "COUNT", "5000");
            cursor = text(reply.get(0));
            for (Object key : (List<?>) reply.get(1)) {
                byKind.get(kind(text(key))).add(text(key));
            }
        } while (!cursor.equals("0"));
        List<Kind> out = new ArrayList<>();
        Random random = new Random(42);
        byKind.forEach((name, keys) -> {
            if (keys.isEmpty()) {
                return;
            }
            List<String> sample = new ArrayList<>(keys);
            java.util.Collections.shuffle(sample, random);
            sample = sample.subList(0, Math.min(SAMPLE, sample.size()));
            long bytes = 0;
            for (String key : sample) {
                Object usage = redis.reply("MEMORY", "USAGE", key, "SAMPLES", "0");
                bytes += usage instanceof Long l ? l : 0;
            }
            String encoding = text(redis.reply("OBJECT", "ENCODING", sample.get(0)));
            out.add(new Kind(name, keys.size(), sample.size(), (double) bytes / sample.size(), encoding));
        });
        return out;
    }

    private static String kind(String key) {
        if (key.endsWith(":gone")) {
            return "tombstone of an invalidated session (:gone)";
        }
        if (key.contains(":expiry:{")) {
            return "expiry index bucket (zset)";
        }
        if (key.contains(":user:{")) {
            return "user index (zset)";
        }
        if (key.endsWith(":nodes")) {
            return "node census (hash)";
        }
        if (key.endsWith("}") && key.contains(":{")) {
            return "session record (hash)";
        }
        return "other";
    }

    private static String text(Object o) {
        return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o);
    }
}
