package dev.tether.store;

import dev.tether.store.record.RecordFormat;
import io.lettuce.core.Range;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Cluster-wide numbers for every node's JMX: the sessions in Redis (counted in the expiry index,
 * sixteen commands, never a scan) and the sessions each node holds (each node writes its own count
 * into one hash every few seconds). Read at most every {@value #REFRESH_MILLIS} ms, whatever polls.
 */
final class Census {

    static final long REFRESH_MILLIS = 5_000;
    /** A node reports every 10 s when its count changed, else every 30 s. */
    private static final long REPORT_MILLIS = 10_000;
    private static final long REPORT_ANYWAY_MILLIS = 30_000;
    /** A node that has not reported for this long is left out: stopped, or cut off from Redis. */
    private static final long STALE_MILLIS = 75_000;

    private final Core core;
    private final String node;
    private int reported = -1;
    private long reportedAt;
    private volatile long readAt;
    private volatile long total = -1;
    private volatile Map<String, Long> byNode = Map.of();

    Census(Core core) {
        this.core = core;
        this.node = core.route.isEmpty() ? RecordFormat.string(core.node) : core.route;
    }

    /** Starts this node's reports; they stop with the connection. */
    void start() {
        core.redis.later(this::report, 1_000);
    }

    private void report() {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = core.redis.async();
        long now = System.currentTimeMillis();
        int held = core.owned.size();
        if (cmd != null && core.redis.isUp() && (held != reported || now - reportedAt >= REPORT_ANYWAY_MILLIS)) {
            try {
                byte[] key = core.format.nodesKey();
                cmd.hset(key, RecordFormat.bytes(node), RecordFormat.bytes(held + " " + now));
                cmd.pexpire(key, STALE_MILLIS * 2);
                reported = held;
                reportedAt = now;
            } catch (RuntimeException e) {
                // the next report tries again
            }
        }
        core.redis.later(this::report, REPORT_MILLIS);
    }

    /** Sessions in Redis for this application, on every node; -1 when Redis cannot say. */
    long total() {
        refresh();
        return total;
    }

    /** Sessions each live node holds, by route. */
    Map<String, Long> byNode() {
        refresh();
        return byNode;
    }

    private synchronized void refresh() {
        long now = System.currentTimeMillis();
        if (now - readAt < REFRESH_MILLIS) {
            return;
        }
        readAt = now;
        RedisClusterAsyncCommands<byte[], byte[]> cmd = core.redis.async();
        if (cmd == null || !core.redis.isUp()) {
            total = -1;
            return;
        }
        try {
            List<RedisFuture<Long>> counts = new ArrayList<>();
            Range<Double> live = Range.from(Range.Boundary.including((double) now), Range.Boundary.unbounded());
            for (int b = 0; b < Expiries.EXPIRY_BUCKETS; b++) {
                counts.add(cmd.zcount(core.format.expiryKey(b), live));
            }
            RedisFuture<Map<byte[], byte[]>> nodes = cmd.hgetall(core.format.nodesKey());
            long wait = core.options.commandTimeout().toMillis() + 250;
            long sum = 0;
            for (RedisFuture<Long> c : counts) {
                sum += c.get(wait, TimeUnit.MILLISECONDS);
            }
            Map<String, Long> out = new TreeMap<>();
            for (Map.Entry<byte[], byte[]> e : nodes.get(wait, TimeUnit.MILLISECONDS).entrySet()) {
                String[] v = RecordFormat.string(e.getValue()).split(" ");
                try {
                    if (v.length == 2 && now - Long.parseLong(v[1]) < STALE_MILLIS) {
                        out.put(RecordFormat.string(e.getKey()), Long.parseLong(v[0]));
                    }
                } catch (NumberFormatException ignored) {
                    // not a report of ours
                }
            }
            total = sum;
            byNode = out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            core.failed(e);
            total = -1;
        }
    }
}
