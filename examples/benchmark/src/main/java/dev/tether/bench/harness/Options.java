package dev.tether.bench.harness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The harness's settings, from {@code --name=value} arguments (run.sh passes them). Three modes set
 * the defaults: {@code full} (the benchmark), {@code quick} (a few minutes, rough numbers) and
 * {@code smoke} (CI: every row produced, numbers meaningless).
 */
final class Options {

    String mode = "full";
    Path outDir;
    Path workDir;
    Path tomcatHome;
    Path jettyHome;
    Path tetherJar;
    Path jettyArchive;
    Path war;
    List<Path> redissonJars = new ArrayList<>();
    String wrk = "wrk";
    Path lua;
    String tomcatVersion = "?";
    String jettyVersion = "?";
    String redissonVersion = "?";
    String jvmOpts = "-Xms512m -Xmx512m -XX:+UseG1GC";
    List<Variant> variants = new ArrayList<>(List.of(Variant.values()));
    List<Variant> profile = new ArrayList<>();
    /** Variants whose write requests async-profiler breaks down side by side (needs asyncProfiler). */
    List<Variant> breakdown = new ArrayList<>();
    Path asyncProfiler;

    int rounds = 1;
    int duration;
    /** Warm-up before each measured run: at least this many seconds, then on until the JIT compiler is quiet, at most warmupMax. */
    int warmup;
    int warmupMax;
    List<Workload> workloads = new ArrayList<>(List.of(Workload.values()));
    /** The workloads of the two-node variants behind HAProxy. */
    List<Workload> balancedWorkloads = new ArrayList<>(List.of(Workload.READ, Workload.WRITE));
    /** The haproxy binary; null if not installed (the two-node variants are then skipped, with a note). */
    Path haproxy;
    int threads = 2;
    int connections = 8;
    int sessions = 1000;
    int memorySessions = 10_000;
    int failoverSessions;
    boolean failoverWarmupRound;

    static Options parse(String[] args) {
        Map<String, String> a = new LinkedHashMap<>();
        for (String arg : args) {
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + arg);
            }
            int eq = arg.indexOf('=');
            a.put(eq < 0 ? arg.substring(2) : arg.substring(2, eq), eq < 0 ? "true" : arg.substring(eq + 1));
        }
        Options o = new Options();
        o.mode = a.getOrDefault("mode", "full");
        switch (o.mode) {
            case "full" -> {
                // Five short rounds rather than three long ones: on a noisy machine the median of five
                // per-round ratios survives two disturbed rounds.
                o.duration = 6;
                o.warmup = 5;
                o.warmupMax = 30;
                o.rounds = 5;
                o.failoverSessions = 50;
                o.failoverWarmupRound = true;
                o.profile = new ArrayList<>(List.of(Variant.TOMCAT_TETHER, Variant.JETTY_TETHER));
                o.breakdown = new ArrayList<>(List.of(Variant.TOMCAT_MEMORY, Variant.TOMCAT_FLOOR_LETTUCE, Variant.TOMCAT_TETHER,
                        Variant.JETTY_MEMORY, Variant.JETTY_TETHER));
            }
            case "quick" -> {
                o.duration = 2;
                o.warmup = 2;
                o.warmupMax = 10;
                o.failoverSessions = 20;
                o.failoverWarmupRound = false;
                o.memorySessions = 5000;
            }
            case "smoke" -> {
                o.duration = 1;
                o.warmup = 1;
                o.warmupMax = 1;
                o.sessions = 500;
                o.failoverSessions = 5;
                o.failoverWarmupRound = false;
                o.memorySessions = 1000;
                o.breakdown = new ArrayList<>(List.of(Variant.TOMCAT_MEMORY, Variant.TOMCAT_TETHER)); // proves the tooling works
                // CI: the rows the smoke test checks; the asyncWrites, page and two-node runs are left to quick and full mode
                o.variants = new ArrayList<>(List.of(Variant.values()).stream()
                        .filter(v -> !v.isBalanced() && v != Variant.TOMCAT_TETHER_ASYNC).toList());
                o.workloads = new ArrayList<>(List.of(Workload.READ, Workload.WRITE, Workload.MIX));
            }
            default -> throw new IllegalArgumentException("--mode is full, quick or smoke, not " + o.mode);
        }
        o.outDir = path(a, "out", true);
        o.workDir = path(a, "work", true);
        o.tomcatHome = path(a, "tomcat-home", false);
        o.jettyHome = path(a, "jetty-home", false);
        o.tetherJar = path(a, "tether-jar", false);
        o.jettyArchive = path(a, "jetty-archive", false);
        o.war = path(a, "war", false);
        o.lua = path(a, "lua", false);
        for (String j : a.getOrDefault("redisson-jars", "").split(",")) {
            if (!j.isBlank()) {
                Path p = Path.of(j).toAbsolutePath();
                if (!Files.isRegularFile(p)) {
                    throw new IllegalArgumentException("no such file: " + p);
                }
                o.redissonJars.add(p);
            }
        }
        o.wrk = a.getOrDefault("wrk", o.wrk);
        o.tomcatVersion = a.getOrDefault("tomcat-version", o.tomcatVersion);
        o.jettyVersion = a.getOrDefault("jetty-version", o.jettyVersion);
        o.redissonVersion = a.getOrDefault("redisson-version", o.redissonVersion);
        o.jvmOpts = a.getOrDefault("jvm-opts", o.jvmOpts);
        if (a.containsKey("variants")) {
            o.variants = new ArrayList<>(Arrays.stream(a.get("variants").split(",")).map(Variant::byId).toList());
        }
        if (a.containsKey("workloads")) {
            o.workloads = new ArrayList<>(Arrays.stream(a.get("workloads").split(",")).map(Workload::byMode).toList());
        }
        if (a.containsKey("balanced-workloads")) {
            o.balancedWorkloads = new ArrayList<>(Arrays.stream(a.get("balanced-workloads").split(",")).map(Workload::byMode).toList());
        }
        if (a.containsKey("haproxy") && !a.get("haproxy").isBlank()) {
            o.haproxy = Path.of(a.get("haproxy")).toAbsolutePath();
        }
        if (a.containsKey("breakdown")) {
            String b = a.get("breakdown");
            o.breakdown = b.equals("none") || b.isBlank() ? new ArrayList<>()
                    : new ArrayList<>(Arrays.stream(b.split(",")).map(Variant::byId).toList());
        }
        if (a.containsKey("async-profiler") && !a.get("async-profiler").isBlank()) {
            o.asyncProfiler = Path.of(a.get("async-profiler")).toAbsolutePath();
        }
        if (a.containsKey("profile")) {
            String p = a.get("profile");
            o.profile = p.equals("none") || p.isBlank() ? new ArrayList<>()
                    : new ArrayList<>(Arrays.stream(p.split(",")).map(Variant::byId).toList());
        }
        o.rounds = integer(a, "rounds", o.rounds);
        o.duration = integer(a, "duration", o.duration);
        o.warmup = integer(a, "warmup", o.warmup);
        o.warmupMax = Math.max(o.warmup, integer(a, "warmup-max", o.warmupMax));
        o.threads = integer(a, "threads", o.threads);
        o.connections = integer(a, "connections", o.connections);
        o.sessions = integer(a, "sessions", o.sessions);
        o.memorySessions = integer(a, "memory-sessions", o.memorySessions);
        o.failoverSessions = integer(a, "failover-sessions", o.failoverSessions);
        if (a.containsKey("failover-warmup-round")) {
            o.failoverWarmupRound = Boolean.parseBoolean(a.get("failover-warmup-round"));
        }
        if (o.rounds < 1 || o.duration < 1) {
            throw new IllegalArgumentException("--rounds and --duration must be at least 1");
        }
        if (o.connections < o.threads) {
            throw new IllegalArgumentException("wrk needs at least one connection per thread");
        }
        if (o.variants.stream().anyMatch(v -> v.impl.isRedisson()) && o.redissonJars.isEmpty()) {
            throw new IllegalArgumentException("the Redisson variant needs --redisson-jars");
        }
        return o;
    }

    private static Path path(Map<String, String> a, String key, boolean createOk) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        Path p = Path.of(v).toAbsolutePath().normalize();
        if (!createOk && !Files.exists(p)) {
            throw new IllegalArgumentException("--" + key + ": no such file or directory: " + p);
        }
        return p;
    }

    private static int integer(Map<String, String> a, String key, int dflt) {
        return a.containsKey(key) ? Integer.parseInt(a.get(key)) : dflt;
    }

    boolean has(Variant v) {
        return variants.contains(v);
    }
}
