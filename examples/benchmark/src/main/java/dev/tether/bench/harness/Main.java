package dev.tether.bench.harness;

import dev.tether.testkit.Http;
import dev.tether.testkit.Processes;
import dev.tether.testkit.RedisMonitor;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The benchmark harness (run.sh starts it): its own redis-server, then each variant in turn on
 * the real servers, with the same WAR, JVM flags and load:
 * <ol>
 *   <li>a fresh server; memory: heap after GC (and Redis used_memory) before and after creating
 *       N sessions of the benchmark's shape;</li>
 *   <li>throughput: S sessions created (their cookies go to a file wrk cycles through); per workload
 *       a warm-up wrk run (discarded), CONFIG RESETSTAT, the measured wrk run, INFO commandstats;</li>
 *   <li>optionally one more write run per variant under async-profiler, sorted into CPU per request by category,
 *       side by side ({@link CpuBreakdown});</li>
 *   <li>optionally one more write run under JFR, analysed into a profile summary;</li>
 * </ol>
 * then failover on Tomcat (Tether and Redisson): two nodes, sessions made on node1, kill -9 node1,
 * each session's first request at node2 timed against a warm one; then the report.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        Files.createDirectories(o.outDir);
        Files.createDirectories(o.workDir);
        Results r = new Results();
        Wrk wrk = new Wrk(o);
        long t0 = System.nanoTime();
        try (RedisProcess redis = RedisProcess.start("--loglevel", "warning")) {
            Log.info("redis-server %s on port %d (no persistence)", redis.info("server").get("redis_version"), redis.port());
            Machine.describe(o, redis, r);
            long[] jiffies0 = Machine.cpuJiffies();
            // The load average every 15 s: the harness itself keeps about 3 runnable (server, Redis, wrk), so more means
            // other work shared the machine, which the side-by-side ratios are meant to withstand and the notes must say.
            java.util.concurrent.ScheduledExecutorService loadSampler = Executors.newSingleThreadScheduledExecutor(t -> {
                Thread th = new Thread(t, "load-sampler");
                th.setDaemon(true);
                return th;
            });
            List<Double> loads = Collections.synchronizedList(new ArrayList<>());
            loadSampler.scheduleAtFixedRate(() -> loads.add(Machine.load1()), 0, 15, TimeUnit.SECONDS);
            settings(o, wrk, r);
            List<Variant> single = o.variants.stream().filter(v -> !v.isBalanced()).toList();
            List<Variant> pairs = o.variants.stream().filter(Variant::isBalanced).toList();
            if (!single.isEmpty()) {
                throughputAndMemory(o, redis, wrk, r, single, o.workloads);
            }
            if (!pairs.isEmpty()) {
                if (o.haproxy == null) {
                    r.notes.add("The two-node variants behind HAProxy were not run: haproxy is not installed (apt-get install haproxy).");
                    Log.info("=== SKIPPED the two-node variants: haproxy is not installed (apt-get install haproxy)");
                } else {
                    // A group of its own, after the single nodes are stopped: eight more server JVMs would crowd two cores.
                    throughputAndMemory(o, redis, wrk, r, pairs, o.balancedWorkloads);
                }
            }
            noiseNotes(r);
            for (Variant v : List.of(Variant.TOMCAT_TETHER, Variant.TOMCAT_REDISSON)) {
                if (o.has(v) && o.failoverSessions > 0) {
                    failover(o, redis, wrk, v, r);
                }
            }
            r.machine.put("load average at end", Machine.loadAverage());
            loadSampler.shutdownNow();
            loadNote(loads, r);
            r.machine.put("CPU steal during the run (VM host busy elsewhere)", Machine.stealShare(jiffies0, Machine.cpuJiffies()));
        }
        r.settings.put("harness wall time", String.format("%.0f s", (System.nanoTime() - t0) / 1e9));
        Report.write(o, r);
        Log.info("done in %.0f s: %s", (System.nanoTime() - t0) / 1e9, o.outDir.resolve("results.md"));
    }

    private static void settings(Options o, Wrk wrk, Results r) {
        r.settings.put("mode", o.mode);
        r.settings.put("measured runs", o.rounds + " round(s); in each, per workload, each variant in turn: a discarded warm-up run ("
                + "round 1: at least " + o.warmup + " s and on, in 2 s steps, until the JIT compiler threads use < 5 % of the server's CPU,"
                + " at most " + o.warmupMax + " s; later rounds " + Math.min(2, o.warmup) + " s), then a measured " + o.duration + " s run."
                + " All servers stay up during the rounds (idle but for the one under load). Reported: median over rounds."
                + " The two-node variants behind HAProxy run afterwards as a group of their own, the same way, with the single"
                + " servers stopped; their ratios are to in-memory behind the sticky balancer");
        r.settings.put("load", "wrk, " + o.threads + " threads, " + o.connections + " connections, keep-alive, each request"
                + " with the cookie of the next of " + o.sessions + " sessions (round-robin, no two threads share one)");
        r.settings.put("wrk command", wrk.describe(o.duration));
        r.settings.put("server JVM flags (every variant)", o.jvmOpts);
        r.settings.put("session shape", "payload: a 1 KiB String of its own; counter: an Integer");
        r.settings.put("workloads", "read-only: getAttribute x2; write-every-request: getAttribute x2 + setAttribute(counter+1);"
                + " mix 80/20: each request is a write with probability 0.2; JSP page 80/20: page.jsp renders about 20 KB of HTML"
                + " through EL from a session of its own shape (a profile, a cart of 30 items, a counter); each request is a write"
                + " (one cart line changed in place, setAttribute(cart), setAttribute(counter)) with probability 0.2."
                + " Two-node variants: " + String.join(", ", o.balancedWorkloads.stream().map(w -> w.label).toList()));
        r.settings.put("memory", o.memorySessions + " sessions created on a fresh server after 100 warm-up sessions; heap used after"
                + " System.gc() (lowest of 4) and Redis used_memory before/after, scaled to 10,000");
        r.settings.put("failover", o.failoverSessions + " sessions, each written twice on node1; kill -9 node1; per session: first"
                + " request at node2 with node1's cookie, then one with the cookie node2 answered; added = first - warm"
                + (o.failoverWarmupRound ? "; a discarded warm-up round first (same steps)" : ""));
        for (Variant v : o.variants) {
            r.settings.put("setup " + v.id, v.server == Variant.Server.JETTY ? Servers.setupFor(v) : Servers.managerFor(v));
        }
    }

    static ServerNode newNode(Options o, Variant v, String route, String redisUri) throws IOException {
        return Servers.create(o, v, route, o.workDir.resolve("nodes"), redisUri);
    }

    /**
     * A variant's server (or two behind a balancer), kept running through the throughput rounds; the port
     * wrk talks to; its sessions' cookie files (of the micro workloads' shape, and of the page's).
     */
    private record Live(Variant variant, List<ServerNode> nodes, int port, Path cookies, Path pageCookies, Haproxy balancer) {
        ServerNode node() {
            return nodes.get(0);
        }

        Path cookies(Workload w) {
            return w.pageShape() ? pageCookies : cookies;
        }

        /** CPU time of the server JVMs. */
        Duration cpu() {
            return nodes.stream().map(ServerNode::cpu).reduce(Duration.ZERO, Duration::plus);
        }

        ProcStat proc() {
            return nodes.stream().map(n -> ProcStat.of(n.pid())).reduce(ProcStat::plus).orElseThrow();
        }

        String logs() {
            return String.join(", ", nodes.stream().map(n -> n.logFile().toString()).toList());
        }

        void kill() {
            if (balancer != null) {
                balancer.close();
            }
            nodes.forEach(ServerNode::kill9);
        }
    }

    /** Whether a variant runs a workload: the floors' round trip is made by the bench servlet only, not by page.jsp. */
    private static boolean runs(Variant v, Workload w) {
        return !(v.isFloor() && w == Workload.PAGE);
    }

    /**
     * Memory on each fresh server, then throughput: all servers stay up (idle but for the one
     * under load) so the rounds can alternate between variants, workload by workload; whatever
     * else the machine is doing then hits every variant alike. Numbers are the median over rounds.
     */
    private static void throughputAndMemory(Options o, RedisProcess redis, Wrk wrk, Results r, List<Variant> variants,
            List<Workload> workloads) throws Exception {
        redis.command("FLUSHALL");
        List<Live> live = new ArrayList<>();
        Path raw = o.workDir.resolve("raw");
        boolean page = workloads.contains(Workload.PAGE);
        try {
            for (Variant v : variants) {
                live.add(v.isBalanced() ? startPair(o, redis, v, page, r) : startSingle(o, redis, v, page, r));
            }
            Map<String, List<Wrk.Result>> rounds = new LinkedHashMap<>();
            Map<String, Map<String, Long>> calls = new LinkedHashMap<>();
            Map<String, double[]> cpu = new LinkedHashMap<>();
            Map<String, Results.RoundTrips> trips = new LinkedHashMap<>();
            Map<String, ProcStat> procStats = new LinkedHashMap<>();
            for (int round = 1; round <= o.rounds; round++) {
                for (Workload w : workloads) {
                    Log.info("=== round %d of %d: %s", round, o.rounds, w.label);
                    for (Live l : live) {
                        if (!runs(l.variant(), w)) {
                            continue;
                        }
                        String key = l.variant().id + "/" + w.mode;
                        String tag = l.variant().id + "-" + w.mode + "-r" + round;
                        // Round 1 warms each server up until its JIT compiler is quiet; later rounds only re-open connections.
                        Warm warm = round == 1
                                ? warmUp(wrk, redis, l, w, o.warmup, o.warmupMax, true, raw.resolve(tag + "-warmup"))
                                : warmUp(wrk, redis, l, w, Math.min(2, o.warmup), Math.min(2, o.warmup), false,
                                        raw.resolve(tag + "-warmup"));
                        if (warm.trips() != null) {
                            trips.put(key, warm.trips());
                        }
                        if (warm.errors() > 0) {
                            r.notes.add(tag + ": " + warm.errors() + " errors in the warm-up");
                        }
                        redis.command("CONFIG", "RESETSTAT");
                        Duration cpu0 = l.cpu();
                        ProcStat ps0 = l.proc();
                        double rcpu0 = cpuSeconds(redis);
                        Wrk.Result res = wrk.run(l.port(), l.cookies(w), w, o.duration, raw.resolve(tag + ".txt"));
                        Duration cpu1 = l.cpu();
                        ProcStat ps1 = l.proc();
                        double rcpu1 = cpuSeconds(redis);
                        procStats.merge(key, ps1.minus(ps0), ProcStat::plus);
                        if (round == o.rounds) {
                            ProcStat last = ps1.minus(ps0);
                            if (last.total() > 0 && last.jitSeconds() / last.total() > 0.10) {
                                r.notes.add(tag + ": the JIT compiler used " + Math.round(100 * last.jitSeconds() / last.total())
                                        + " % of the server's CPU in this measured run: not steady state yet (longer --warmup or more --rounds)");
                            }
                        }
                        commandCalls(redis).forEach((c, n) -> calls.computeIfAbsent(key, k -> new LinkedHashMap<>()).merge(c, n, Long::sum));
                        double[] c = cpu.computeIfAbsent(key, k -> new double[2]);
                        c[0] += (cpu1.toNanos() - cpu0.toNanos()) / 1e9;
                        c[1] += rcpu1 - rcpu0;
                        rounds.computeIfAbsent(key, k -> new ArrayList<>()).add(res);
                        ProcStat d = ps1.minus(ps0);
                        Log.info("  %-16s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  cpu %4.0f us/req (JIT %2.0f %%)  errors %d", l.variant().id,
                                res.rps(), res.p50Ms(), res.p99Ms(), (cpu1.toNanos() - cpu0.toNanos()) / 1e3 / Math.max(1, res.requests()),
                                d.total() > 0 ? 100 * d.jitSeconds() / d.total() : Double.NaN, res.errors());
                        if (res.errors() > 0) {
                            r.notes.add(tag + ": " + res.errors() + " errors (connect " + res.errConnect() + ", read " + res.errRead()
                                    + ", write " + res.errWrite() + ", status " + res.errStatus() + ", timeout " + res.errTimeout()
                                    + "); see " + raw.resolve(tag + ".txt") + " and " + l.logs());
                        }
                    }
                }
            }
            for (Live l : live) {
                for (Workload w : workloads) {
                    if (!runs(l.variant(), w)) {
                        continue;
                    }
                    String key = l.variant().id + "/" + w.mode;
                    double[] c = cpu.get(key);
                    Results.Run run = new Results.Run(l.variant(), w, Wrk.Result.median(rounds.get(key)), rounds.get(key),
                            calls.getOrDefault(key, Map.of()), c[0], c[1], procStats.get(key), trips.get(key));
                    r.runs.add(run);
                }
            }
            breakdown(o, wrk, live, r);
            for (Live l : live) {
                if (o.profile.contains(l.variant())) {
                    profile(o, wrk, l.node(), l.cookies(), l.variant(), r);
                }
            }
        } finally {
            live.forEach(Live::kill);
        }
    }

    /** One server: started, its memory measured (not for a floor, whose sessions are in-memory ones), its sessions made. */
    private static Live startSingle(Options o, RedisProcess redis, Variant v, boolean page, Results r) throws Exception {
        Log.info("=== %s: start, memory, %d sessions", v.id, o.sessions);
        ServerNode node = newNode(o, v, "node1", redis.uri());
        try {
            Servers.start(node);
            if (!v.isFloor()) {
                memory(o, redis, node, v, r);
            }
            return new Live(v, List.of(node), node.port(), cookies(o, node.port(), v, false, r),
                    page && runs(v, Workload.PAGE) ? cookies(o, node.port(), v, true, r) : null, null);
        } catch (Exception | AssertionError e) {
            Log.info("  %s FAILED: %s\n%s", v.id, e, node.tail(40));
            node.kill9();
            throw e;
        }
    }

    /** Two servers (jvmRoute node1 and node2) behind HAProxy; the sessions are made through the balancer. */
    private static Live startPair(Options o, RedisProcess redis, Variant v, boolean page, Results r) throws Exception {
        Log.info("=== %s: two nodes behind HAProxy (%s), %d sessions", v.id, v.balance.label, o.sessions);
        ServerNode n1 = newNode(o, v, "node1", redis.uri());
        ServerNode n2 = newNode(o, v, "node2", redis.uri());
        Haproxy balancer = null;
        try {
            Servers.start(n1);
            Servers.start(n2);
            balancer = Haproxy.start(o.haproxy, v.balance, n1.port(), n2.port(), o.workDir.resolve("nodes").resolve(v.id + "-haproxy"));
            r.settings.putIfAbsent("haproxy, " + v.balance.label, Haproxy.config(v.balance, 0, 0, 0).replace(":0", ":PORT").strip()
                    .replaceAll("\\s*\n\\s*", "; "));
            return new Live(v, List.of(n1, n2), balancer.port, cookies(o, balancer.port, v, false, r),
                    page ? cookies(o, balancer.port, v, true, r) : null, balancer);
        } catch (Exception | AssertionError e) {
            Log.info("  %s FAILED: %s\n%s\n%s", v.id, e, n1.tail(40), n2.tail(40));
            if (balancer != null) {
                balancer.close();
            }
            n1.kill9();
            n2.kill9();
            throw e;
        }
    }

    /** Creates the sessions a variant is loaded with and writes their cookies to a file for wrk. */
    private static Path cookies(Options o, int port, Variant v, boolean page, Results r) throws Exception {
        List<String> sessions = createSessions(port, o.sessions, page);
        Path file = o.workDir.resolve("cookies-" + v.id + (page ? "-page" : "") + ".txt");
        Files.write(file, sessions);
        if (page) {
            // what one such session weighs: the attributes' Java serialization, each on its own
            Http.Reply sample = Http.get(port, Servers.CONTEXT + "/b/create?shape=page", null);
            r.settings.putIfAbsent("page session (serialized attributes)", sample.value("bytes") + " bytes");
        }
        return file;
    }

    /**
     * Says so when the machine itself was unsteady: the in-memory baselines do the same work in every
     * round, so their spread across rounds is the run's noise, against which differences between
     * variants must be read.
     */
    private static void noiseNotes(Results r) {
        for (Results.Run run : r.runs) {
            if (run.variant().impl != Variant.Impl.MEMORY || run.rounds().size() < 3) {
                continue;
            }
            double min = run.rounds().stream().mapToDouble(Wrk.Result::rps).min().orElse(0);
            double max = run.rounds().stream().mapToDouble(Wrk.Result::rps).max().orElse(0);
            if (min > 0 && max / min > 1.25) {
                r.notes.add(String.format(java.util.Locale.ROOT, "Noisy machine: %s in-memory, %s, did the same work in every round at"
                        + " %.0f to %.0f req/s (%.2f×). Ratios are medians of per-round ratios, but differences between variants"
                        + " smaller than this spread are within the noise of this run.", run.variant().server.label, run.workload().label,
                        min, max, max / min));
            }
        }
    }

    private static void loadNote(List<Double> loads, Results r) {
        List<Double> l = new ArrayList<>(loads);
        l.removeIf(x -> Double.isNaN(x));
        if (l.isEmpty()) {
            return;
        }
        int cpus = Runtime.getRuntime().availableProcessors();
        double median = Stats.percentile(l, 50);
        double max = l.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        r.machine.put("1-minute load average during the run (every 15 s)", String.format(java.util.Locale.ROOT,
                "median %.1f, max %.1f, on %d CPUs", median, max, cpus));
        if (median > cpus + 3) {
            r.notes.add(String.format(java.util.Locale.ROOT, "Other work was running on the machine during this run: the 1-minute load"
                    + " average was %.1f in the median (max %.1f) on %d CPUs, where the benchmark alone keeps about 3 threads busy. Absolute"
                    + " req/s are therefore lower and noisier than on a quiet machine; the ratios are taken side by side, round by round,"
                    + " so that the other work weighs on both sides of each ratio.", median, max, cpus));
        }
    }

    /** What a warm-up did: seconds, the JIT share of its last step, errors, and (if monitored) the Redis round trips. */
    private record Warm(int seconds, double lastJitShare, long errors, Results.RoundTrips trips) {
    }

    /**
     * Load, discarded, in steps of at most 2 s: at least {@code min} seconds, then on until a step in
     * which the server's JIT compiler threads used under 5 % of its CPU, at most {@code max} seconds.
     * With {@code monitor}, the steps run under MONITOR to count round trips; the last step's counts are kept.
     */
    private static Warm warmUp(Wrk wrk, RedisProcess redis, Live l, Workload w, int min, int max, boolean monitor,
            Path rawPrefix) throws Exception {
        return warmUp(wrk, redis, l.nodes(), l.port(), l.cookies(w), w, min, max, monitor, rawPrefix);
    }

    private static Warm warmUp(Wrk wrk, RedisProcess redis, ServerNode node, Path cookies, Workload w, int min, int max, boolean monitor,
            Path rawPrefix) throws Exception {
        return warmUp(wrk, redis, List.of(node), node.port(), cookies, w, min, max, monitor, rawPrefix);
    }

    private static Warm warmUp(Wrk wrk, RedisProcess redis, List<ServerNode> nodes, int port, Path cookies, Workload w, int min, int max,
            boolean monitor, Path rawPrefix) throws Exception {
        int elapsed = 0;
        long errors = 0;
        double jit = Double.NaN;
        Results.RoundTrips trips = null;
        for (int step = 1; elapsed < max; step++) {
            int seconds = Math.min(2, max - elapsed);
            ProcStat p0 = proc(nodes);
            Wrk.Result res;
            Path raw = Path.of(rawPrefix + "-" + step + ".txt");
            if (monitor) { // every step; the last one's counts are kept: the warmest
                try (RedisMonitor mon = redis.monitor()) {
                    res = wrk.run(port, cookies, w, seconds, raw);
                    mon.close();
                    trips = new Results.RoundTrips(res.requests(), mon.clientCommands().size(), mon.scriptCommandCount(),
                            mon.clientCommandsByName());
                }
            } else {
                res = wrk.run(port, cookies, w, seconds, raw);
            }
            ProcStat d = proc(nodes).minus(p0);
            jit = d.total() > 0 ? d.jitSeconds() / d.total() : 0;
            elapsed += seconds;
            errors += res.errors();
            if (elapsed >= min && jit < 0.05) {
                break;
            }
        }
        if (max > min) {
            Log.info("  %-16s warm-up %2d s (JIT compiler %.0f %% of CPU in the last step)", nodes.get(0).name() + (nodes.size() > 1 ? " +1" : ""), elapsed, 100 * jit);
        }
        return new Warm(elapsed, jit, errors, trips);
    }

    private static ProcStat proc(List<ServerNode> nodes) {
        return nodes.stream().map(n -> ProcStat.of(n.pid())).reduce(ProcStat::plus).orElseThrow();
    }

    /** On a fresh server: warm-up sessions (classes loaded, connections made), heap and Redis memory, N more, again. */
    private static void memory(Options o, RedisProcess redis, ServerNode node, Variant v, Results r) throws Exception {
        createSessions(node, 100);
        Thread.sleep(1000);
        long heap0 = heap(node);
        long redis0 = usedMemory(redis);
        Map<String, long[]> histo0 = histogram(node);
        createSessions(node, o.memorySessions);
        Thread.sleep(1000);
        long heap1 = heap(node);
        long redis1 = usedMemory(redis);
        Map<String, long[]> histo1 = histogram(node);
        // What the sessions added, by class (live objects: GC.class_histogram collects first).
        List<Results.ClassDelta> byClass = new ArrayList<>();
        histo1.forEach((cls, after) -> {
            long[] before = histo0.getOrDefault(cls, new long[2]);
            if (after[1] - before[1] > 0) {
                byClass.add(new Results.ClassDelta(cls, after[0] - before[0], after[1] - before[1]));
            }
        });
        byClass.sort((a, b) -> Long.compare(b.bytes(), a.bytes()));
        Results.Memory m = new Results.Memory(v, o.memorySessions, heap0, heap1, redis0, redis1,
                byClass.subList(0, Math.min(15, byClass.size())));
        r.memory.add(m);
        Log.info("  memory: %.1f MiB heap, %.1f MiB Redis per 10,000 sessions (measured with %d)", m.heapMiBPer10k(),
                m.redisMiBPer10k(), o.memorySessions);
    }

    /**
     * One more write-every-request run of a variant under JFR (execution samples every 1 ms instead
     * of the profile settings' 10 ms) and, where perf is installed, perf record (kernel vs JVM vs
     * JIT-compiled code, by thread).
     */
    private static void profile(Options o, Wrk wrk, ServerNode node, Path cookies, Variant v, Results r) throws Exception {
        Log.info("=== profile %s, write-every-request, %d s", v.id, o.duration);
        Path jfr = o.workDir.resolve("profile-" + v.id + "-write.jfr");
        Files.deleteIfExists(jfr);
        String settings = "profile";
        try {
            Path jfc = o.workDir.resolve("bench-profile.jfc");
            String text = Files.readString(Path.of(System.getProperty("java.home"), "lib", "jfr", "profile.jfc"));
            String fast = text.replaceFirst("(<event name=\"jdk.ExecutionSample\">\\s*<setting name=\"enabled\"[^<]*</setting>\\s*"
                    + "<setting name=\"period\"[^>]*>)[^<]*(</setting>)", "$11 ms$2");
            // every JIT compilation (the default threshold shows only those over 100 ms)
            fast = fast.replaceFirst("(<event name=\"jdk.Compilation\">\\s*<setting name=\"enabled\"[^<]*</setting>\\s*"
                    + "<setting name=\"threshold\"[^>]*>)[^<]*(</setting>)", "$10 ms$2");
            if (!fast.equals(text)) {
                Files.writeString(jfc, fast);
                settings = jfc.toString();
            }
        } catch (IOException e) {
            // the JDK's own profile settings then
        }
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        String pid = String.valueOf(node.pid());
        Processes.run(null, Duration.ofSeconds(60), jcmd, pid, "JFR.start", "name=bench", "settings=" + settings, "filename=" + jfr);
        // Starting JFR re-instruments JDK I/O classes, which throws away compiled code: warm up again
        // under the recording, and analyse only what follows.
        Warm warm = warmUp(wrk, null, node, cookies, Workload.WRITE, Math.min(3, o.warmupMax), o.warmupMax, false,
                o.workDir.resolve("raw").resolve(v.id + "-write-profiled-warmup"));
        String caveat = warm.lastJitShare() > 0.10
                ? String.format(java.util.Locale.ROOT, "**Caveat:** the warm-up under the recording ended after %d s with the JIT compiler still"
                        + " using %.0f %% of the server's CPU, so this profile still contains compilation (see the JIT lines below).%n%n",
                        warm.seconds(), 100 * warm.lastJitShare())
                : "";
        java.time.Instant from = java.time.Instant.now();
        Path perfData = o.workDir.resolve("perf-" + v.id + "-write.data");
        Process perf = null;
        if (onPath("perf")) {
            Files.deleteIfExists(perfData);
            perf = Processes.start(new ProcessBuilder("perf", "record", "-F", "499", "-p", pid, "-o", perfData.toString(), "--",
                    "sleep", String.valueOf(o.duration)).redirectErrorStream(true)
                    .redirectOutput(o.workDir.resolve("perf-" + v.id + ".log").toFile()));
        }
        wrk.run(node, cookies, Workload.WRITE, o.duration, o.workDir.resolve("raw").resolve(v.id + "-write-profiled.txt"));
        Processes.run(null, Duration.ofSeconds(120), jcmd, pid, "JFR.stop", "name=bench");
        String perfReport = "";
        if (perf != null) {
            if (!perf.waitFor(o.duration + 60L, TimeUnit.SECONDS)) {
                Log.info("  perf record did not end; killing it");
            }
            Processes.kill9(perf);
            perfReport = perfReport(perfData);
        }
        Profile.Summary s = Profile.analyze(jfr, from, v, o.duration, settings.equals("profile") ? "10 ms" : "1 ms", caveat, perfReport);
        r.profiles.put(v, s);
        Log.info("  %d JFR execution samples, %s", s.samples(), jfr);
    }

    /**
     * async-profiler on one more write run of each variant asked for, in the order asked, before JFR
     * (whose start throws compiled code away): a short warm-up first, then the profiled run.
     */
    private static void breakdown(Options o, Wrk wrk, List<Live> live, Results r) throws Exception {
        List<Live> asked = new ArrayList<>();
        for (Variant v : o.breakdown) {
            live.stream().filter(l -> l.variant() == v).findFirst().ifPresent(asked::add);
        }
        if (asked.isEmpty()) {
            return;
        }
        if (o.asyncProfiler == null || !Files.isRegularFile(o.asyncProfiler)) {
            r.breakdownSkipped = "async-profiler's jar was not available (run.sh fetches tools.profiler:async-profiler from Maven Central).";
            Log.info("  CPU breakdown skipped: %s", r.breakdownSkipped);
            return;
        }
        Path lib = CpuBreakdown.library(o.asyncProfiler, o.workDir);
        if (lib == null) {
            r.breakdownSkipped = "async-profiler has no library for this machine (" + System.getProperty("os.name") + "/"
                    + System.getProperty("os.arch") + ").";
            return;
        }
        for (Live l : asked) {
            Log.info("=== CPU breakdown %s, write-every-request, %d s (async-profiler)", l.variant().id, o.duration);
            warmUp(wrk, null, l.node(), l.cookies(), Workload.WRITE, Math.min(2, o.warmupMax), Math.min(2, o.warmupMax), false,
                    o.workDir.resolve("raw").resolve(l.variant().id + "-write-cpu-warmup"));
            try {
                CpuBreakdown.Result b = CpuBreakdown.measure(lib, wrk, l.node(), l.cookies(), l.variant(), o.duration, o.workDir);
                r.breakdown.add(b);
                Log.info("  %.0f us of server CPU per request in %d samples (%s)", b.totalMicrosPerRequest(), b.total(),
                        b.kernelStacks() ? "with kernel stacks" : "no kernel stacks");
            } catch (Exception | LinkageError e) {
                r.breakdownSkipped = "async-profiler could not profile " + l.variant().id + ": " + e;
                Log.info("  CPU breakdown of %s failed: %s", l.variant().id, e);
                r.breakdown.clear();
                return;
            }
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Where perf's samples fell: by shared object, by thread (comm), and the kernel's top symbols. */
    private static String perfReport(Path data) {
        if (!Files.isRegularFile(data)) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        String[][] views = {
            {"by shared object (kernel, libjvm = GC/JIT compiler/runtime, JIT = compiled Java code)", "--sort", "dso"},
            {"by thread name (as the kernel truncates it)", "--sort", "comm"},
            {"top kernel symbols", "--sort", "sym", "--dsos", "[kernel.kallsyms]"},
        };
        for (String[] view : views) {
            List<String> cmd = new ArrayList<>(List.of("perf", "report", "-i", data.toString(), "--stdio", "--no-children", "-q"));
            cmd.addAll(List.of(view).subList(1, view.length));
            try {
                String out = Processes.run(null, Duration.ofSeconds(120), cmd);
                List<String> lines = out.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).limit(15).toList();
                sb.append("perf, ").append(view[0]).append(":\n\n```\n").append(String.join("\n", lines)).append("\n```\n\n");
            } catch (Exception e) {
                sb.append("perf report ").append(view[0]).append(" failed: ").append(e.getMessage()).append("\n\n");
            }
        }
        return sb.toString();
    }

    /** Tomcat only: sessions created on node1, node1 killed, each session's first request at node2 timed. */
    private static void failover(Options o, RedisProcess redis, Wrk wrk, Variant v, Results r) throws Exception {
        Log.info("=== failover %s: %d sessions%s", v.id, o.failoverSessions, o.failoverWarmupRound ? " (after a warm-up round)" : "");
        redis.command("FLUSHALL");
        ServerNode node2 = newNode(o, v, "node2", redis.uri());
        ServerNode node1 = newNode(o, v, "node1", redis.uri());
        try {
            Servers.start(node2);
            // node2 serves traffic of its own first, so the ordinary request path is warm.
            List<String> own = createSessions(node2, 200);
            Path cookies = o.workDir.resolve("cookies-" + v.id + "-node2.txt");
            Files.write(cookies, own);
            warmUp(wrk, null, node2, cookies, Workload.MIX, o.warmup, o.warmupMax, false,
                    o.workDir.resolve("raw").resolve(v.id + "-failover-node2-warmup"));
            int rounds = o.failoverWarmupRound ? 2 : 1;
            for (int round = 1; round <= rounds; round++) {
                boolean measured = round == rounds;
                Servers.start(node1);
                List<String> sessions = createSessions(node1, o.failoverSessions);
                try (Http.Connection h = Http.keepAlive("127.0.0.1", node1.port())) {
                    for (String s : sessions) {
                        for (int i = 0; i < 2; i++) {
                            Http.Reply w = h.get(Servers.CONTEXT + "/b/write", s);
                            if (w.status() != 200) {
                                throw new IllegalStateException("write on node1 answered " + w.status() + ": " + w.body());
                            }
                        }
                    }
                }
                Thread.sleep(500);
                node1.kill9();
                List<double[]> samples = new ArrayList<>();
                int failures = 0;
                try (Http.Connection h = Http.keepAlive("127.0.0.1", node2.port())) {
                    h.get(Servers.CONTEXT + "/b/ping"); // the connection is open before the first takeover is timed
                    for (String s : sessions) {
                        long a = System.nanoTime();
                        Http.Reply first = h.get(Servers.CONTEXT + "/b/read", s);
                        long b = System.nanoTime();
                        String next = first.sessionId() != null ? first.sessionId() : s;
                        long c = System.nanoTime();
                        Http.Reply warm = h.get(Servers.CONTEXT + "/b/read", next);
                        long d = System.nanoTime();
                        if (first.status() != 200 || !"2".equals(first.value("counter")) || warm.status() != 200) {
                            failures++;
                            continue;
                        }
                        samples.add(new double[] {(b - a) / 1e6, (d - c) / 1e6});
                    }
                }
                if (measured) {
                    Results.Failover f = new Results.Failover(v, samples, failures);
                    r.failovers.add(f);
                    Log.info("  takeover: median first request %.2f ms, warm %.2f ms, added %.2f ms (p90 %.2f), first ever %.2f ms,"
                            + " %d of %d sessions lost", f.medianTakeoverMs(), f.medianWarmMs(), f.medianAddedMs(), f.p90AddedMs(),
                            f.firstTakeoverMs(), failures, sessions.size());
                    if (failures > 0) {
                        r.notes.add(v.id + " failover: " + failures + " of " + sessions.size()
                                + " sessions not served with their data at node2 (see " + node2.logFile() + ")");
                    }
                }
            }
        } finally {
            node1.kill9();
            node2.kill9();
        }
    }

    /** Creates n sessions of the benchmark's shape (4 clients in parallel); answers their cookie values. */
    static List<String> createSessions(ServerNode node, int n) throws Exception {
        return createSessions(node.port(), n, false);
    }

    /** Creates n sessions at a port (a server's or a balancer's), of the micro workloads' shape or the page's. */
    static List<String> createSessions(int port, int n, boolean page) throws Exception {
        List<String> cookies = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                futures.add(pool.submit(() -> {
                    try (Http.Connection h = Http.keepAlive("127.0.0.1", port)) {
                        while (next.getAndIncrement() < n) {
                            Http.Reply reply = h.get(Servers.CONTEXT + "/b/create" + (page ? "?shape=page" : ""));
                            String cookie = reply.sessionId();
                            if (reply.status() != 200 || cookie == null) {
                                throw new IllegalStateException("port " + port + ": /b/create answered " + reply.status()
                                        + " without a session cookie: " + reply.body());
                            }
                            cookies.add(cookie);
                        }
                    }
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                f.get(10, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        return new ArrayList<>(cookies);
    }

    /** jcmd GC.class_histogram: class name → {instances, bytes}; empty if jcmd fails. */
    static Map<String, long[]> histogram(ServerNode node) {
        Map<String, long[]> m = new LinkedHashMap<>();
        try {
            String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
            String out = Processes.run(null, Duration.ofSeconds(120), jcmd, String.valueOf(node.pid()), "GC.class_histogram");
            for (String line : out.split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 4 && f[0].endsWith(":") && !f[0].equals("Total")) {
                    m.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
                }
            }
        } catch (Exception e) {
            Log.info("  (no class histogram: %s)", e.getMessage());
        }
        return m;
    }

    static long heap(ServerNode node) {
        Http.Reply reply = Http.get(node.port(), Servers.CONTEXT + "/b/heap", null);
        if (reply.status() != 200) {
            throw new IllegalStateException("/b/heap answered " + reply.status());
        }
        return Long.parseLong(reply.value("heapUsed"));
    }

    /** Seconds of CPU redis-server has used (user + system). */
    static double cpuSeconds(RedisProcess redis) {
        Map<String, String> cpu = redis.info("cpu");
        return Double.parseDouble(cpu.get("used_cpu_user")) + Double.parseDouble(cpu.get("used_cpu_sys"));
    }

    static long usedMemory(RedisProcess redis) {
        return Long.parseLong(redis.info("memory").get("used_memory"));
    }

    /** Calls per command since the last CONFIG RESETSTAT, without the harness's own INFO/CONFIG. */
    static Map<String, Long> commandCalls(RedisProcess redis) {
        Map<String, Long> calls = new LinkedHashMap<>(redis.commandCallsByName());
        calls.keySet().removeIf(c -> c.equals("info") || c.startsWith("config"));
        return calls;
    }

    static String now() {
        return ZonedDateTime.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    }
}
