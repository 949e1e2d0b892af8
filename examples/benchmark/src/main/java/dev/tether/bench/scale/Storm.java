package dev.tether.bench.scale;

import dev.tether.testkit.Await;
import dev.tether.testkit.Http;
import dev.tether.testkit.Ports;
import dev.tether.testkit.Processes;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.TomcatNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Part 2: two Tomcat nodes with Tether behind HAProxy (examples/balancers/haproxy/haproxy.cfg, route
 * from the session id); node1 holds N logged-in sessions, node2 M of its own; client threads load
 * all of them through HAProxy; node1 is killed with {@code kill -9}; measured until every one of
 * node1's users has been answered by node2 with its new id.
 */
final class Storm {

    private static final int WARM_SECONDS = 20;
    private static final int STEADY_SECONDS = 8;
    private static final int STORM_TIMEOUT_SECONDS = 120;

    record Result(int round, int sessions, int others, int clients, long[] steadyUs, double steadyRps, double passSeconds, long[] takeoverUs,
            long[] movedAtMs, int maxFailuresBeforeMove, long usersWithFailures, long errorsAfterKill, long requestsAfterKill,
            long errorsBeforeKill, long lostWrites, double stormSeconds, long stormRequests, double redisCpuStorm, double redisCpuSteadyPerSec, double redisCpuSteadyPerRequest,
            double node2CpuStorm, Map<String, RedisCost.Command> stormCommands, long[] okTimeline, long[] errorTimeline,
            long[] movedTimeline, List<String> errorSamples, String haproxyVersion, String loadAtKill, int movedEarly) {
    }

    private Storm() {
    }

    /** Round 1: node2's first take-overs ever (its take-over code not yet compiled); round 2: node1 restarted with new users, killed again. */
    static final int ROUNDS = 2;

    static List<Result> run(ScaleOptions o, RedisProcess redis) throws Exception {
        redis.command("FLUSHALL");
        int n = o.stormSessions;
        int m = o.stormOthers;
        Path dir = o.work.resolve("nodes");
        TomcatNode node1 = ScaleNodes.tomcat(o, "node1", dir, redis.uri(), o.jvmOptsStorm, ROUNDS * n + m);
        TomcatNode node2 = ScaleNodes.tomcat(o, "node2", dir, redis.uri(), o.jvmOptsStorm, ROUNDS * n + m);
        Process haproxy = null;
        try {
            Scale.log("part 2: starting node1, node2 (%s) and HAProxy", o.jvmOptsStorm);
            TomcatNode.startAll(node1, node2);
            int lb = Ports.free();
            Path cfg = o.work.resolve("haproxy-scale.cfg");
            Files.writeString(cfg, Files.readString(o.haproxyCfg).replace("${LISTEN_PORT}", String.valueOf(lb))
                    .replace("${NODE1_PORT}", String.valueOf(node1.port())).replace("${NODE2_PORT}", String.valueOf(node2.port()))
                    .replace("/shop/login.html", ScaleNodes.CONTEXT + "/b/ping"));
            haproxy = Processes.start(new ProcessBuilder(o.haproxy, "-db", "-f", cfg.toString()).redirectErrorStream(true)
                    .redirectOutput(o.work.resolve("haproxy.log").toFile()));
            Await.await("HAProxy answers", Duration.ofSeconds(20), () -> {
                try {
                    return Http.get(lb, ScaleNodes.CONTEXT + "/b/ping", null).status() == 200;
                } catch (RuntimeException e) {
                    return false;
                }
            });
            String haproxyVersion = Processes.run(null, Duration.ofSeconds(10), o.haproxy, "-v").lines().findFirst().orElse("?");
            List<String> ids2 = SessionMaker.create(node2.port(), ROUNDS * n, ROUNDS * n + m);
            List<Result> results = new ArrayList<>();
            for (int round = 1; round <= ROUNDS; round++) {
                if (round > 1) {
                    Scale.log("  round %d: restarting node1", round);
                    node1.start();
                }
                long t0 = System.nanoTime();
                List<String> ids1 = SessionMaker.create(node1.port(), (round - 1) * n, round * n);
                Scale.log("  round %d: %d sessions on node1 created in %.1f s; node2 holds %d of its own", round, n,
                        (System.nanoTime() - t0) / 1e9, m);
                awaitRoutedTo(lb, node1);
                results.add(round(o, redis, lb, node1, node2, ids1, ids2, round, haproxyVersion));
            }
            return results;
        } catch (Exception | AssertionError e) {
            Scale.log("part 2 FAILED: %s\nnode1:\n%s\nnode2:\n%s", e, node1.tail(30), node2.tail(30));
            throw e;
        } finally {
            if (haproxy != null) {
                Processes.kill9(haproxy);
            }
            node1.kill9();
            node2.kill9();
        }
    }

    /** Until HAProxy sends a session of this node to it (after a restart the health check must see it up first). */
    private static void awaitRoutedTo(int lb, TomcatNode node) {
        Await.await("HAProxy routes to " + node.name(), Duration.ofSeconds(60), () -> {
            String probe = Http.get(node.port(), ScaleNodes.CONTEXT + "/b/create", null).sessionId();
            Http.Reply r = Http.get(lb, ScaleNodes.CONTEXT + "/b/read", probe);
            return r.status() == 200 && r.sessionId() == null;
        });
    }

    private static Result round(ScaleOptions o, RedisProcess redis, int lb, TomcatNode node1, TomcatNode node2, List<String> ids1,
            List<String> ids2, int round, String haproxyVersion) throws Exception {
        int n = ids1.size();
        int m = ids2.size();
        List<StormLoad.User> users = new ArrayList<>();
        // interleaved, so that every client holds users of both nodes
        for (int i = 0, j = 0; i < n || j < m;) {
            if (i < n && (j >= m || (long) i * m <= (long) j * n)) {
                users.add(new StormLoad.User(ids1.get(i++), true));
            } else {
                users.add(new StormLoad.User(ids2.get(j++), false));
            }
        }
        try (StormLoad load = new StormLoad(lb, "node1", "node2", users)) {
            load.start(o.stormClients);
            Scale.log("  load: %d clients through HAProxy, %d s warm-up, then %d s steady", o.stormClients, WARM_SECONDS, STEADY_SECONDS);
            Thread.sleep((WARM_SECONDS - STEADY_SECONDS) * 1000L);
            long req0 = load.requestsBeforeKill.get();
            long s0 = System.nanoTime();
            RedisCost.Snapshot steady0 = RedisCost.snapshot(redis);
            load.recordSteady(true);
            Thread.sleep(STEADY_SECONDS * 1000L);
            load.recordSteady(false);
            long req1 = load.requestsBeforeKill.get();
            RedisCost.Snapshot before = RedisCost.snapshot(redis);
            double steadySeconds = (System.nanoTime() - s0) / 1e9;
            double steadyRps = (req1 - req0) / steadySeconds;
            double redisSteadyPerSec = (before.cpu() - steady0.cpu()) / steadySeconds;
            double node2Cpu0 = NodeProbe.cpuSeconds(node2.pid());
            String loadAtKill = Machine.uptime();

            long kill = System.nanoTime();
            load.killed(kill);
            node1.kill9();
            Scale.log("  round %d: node1 killed (kill -9) at %.0f req/s steady", round, steadyRps);
            boolean all = Await.within(Duration.ofSeconds(STORM_TIMEOUT_SECONDS), () -> load.moved() + load.movedEarly.get() >= n);
            RedisCost.Snapshot after = RedisCost.snapshot(redis);
            long stormRequests = load.requestsAfterKill.get();
            double node2Cpu1 = NodeProbe.cpuSeconds(node2.pid());
            double stormSeconds = (after.nanoTime() - kill) / 1e9;
            Scale.log("  %s: %d of %d users moved in %.2f s (%d moved before the kill)", all ? "all served again" : "TIMED OUT",
                    load.moved(), n, stormSeconds, load.movedEarly.get());
            Thread.sleep(3000);
            load.close();

            long[] takeover = users.stream().filter(u -> u.onKilledNode && u.takeoverNanos >= 0)
                    .mapToLong(u -> u.takeoverNanos / 1000).sorted().toArray();
            long[] movedAt = users.stream().filter(u -> u.onKilledNode && u.movedAtNanos >= 0)
                    .mapToLong(u -> u.movedAtNanos / 1_000_000).sorted().toArray();
            int maxFailures = users.stream().mapToInt(u -> u.failuresBeforeMove).max().orElse(0);
            long withFailures = users.stream().filter(u -> u.failuresBeforeMove > 0).count();
            return new Result(round, n, m, o.stormClients, load.steadyLatencies(), steadyRps, (n + m) / steadyRps, takeover, movedAt,
                    maxFailures, withFailures, load.errorsAfterKill.get(), load.requestsAfterKill.get(), load.errorsBeforeKill.get(),
                    load.lostWrites.get(), stormSeconds, stormRequests, after.cpu() - before.cpu(), redisSteadyPerSec,
                    (before.cpu() - steady0.cpu()) / Math.max(1, req1 - req0), node2Cpu1 - node2Cpu0,
                    RedisCost.delta(before, after), toArray(load.okTimeline), toArray(load.errorTimeline),
                    toArray(load.movedTimeline), List.copyOf(load.errorSamples), haproxyVersion, loadAtKill,
                    load.movedEarly.get());
        }
    }

    private static long[] toArray(java.util.concurrent.atomic.AtomicLongArray a) {
        long[] out = new long[a.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i);
        }
        return out;
    }

    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return -1;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static String fmt(long[] a) {
        return Arrays.toString(a);
    }
}
