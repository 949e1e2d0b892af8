package dev.tether.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Processes;
import dev.tether.testkit.RedisProcess;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * On demand, never in CI: the operator tool on 100,000 sessions that three real stores wrote, run as
 * its own process while a client measures what GET and EVALSHA cost meanwhile; once with everything
 * sharing the machine's cores, once with the tool on a core of its own (as on an operator's
 * machine). Prints one table row per phase: wall time, Redis CPU (INFO cpu), the client's latencies,
 * Redis' own time per call of the tool's commands (INFO commandstats) and the longest (SLOWLOG). Run with
 * <pre>mvn -B -ntp -pl testkit,redis-store -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=CommandLineLoadIT -Dtether.measure=true</pre>
 * Results: examples/cli-measurement.md.
 */
@EnabledIfSystemProperty(named = "tether.measure", matches = "true")
@Timeout(1800)
class CommandLineLoadIT {

    private static final String PREFIX = "tether:tomcat:localhost/shop:";
    private static final int SESSIONS = Integer.getInteger("tether.measure.sessions", 100_000);

    /** A stand-in for an application's report object: a few KB when serialized. */
    static final class Report implements Serializable {
        private static final long serialVersionUID = 1L;
        final byte[] data;

        Report(int size) {
            this.data = new byte[size];
        }
    }

    @Test
    void summaryOn100kSessions() throws Exception {
        // Every command over 500 µs lands in SLOWLOG: the longest any one command held Redis.
        try (RedisProcess redis = RedisProcess.start("--slowlog-log-slower-than", "500", "--slowlog-max-len", "100000")) {
            String anyBase = fill(redis);
            assertTrue(Long.parseLong(redis.command("DBSIZE")) >= SESSIONS, "every record written");
            System.gc();
            try (Probe probe = new Probe(redis.uri(), PREFIX + "{" + anyBase + "}")) {
                List<String> lines = new ArrayList<>();
                // Shared: Redis, this JVM (the probe) and the tool on the same two cores. Nice: the same, the tool
                // run as the README suggests on a Redis host. Own core: Redis and the probe on core 0, the tool
                // alone on core 1, as when it runs on an operator's machine.
                for (String setup : List.of("shared", "nice", "own core")) {
                    boolean pinned = setup.equals("own core");
                    pin(redis.pid(), pinned ? "0" : "0,1");
                    pin(ProcessHandle.current().pid(), pinned ? "0" : "0,1");
                    List<String> on = switch (setup) {
                        case "nice" -> List.of("nice", "-n", "19", Processes.java(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
                        case "own core" -> List.of("taskset", "-c", "1", Processes.java());
                        default -> List.of(Processes.java());
                    };
                    String tag = " [" + setup + "]";
                    lines.add(phase(redis, probe, "idle, 5 s" + tag, () -> sleep(5000)));
                    lines.add(phase(redis, probe, "summary (default --rate 10000)" + tag, () -> tool(redis, on, "summary", redis.uri())));
                    lines.add(phase(redis, probe, "summary --rate 0 (no cap)" + tag, () -> tool(redis, on, "summary", redis.uri(), "--rate", "0")));
                    if (setup.equals("nice")) {
                        continue;
                    }
                    lines.add(phase(redis, probe, "list --limit 100" + tag, () -> tool(redis, on, "list", redis.uri(), "--limit", "100")));
                    lines.add(phase(redis, probe, "show <id> --prefix <exact>" + tag,
                            () -> tool(redis, on, "show", anyBase, redis.uri(), "--prefix", PREFIX)));
                    lines.add(phase(redis, probe, "show <id> (found by SCAN under tether:)" + tag, () -> tool(redis, on, "show", anyBase, redis.uri())));
                }
                System.out.println("[CommandLineLoadIT] " + SESSIONS + " sessions, redis " + redis.info("server").get("redis_version")
                        + ", " + Runtime.getRuntime().availableProcessors() + " cores\n"
                        + "| phase | wall s | Redis CPU s (% of wall) | GET p50 / p99 / max µs | EVALSHA p50 / p99 / max µs | samples"
                        + " | Redis µs per call (tool's commands) | commands > 500 µs, longest |\n"
                        + "|---|---|---|---|---|---|---|---|\n" + String.join("\n", lines));
            }
        }
    }

    private static void pin(long pid, String cores) {
        Processes.run(null, java.time.Duration.ofSeconds(10), "taskset", "-a", "-p", "-c", cores, Long.toString(pid));
    }

    /** Writes the sessions through three stores, as nodes would; returns one base id. */
    private static String fill(RedisProcess redis) throws Exception {
        Random random = new Random(42);
        String any = null;
        long started = System.nanoTime();
        List<RedisSessionStore> stores = new ArrayList<>();
        for (String route : List.of("node1", "node2", "node3")) {
            stores.add(Stores.openUp(Stores.options(redis).keyPrefix(PREFIX).commandTimeout(java.time.Duration.ofSeconds(5)).build(), route));
        }
        try {
            List<CompletableFuture<WriteOutcome>> inFlight = new ArrayList<>();
            for (int i = 0; i < SESSIONS; i++) {
                RedisSessionStore store = stores.get(i % stores.size());
                TestSession live = new TestSession(System.currentTimeMillis() - random.nextInt(8 * 3600) * 1000L, 1800);
                live.attributes.put("user", "user" + random.nextInt(50_000));
                List<String> cart = new ArrayList<>();
                for (int n = random.nextInt(10); n > 0; n--) {
                    cart.add("item-" + random.nextInt(1000));
                }
                live.attributes.put("cart", cart);
                live.attributes.put("visits", random.nextInt(100));
                if (random.nextInt(10) == 0) {
                    live.attributes.put("report", new Report(1024 + random.nextInt(4096)));
                }
                TrackedSession s = store.create(Stores.newBase(), live);
                any = s.baseId();
                inFlight.add(store.commit(s).toCompletableFuture().whenComplete((o, e) -> store.drop(s)));
                if (inFlight.size() == 200) {
                    for (CompletableFuture<WriteOutcome> f : inFlight) {
                        assertEquals(WriteOutcome.SAVED, f.get(30, TimeUnit.SECONDS));
                    }
                    inFlight.clear();
                }
            }
            for (CompletableFuture<WriteOutcome> f : inFlight) {
                assertEquals(WriteOutcome.SAVED, f.get(30, TimeUnit.SECONDS));
            }
        } finally {
            stores.forEach(RedisSessionStore::close);
        }
        System.out.printf("[CommandLineLoadIT] %d sessions written through 3 stores in %.1f s; used_memory_human=%s%n", SESSIONS,
                (System.nanoTime() - started) / 1e9, redis.info("memory").get("used_memory_human"));
        return any;
    }

    private interface Step {
        void run() throws Exception;
    }

    private static String phase(RedisProcess redis, Probe probe, String name, Step step) throws Exception {
        redis.command("CONFIG", "RESETSTAT");
        redis.command("SLOWLOG", "RESET");
        double cpuBefore = cpu(redis);
        probe.startPhase();
        long started = System.nanoTime();
        step.run();
        double wall = (System.nanoTime() - started) / 1e9;
        long[][] samples = probe.endPhase();
        double cpu = cpu(redis) - cpuBefore;
        // The tool's own commands, as Redis timed them (its probe's GET/EVALSHA excluded).
        StringBuilder perCall = new StringBuilder();
        redis.info("commandstats").forEach((k, v) -> {
            String command = k.replace("cmdstat_", "");
            if (List.of("scan", "hmget", "pttl", "memory|usage", "hgetall").contains(command)) {
                perCall.append(perCall.length() == 0 ? "" : ", ").append(command).append(' ')
                        .append(v.replaceAll(".*usec_per_call=([0-9.]+).*", "$1"));
            }
        });
        List<?> slow = (List<?>) redis.reply("SLOWLOG", "GET", "100000");
        long longest = 0;
        String longestName = "-";
        for (Object entry : slow) {
            List<?> e = (List<?>) entry;
            long micros = (Long) e.get(2);
            if (micros > longest) {
                longest = micros;
                longestName = new String((byte[]) ((List<?>) e.get(3)).get(0), java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return String.format("| %s | %.2f | %.2f (%.0f %%) | %s | %s | %d | %s | %d%s |", name, wall, cpu, 100 * cpu / wall,
                stats(samples[0]), stats(samples[1]), samples[0].length, perCall.length() == 0 ? "-" : perCall,
                slow.size(), slow.isEmpty() ? "" : ", " + longestName + " " + longest + " µs");
    }

    private static double cpu(RedisProcess redis) {
        Map<String, String> info = redis.info("cpu");
        return Double.parseDouble(info.get("used_cpu_sys")) + Double.parseDouble(info.get("used_cpu_user"));
    }

    private static String stats(long[] micros) {
        long[] s = micros.clone();
        Arrays.sort(s);
        if (s.length == 0) {
            return "-";
        }
        return s[(int) Math.ceil(s.length * 0.5) - 1] + " / " + s[(int) Math.ceil(s.length * 0.99) - 1] + " / " + s[s.length - 1];
    }

    /** Runs the tool as its own JVM, as an operator would, on this test's class path; {@code launcher}: how the JVM is started. */
    private static void tool(RedisProcess redis, List<String> launcher, String... args) {
        List<String> command = new ArrayList<>(launcher);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.tether.store.cli.CommandLine"));
        command.addAll(List.of(args));
        String out = Processes.run(null, java.time.Duration.ofMinutes(5), command);
        System.out.println("[CommandLineLoadIT] " + String.join(" ", args).replace(redis.uri(), "<uri>") + ":\n"
                + out.lines().limit(16).collect(java.util.stream.Collectors.joining("\n")));
    }

    private static void sleep(long millis) {
        dev.tether.testkit.Await.sleep(millis);
    }

    /**
     * A client like a node: one GET and one EVALSHA every millisecond on its own connection, timed.
     * Paced, not flat out, so that it measures the latency a request sees, not its own queueing.
     */
    static final class Probe implements AutoCloseable {
        private final RedisClient client;
        private final StatefulRedisConnection<String, String> connection;
        private final Thread thread;
        private volatile boolean running = true;
        private volatile boolean recording;
        private final List<long[]> samples = new ArrayList<>();

        Probe(String uri, String recordKey) {
            client = RedisClient.create(uri);
            connection = client.connect();
            RedisCommands<String, String> sync = connection.sync();
            sync.set("probe", "x".repeat(100));
            String sha = sync.scriptLoad("return redis.call('HGET', KEYS[1], 'ver')");
            thread = new Thread(() -> {
                long next = System.nanoTime();
                while (running) {
                    long t0 = System.nanoTime();
                    sync.get("probe");
                    long t1 = System.nanoTime();
                    sync.evalsha(sha, ScriptOutputType.VALUE, recordKey);
                    long t2 = System.nanoTime();
                    if (recording) {
                        synchronized (samples) {
                            samples.add(new long[] {(t1 - t0) / 1000, (t2 - t1) / 1000});
                        }
                    }
                    next += 1_000_000;
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    } else {
                        next = System.nanoTime();
                    }
                }
            }, "probe");
            thread.start();
            sleep(3000); // warm up before the first phase
        }

        void startPhase() {
            synchronized (samples) {
                samples.clear();
            }
            recording = true;
        }

        /** {GET latencies, EVALSHA latencies} of the phase, in µs. */
        long[][] endPhase() {
            recording = false;
            synchronized (samples) {
                long[][] out = new long[2][samples.size()];
                for (int i = 0; i < samples.size(); i++) {
                    out[0][i] = samples.get(i)[0];
                    out[1][i] = samples.get(i)[1];
                }
                return out;
            }
        }

        @Override
        public void close() throws Exception {
            running = false;
            thread.join(5000);
            connection.close();
            client.shutdown();
        }
    }
}
