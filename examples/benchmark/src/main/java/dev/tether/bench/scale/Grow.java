package dev.tether.bench.scale;

import dev.tether.testkit.Http;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.TomcatNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Part 1: one Tomcat node with Tether grows to 1k, 10k, 100k logged-in sessions. At 0 sessions
 * (after a warm-up whose sessions are invalidated again) and at each size: heap after GC and Redis
 * used_memory; at each size a read-only and a write-every-request wrk run spread round-robin over
 * all sessions, with Redis's CPU and commandstats and the node's CPU per request. At the largest
 * size: the class histogram's growth and every Redis key sorted by kind with MEMORY USAGE.
 */
final class Grow {

    private static final int WARMUP_SESSIONS = 200;

    record Load(String mode, WrkRun.Result wrk, double redisCpuUsPerReq, double nodeCpuUsPerReq, Map<String, RedisCost.Command> commands) {
    }

    record Level(int sessions, double createSeconds, long heapUsed, long redisUsed, long redisKeys, Load read, Load write) {
    }

    record ClassDelta(String name, long instances, long bytes) {
    }

    record Result(long heap0, long redis0, long redisKeys0, List<Level> levels, List<ClassDelta> classes, List<RedisFootprint.Kind> footprint) {
    }

    private Grow() {
    }

    static Result run(ScaleOptions o, RedisProcess redis) throws Exception {
        redis.command("FLUSHALL");
        int max = o.maxLevel();
        TomcatNode node = ScaleNodes.tomcat(o, "node1", o.work.resolve("nodes"), redis.uri(), o.jvmOptsGrow, max + WARMUP_SESSIONS);
        try {
            Scale.log("part 1: starting %s (%s)", node.name(), o.jvmOptsGrow);
            node.start();
            // Warm-up: classes loaded, Redis connected, JIT warm; then the sessions are invalidated again.
            List<String> warm = SessionMaker.create(node.port(), max, max + WARMUP_SESSIONS);
            Path warmCookies = o.work.resolve("cookies-warmup.txt");
            Files.write(warmCookies, warm);
            WrkRun.run(o, node.port(), warmCookies, "write", 3 * o.warmup, o.work.resolve("raw/grow-warmup-write.txt"));
            WrkRun.run(o, node.port(), warmCookies, "read", o.warmup, o.work.resolve("raw/grow-warmup-read.txt"));
            try (Http.Connection h = Http.keepAlive("127.0.0.1", node.port())) {
                for (String id : warm) {
                    h.get(ScaleNodes.CONTEXT + "/s/invalidate", id);
                }
            }
            Thread.sleep(1000);
            long heap0 = NodeProbe.heapAfterGc(node);
            Map<String, long[]> histo0 = NodeProbe.histogram(node);
            long redis0 = RedisCost.usedMemory(redis);
            long keys0 = Long.parseLong(redis.command("DBSIZE"));
            Scale.log("  0 sessions: heap %.1f MiB, Redis used_memory %.1f MiB, %d keys", heap0 / 1048576.0, redis0 / 1048576.0, keys0);

            List<String> ids = new ArrayList<>();
            List<Level> levels = new ArrayList<>();
            for (int level : o.levels) {
                long t0 = System.nanoTime();
                ids.addAll(SessionMaker.create(node.port(), ids.size(), level));
                double createSeconds = (System.nanoTime() - t0) / 1e9;
                int created = level - levelBefore(o, level);
                Scale.log("  %d sessions (%d created in %.1f s, %.0f/s)", level, created, createSeconds, created / createSeconds);
                Path cookies = o.work.resolve("cookies-" + level + ".txt");
                Files.write(cookies, ids);
                Load read = load(o, redis, node, cookies, "read", level);
                Load write = load(o, redis, node, cookies, "write", level);
                Thread.sleep(1000);
                long heap = NodeProbe.heapAfterGc(node);
                long used = RedisCost.usedMemory(redis);
                long keys = Long.parseLong(redis.command("DBSIZE"));
                levels.add(new Level(level, createSeconds, heap, used, keys, read, write));
                Scale.log("    heap %.1f MiB (+%.0f B/session), Redis %.1f MiB (+%.0f B/session), %d keys", heap / 1048576.0,
                        (double) (heap - heap0) / level, used / 1048576.0, (double) (used - redis0) / level, keys);
            }
            Map<String, long[]> histo1 = NodeProbe.histogram(node);
            List<ClassDelta> classes = new ArrayList<>();
            histo1.forEach((cls, after) -> {
                long[] before = histo0.getOrDefault(cls, new long[2]);
                if (after[1] - before[1] > 0) {
                    classes.add(new ClassDelta(cls, after[0] - before[0], after[1] - before[1]));
                }
            });
            classes.sort((a, b) -> Long.compare(b.bytes(), a.bytes()));
            Scale.log("  Redis keys by kind (MEMORY USAGE on samples)");
            List<RedisFootprint.Kind> footprint = RedisFootprint.measure(redis);
            return new Result(heap0, redis0, keys0, levels, classes, footprint);
        } catch (Exception | AssertionError e) {
            Scale.log("part 1 FAILED: %s\n%s", e, node.tail(40));
            throw e;
        } finally {
            node.kill9();
        }
    }

    private static int levelBefore(ScaleOptions o, int level) {
        int before = 0;
        for (int l : o.levels) {
            if (l < level) {
                before = l;
            }
        }
        return before;
    }

    /** A discarded warm-up, then the measured run with Redis's and the node's CPU around it. */
    private static Load load(ScaleOptions o, RedisProcess redis, TomcatNode node, Path cookies, String mode, int level) throws Exception {
        WrkRun.run(o, node.port(), cookies, mode, o.warmup, o.work.resolve("raw/grow-" + level + "-" + mode + "-warmup.txt"));
        redis.command("CONFIG", "RESETSTAT");
        RedisCost.Snapshot r0 = RedisCost.snapshot(redis);
        double n0 = NodeProbe.cpuSeconds(node.pid());
        WrkRun.Result res = WrkRun.run(o, node.port(), cookies, mode, o.duration, o.work.resolve("raw/grow-" + level + "-" + mode + ".txt"));
        double n1 = NodeProbe.cpuSeconds(node.pid());
        RedisCost.Snapshot r1 = RedisCost.snapshot(redis);
        Map<String, RedisCost.Command> commands = RedisCost.delta(r0, r1);
        double redisUs = (r1.cpu() - r0.cpu()) * 1e6 / Math.max(1, res.requests());
        double nodeUs = (n1 - n0) * 1e6 / Math.max(1, res.requests());
        Scale.log("    %-5s %7.0f req/s p50 %.2f ms p99 %.2f ms, %d errors; Redis %.1f µs CPU/req, node %.0f µs CPU/req; %s", mode,
                res.rps(), res.p50Ms(), res.p99Ms(), res.errors(), redisUs, nodeUs, RedisCost.describe(commands, res.requests()));
        return new Load(mode, res, redisUs, nodeUs, commands);
    }
}
