package dev.tether.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** results.md (tables), results.json and results.csv (raw numbers), throughput.svg (plot), profile.md. */
final class Report {

    private Report() {
    }

    static void write(Options o, Results r) throws IOException {
        Files.createDirectories(o.outDir);
        Files.writeString(o.outDir.resolve("results.md"), markdown(o, r));
        Files.writeString(o.outDir.resolve("results.csv"), csv(r));
        Files.writeString(o.outDir.resolve("results.json"), Json.write(json(o, r)));
        Files.writeString(o.outDir.resolve("throughput.svg"), Svg.throughput(o, r));
        Files.deleteIfExists(o.outDir.resolve("profile.md"));
        if (!r.profiles.isEmpty() || !r.breakdown.isEmpty() || r.breakdownSkipped != null) {
            StringBuilder sb = new StringBuilder("# Where the time goes (async-profiler, JFR)\n\n");
            sb.append("Recorded by `examples/benchmark/run.sh` on ").append(r.machine.get("date")).append(", during extra write-every-request")
                    .append(" runs after the measured ones (so the profilers do not touch the table's numbers). See results.md for the machine.\n\n");
            if (!r.breakdown.isEmpty()) {
                sb.append(CpuBreakdown.markdown(r.breakdown));
            } else if (r.breakdownSkipped != null) {
                sb.append("## CPU per write request, side by side (async-profiler)\n\nNot made: ").append(r.breakdownSkipped).append("\n\n");
            }
            r.profiles.values().forEach(p -> sb.append(p.markdown()));
            Files.writeString(o.outDir.resolve("profile.md"), sb.toString());
        }
    }

    static String f(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static String ratio(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "n/a" : String.format(Locale.ROOT, "%.2f×", v);
    }

    static String serverLabel(Options o, Variant.Server s) {
        return switch (s) {
            case TOMCAT -> "Tomcat " + o.tomcatVersion;
            case JETTY -> "Jetty " + o.jettyVersion;
            case TOMCAT_PAIR -> "2 × Tomcat " + o.tomcatVersion + " behind HAProxy";
        };
    }

    static String variantLabel(Options o, Variant v) {
        return v.impl.isRedisson() ? v.label().replaceFirst("^Redisson", "Redisson " + o.redissonVersion) : v.label();
    }

    static double rpsRatio(Results r, Results.Run run) {
        return ratio(run, r.run(run.variant().baseline(), run.workload()), Wrk.Result::rps);
    }

    static double p50Ratio(Results r, Results.Run run) {
        return ratio(run, r.run(run.variant().baseline(), run.workload()), Wrk.Result::p50Ms);
    }

    static double p99Ratio(Results r, Results.Run run) {
        return ratio(run, r.run(run.variant().baseline(), run.workload()), Wrk.Result::p99Ms);
    }

    /**
     * a ÷ b for one metric: the median of the per-round ratios, each taken between runs of the same
     * round (a few minutes apart at most), so that a slow spell of a noisy machine that hits one
     * round hits both sides of its ratio; with unequal rounds, the ratio of the medians.
     */
    static double ratio(Results.Run a, Results.Run b, java.util.function.ToDoubleFunction<Wrk.Result> metric) {
        if (a == null || b == null) {
            return Double.NaN;
        }
        if (a.rounds() == null || b.rounds() == null || a.rounds().size() != b.rounds().size() || a.rounds().isEmpty()) {
            return metric.applyAsDouble(a.wrk()) / metric.applyAsDouble(b.wrk());
        }
        List<Double> perRound = new ArrayList<>();
        for (int i = 0; i < a.rounds().size(); i++) {
            perRound.add(metric.applyAsDouble(a.rounds().get(i)) / metric.applyAsDouble(b.rounds().get(i)));
        }
        return Stats.percentile(perRound, 50);
    }

    /** Runs in report order: server, workload, variant. */
    static List<Results.Run> ordered(Results r) {
        List<Results.Run> l = new ArrayList<>();
        for (Variant.Server s : Variant.Server.values()) {
            for (Workload w : Workload.values()) {
                for (Variant v : Variant.values()) {
                    if (v.server == s && r.run(v, w) != null) {
                        l.add(r.run(v, w));
                    }
                }
            }
        }
        return l;
    }

    private static String markdown(Options o, Results r) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Tether benchmark: in-memory vs Tether vs Redisson\n\n");
        if (!o.mode.equals("full")) {
            sb.append("> **").append(o.mode).append(" mode**: ").append(o.duration)
                    .append(" s runs. Rough numbers only; the benchmark proper is `examples/benchmark/run.sh` without options.\n\n");
        }
        sb.append("Produced by `examples/benchmark/run.sh").append(o.mode.equals("full") ? "" : " --" + o.mode)
                .append("`. All variants ran one after the other in one run on one machine, each against the same bench.war,")
                .append(" the same JVM flags and the same load; ratios are to the in-memory variant of the same server in this run.")
                .append(" Raw numbers: [results.json](results.json), [results.csv](results.csv).\n\n");

        sb.append("## Throughput and latency\n\n");
        sb.append("| server | variant | workload | req/s | req/s × in-memory | p50 ms | p50 × | p99 ms | p99 × | errors |\n");
        sb.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Results.Run run : ordered(r)) {
            Wrk.Result w = run.wrk();
            sb.append("| ").append(serverLabel(o, run.variant().server)).append(" | ").append(variantLabel(o, run.variant())).append(" | ")
                    .append(run.workload().label).append(" | ").append(f(w.rps(), 0)).append(" | ").append(ratio(rpsRatio(r, run)))
                    .append(" | ").append(f(w.p50Ms(), 2)).append(" | ").append(ratio(p50Ratio(r, run))).append(" | ")
                    .append(f(w.p99Ms(), 2)).append(" | ").append(ratio(p99Ratio(r, run))).append(" | ").append(w.errors()).append(" |\n");
        }
        sb.append("\n![throughput relative to in-memory](throughput.svg)\n\n");
        if (o.rounds > 1) {
            sb.append("Medians over ").append(o.rounds).append(" rounds; each round's numbers are in results.json. Ratios are the medians")
                    .append(" of the per-round ratios (both sides measured in the same round, minutes apart), which a slow spell of the")
                    .append(" machine in one round cannot tilt; req/s and latency columns are the medians of the rounds. ");
        }
        sb.append("Latency as wrk measures it (from sending a request to its response, per connection, closed loop).")
                .append(" errors: connect/read/write errors, timeouts and non-2xx answers (a lost session answers 410 or 500).\n\n");

        sb.append("## Cost per request\n\n");
        sb.append("| server | variant | workload | Redis cmds/req | Redis round trips/req | server CPU µs/req | kernel | JIT compiler")
                .append(" | GC | server context switches/req | Redis CPU µs/req |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Results.Run run : ordered(r)) {
            sb.append("| ").append(serverLabel(o, run.variant().server)).append(" | ").append(variantLabel(o, run.variant())).append(" | ")
                    .append(run.workload().label).append(" | ").append(f(run.redisCommandsPerRequest(), 3)).append(" | ")
                    .append(run.roundTrips() == null ? "n/a" : f(run.roundTrips().perRequest(), 3)).append(" | ")
                    .append(f(run.serverCpuUsPerRequest(), 0)).append(" | ").append(f(100 * run.serverSystemShare(), 0)).append(" % | ")
                    .append(f(100 * run.serverJitShare(), 0)).append(" % | ").append(f(100 * run.serverGcShare(), 0)).append(" % | ")
                    .append(f(run.serverContextSwitchesPerRequest(), 2)).append(" | ")
                    .append(f(run.redisCpuUsPerRequest(), 1)).append(" |\n");
        }
        sb.append("\nRedis cmds/req: all commands Redis executed during the measured runs (INFO commandstats after CONFIG RESETSTAT,")
                .append(" the harness's own INFO/CONFIG left out) ÷ requests; this counts the commands Lua scripts call inside Redis too.")
                .append(" Redis round trips/req: commands the clients sent (MONITOR during the last step of the round-1 warm-up, script-internal calls left out)")
                .append(" ÷ that run's requests. Server CPU µs/req: CPU time of the server JVM during the measured runs ÷ requests;")
                .append(" from /proc, the shares of it spent in the kernel, by the JIT compiler threads (a high share means the code was not")
                .append(" warm yet) and by GC threads, and context switches (voluntary + involuntary, all threads). Redis CPU µs/req: the same for")
                .append(" redis-server. wrk's own CPU is not counted; on a 2-core machine server, Redis and wrk share the cores, so CPU per")
                .append(" request bounds throughput.\n\n");

        if (o.has(Variant.TOMCAT_TETHER) && o.has(Variant.TOMCAT_REDISSON)) {
            sb.append("## Tether vs Redisson (Tomcat)\n\n| workload | Tether req/s | Redisson req/s | Tether ÷ Redisson | Tether p99 ms |")
                    .append(" Redisson p99 ms | Redis cmds/req Tether | Redis cmds/req Redisson |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for (Workload w : Workload.values()) {
                Results.Run t = r.run(Variant.TOMCAT_TETHER, w);
                Results.Run d = r.run(Variant.TOMCAT_REDISSON, w);
                if (t == null || d == null) {
                    continue;
                }
                sb.append("| ").append(w.label).append(" | ").append(f(t.wrk().rps(), 0)).append(" | ").append(f(d.wrk().rps(), 0))
                        .append(" | ").append(ratio(ratio(t, d, Wrk.Result::rps))).append(" | ").append(f(t.wrk().p99Ms(), 2))
                        .append(" | ").append(f(d.wrk().p99Ms(), 2)).append(" | ").append(f(t.redisCommandsPerRequest(), 3))
                        .append(" | ").append(f(d.redisCommandsPerRequest(), 3)).append(" |\n");
            }
            sb.append('\n');
        }

        floor(o, r, sb);
        page(o, r, sb);
        balanced(o, r, sb);

        sb.append("## Failover takeover (Tomcat, two nodes, kill -9)\n\n");
        sb.append("| server | variant | sessions | first request at node2, median ms | warm request, median ms | added, median ms")
                .append(" | added, p90 ms | first takeover after the kill, ms | sessions lost |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Results.Failover fo : r.failovers) {
            sb.append("| ").append(serverLabel(o, fo.variant().server)).append(" | ").append(variantLabel(o, fo.variant())).append(" | ")
                    .append(fo.samplesMs().size() + fo.failures()).append(" | ").append(f(fo.medianTakeoverMs(), 2)).append(" | ")
                    .append(f(fo.medianWarmMs(), 2)).append(" | ").append(f(fo.medianAddedMs(), 2)).append(" | ")
                    .append(f(fo.p90AddedMs(), 2)).append(" | ").append(f(fo.firstTakeoverMs(), 2)).append(" | ")
                    .append(fo.failures()).append(" |\n");
        }
        sb.append("\nEach session is written twice on node1, node1 is killed with kill -9, then each session's first request")
                .append(" goes to node2 with node1's cookie (load from Redis, take ownership) and a second one with the cookie node2 answered")
                .append(" (served from node2's memory). In-memory sessions do not survive a failover, so they have no row.\n\n");

        sb.append("## Memory per 10,000 sessions\n\n| server | variant | heap MiB per 10,000 sessions | heap × in-memory")
                .append(" | Redis MiB per 10,000 sessions | measured with |\n|---|---|---:|---:|---:|---:|\n");
        for (Variant.Server s : Variant.Server.values()) {
            for (Variant v : Variant.values()) {
                Results.Memory m = r.memory(v);
                if (v.server != s || m == null) {
                    continue;
                }
                Results.Memory base = r.memory(v.baseline());
                sb.append("| ").append(serverLabel(o, s)).append(" | ").append(variantLabel(o, v)).append(" | ")
                        .append(f(m.heapMiBPer10k(), 1)).append(" | ")
                        .append(base == null ? "n/a" : ratio(m.heapMiBPer10k() / base.heapMiBPer10k())).append(" | ")
                        .append(f(m.redisMiBPer10k(), 1)).append(" | ").append(m.sessions()).append(" sessions |\n");
            }
        }
        sb.append("\nSessions of the benchmark's shape (a 1 KiB String and an Integer). Heap: used heap after System.gc() in the server,")
                .append(" after minus before creating them; the sessions' raw data is about 1 KiB each, about 10 MiB for 10,000.")
                .append(" Where it goes, from `jcmd GC.class_histogram` before and after (bytes per session, largest classes):\n\n");
        for (Results.Memory m : r.memory) {
            if (m.topClasses().isEmpty()) {
                continue;
            }
            List<String> parts = new ArrayList<>();
            m.topClasses().stream().limit(8).forEach(c -> parts.add("`" + c.className() + "` " + f((double) c.bytes() / m.sessions(), 0)
                    + " B (" + f((double) c.instances() / m.sessions(), 1) + "×)"));
            sb.append("- ").append(serverLabel(o, m.variant().server)).append(" ").append(variantLabel(o, m.variant())).append(": ")
                    .append(String.join(", ", parts)).append('\n');
        }
        sb.append('\n');

        sb.append("## Targets\n\n| target | measured | met |\n|---|---|---|\n");
        for (String[] t : targets(r)) {
            sb.append("| ").append(t[0]).append(" | ").append(t[1]).append(" | ").append(t[2]).append(" |\n");
        }
        sb.append('\n');

        if (!r.profiles.isEmpty()) {
            sb.append("## Where Tether's time goes\n\nJFR during an extra write-every-request run; details in [profile.md](profile.md).\n\n");
            for (Profile.Summary p : r.profiles.values()) {
                sb.append("**").append(p.variant().server.label).append(" + Tether**: ").append(p.samples())
                        .append(" CPU samples, ").append(f(100.0 * p.samplesWithTether() / Math.max(1, p.samples()), 1))
                        .append(" % with a Tether frame on the stack. By component of the top frame: ");
                List<String> parts = new ArrayList<>();
                p.components().stream().limit(6).forEach(c -> parts.add(c.name() + " " + f(100.0 * c.count() / Math.max(1, p.samples()), 1) + " %"));
                sb.append(String.join(", ", parts)).append(".\n\n");
            }
        }

        if (!r.notes.isEmpty()) {
            sb.append("## Notes\n\n");
            r.notes.forEach(n -> sb.append("- ").append(n).append('\n'));
            sb.append('\n');
        }

        sb.append("## Machine\n\n| | |\n|---|---|\n");
        r.machine.forEach((k, v) -> sb.append("| ").append(k).append(" | ").append(v.replace("|", "\\|")).append(" |\n"));
        sb.append("\n## Settings\n\n| | |\n|---|---|\n");
        r.settings.forEach((k, v) -> sb.append("| ").append(k).append(" | `").append(v.replace("|", "\\|")).append("` |\n"));
        return sb.toString();
    }

    /**
     * Tether next to the floor variants: in-memory sessions plus one acknowledged Redis round trip
     * per changed request, which bounds every store that answers only after Redis has the change.
     */
    private static void floor(Options o, Results r, StringBuilder sb) {
        Variant lettuce = Variant.TOMCAT_FLOOR_LETTUCE;
        Variant socket = Variant.TOMCAT_FLOOR_SOCKET;
        if (!o.has(Variant.TOMCAT_TETHER) || !(o.has(lettuce) || o.has(socket))) {
            return;
        }
        sb.append("## The floor: what one acknowledged Redis round trip costs (Tomcat)\n\n")
                .append("Two yardsticks that are not session stores: in-memory sessions (StandardManager) plus one Redis `SET` per")
                .append(" changed request, answered before the response, as every store must that keeps \"nothing lost after a 2xx\".")
                .append(" *Lettuce*: a synchronous call on one shared Lettuce connection, the client Tether uses (the request thread hands")
                .append(" the command to Lettuce's event loop and sleeps until the answer). *Blocking socket*: the request thread writes the")
                .append(" command and reads the answer on a socket of its own, with no other thread involved: the cheapest round trip Java")
                .append(" can make. Neither does any session work (no fencing, no serialization), so Tether cannot beat them by much;")
                .append(" how close it gets is what its own code costs.\n\n")
                .append("| workload | Tether × in-memory | Lettuce floor × in-memory | blocking-socket floor × in-memory | Tether ÷ Lettuce floor")
                .append(" | Tether ÷ blocking-socket floor | Tether asyncWrites × in-memory")
                .append(" | context switches/req: in-memory, Tether, Lettuce floor, socket floor |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Workload w : Workload.values()) {
            Results.Run t = r.run(Variant.TOMCAT_TETHER, w);
            Results.Run m = r.run(Variant.TOMCAT_MEMORY, w);
            if (t == null || m == null || w == Workload.PAGE) {
                continue;
            }
            Results.Run l = r.run(lettuce, w);
            Results.Run k = r.run(socket, w);
            sb.append("| ").append(w.label).append(" | ").append(ratio(rpsRatio(r, t))).append(" | ")
                    .append(l == null ? "n/a" : ratio(rpsRatio(r, l))).append(" | ").append(k == null ? "n/a" : ratio(rpsRatio(r, k)))
                    .append(" | ").append(l == null ? "n/a" : ratio(ratio(t, l, Wrk.Result::rps))).append(" | ")
                    .append(k == null ? "n/a" : ratio(ratio(t, k, Wrk.Result::rps))).append(" | ");
            Results.Run async = r.run(Variant.TOMCAT_TETHER_ASYNC, w);
            sb.append(async == null ? "n/a" : ratio(rpsRatio(r, async))).append(" | ");
            List<String> cs = new ArrayList<>();
            for (Results.Run x : new Results.Run[] {m, t, l, k}) {
                cs.add(x == null ? "n/a" : f(x.serverContextSwitchesPerRequest(), 2));
            }
            sb.append(String.join(", ", cs)).append(" |\n");
        }
        sb.append("\nOn a machine where the server, Redis and the load generator share two cores, a request that waits for Redis")
                .append(" costs its thread a sleep and a wake-up (and Lettuce's event loop one more of each) on top of the round trip itself;")
                .append(" the context-switch column shows them. A throughput ratio the floors do not reach is out of reach for Tether too.\n\n");
        if (!r.breakdown.isEmpty()) {
            sb.append("Where the server's CPU per write request goes, measured with async-profiler side by side, is in")
                    .append(" [profile.md](profile.md#cpu-per-write-request-side-by-side-async-profiler).\n\n");
        }
    }

    /** The page workload: the ratio an administrator should quote, with what a page and a session weigh. */
    private static void page(Options o, Results r, StringBuilder sb) {
        List<Results.Run> runs = new ArrayList<>();
        for (Results.Run run : ordered(r)) {
            if (run.workload() == Workload.PAGE && !run.variant().isBalanced()) {
                runs.add(run);
            }
        }
        if (runs.isEmpty()) {
            return;
        }
        sb.append("## A page that does real work: JSP page 80/20\n\n")
                .append("`page.jsp` renders a cart of 30 items, 30 recommendations and the user's profile through EL, about ")
                .append(f(runs.get(0).wrk().bytesPerRequest() / 1024, 1)).append(" KiB per response (headers included), from a session of ")
                .append(r.settings.getOrDefault("page session (serialized attributes)", "?"))
                .append(" (its attributes' Java serialization). 80 % of the requests only render; 20 % also change one cart line in place and")
                .append(" set the cart and a counter again. The same sessions' micro workloads are in the tables above.\n\n")
                .append("| server | variant | req/s | req/s × in-memory | p50 ms | p99 ms | server CPU µs/req | Redis cmds/req | errors |\n")
                .append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Results.Run run : runs) {
            sb.append("| ").append(serverLabel(o, run.variant().server)).append(" | ").append(variantLabel(o, run.variant())).append(" | ")
                    .append(f(run.wrk().rps(), 0)).append(" | ").append(ratio(rpsRatio(r, run))).append(" | ").append(f(run.wrk().p50Ms(), 2))
                    .append(" | ").append(f(run.wrk().p99Ms(), 2)).append(" | ").append(f(run.serverCpuUsPerRequest(), 0)).append(" | ")
                    .append(f(run.redisCommandsPerRequest(), 3)).append(" | ").append(run.wrk().errors()).append(" |\n");
        }
        sb.append('\n');
    }

    /** Two Tomcat nodes behind HAProxy (issue 14): shared mode behind round-robin against the sticky ceiling and Redisson. */
    private static void balanced(Options o, Results r, StringBuilder sb) {
        List<Results.Run> runs = new ArrayList<>();
        for (Results.Run run : ordered(r)) {
            if (run.variant().isBalanced()) {
                runs.add(run);
            }
        }
        if (runs.isEmpty()) {
            return;
        }
        sb.append("## Behind a balancer: two Tomcat nodes behind HAProxy\n\n")
                .append("Measured as a group of their own after the single-server variants were stopped, with the rounds interleaved the same")
                .append(" way. Every variant is two Tomcat nodes (jvmRoute node1, node2) behind one HAProxy (one thread); wrk talks to HAProxy.")
                .append(" *sticky*: HAProxy sends a request to the node named after the first dot of its JSESSIONID; *round-robin*:")
                .append(" `balance roundrobin` and nothing else, so consecutive requests of a session alternate between the nodes.")
                .append(" Ratios are to in-memory sessions behind the sticky balancer, the ceiling (in-memory sessions cannot be served")
                .append(" without affinity at all). CPU is both nodes' together.\n\n")
                .append("| variant | workload | req/s | req/s × in-memory sticky | ÷ Redisson round-robin | p50 ms | p99 ms | server CPU µs/req")
                .append(" | Redis cmds/req | Redis round trips/req | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Results.Run run : runs) {
            Results.Run redisson = r.run(Variant.BALANCED_REDISSON_RR, run.workload());
            sb.append("| ").append(variantLabel(o, run.variant())).append(" | ").append(run.workload().label).append(" | ")
                    .append(f(run.wrk().rps(), 0)).append(" | ").append(ratio(rpsRatio(r, run))).append(" | ")
                    .append(redisson == null || run.variant() == Variant.BALANCED_REDISSON_RR ? "" : ratio(ratio(run, redisson, Wrk.Result::rps)))
                    .append(" | ").append(f(run.wrk().p50Ms(), 2)).append(" | ").append(f(run.wrk().p99Ms(), 2)).append(" | ")
                    .append(f(run.serverCpuUsPerRequest(), 0)).append(" | ").append(f(run.redisCommandsPerRequest(), 3)).append(" | ")
                    .append(run.roundTrips() == null ? "n/a" : f(run.roundTrips().perRequest(), 3)).append(" | ")
                    .append(run.wrk().errors()).append(" |\n");
        }
        sb.append('\n');
    }

    /** A target row on one ratio, if both runs exist. */
    private static void target(List<String[]> t, String what, double value, double goal) {
        if (!Double.isNaN(value)) {
            t.add(new String[] {what, ratio(value), value >= goal ? "yes" : "**no**"});
        }
    }

    private static double ratioOf(Results r, Variant a, Variant b, Workload w) {
        return ratio(r.run(a, w), r.run(b, w), Wrk.Result::rps);
    }

    /** {target, measured, met} rows. */
    static List<String[]> targets(Results r) {
        List<String[]> t = new ArrayList<>();
        for (Variant v : List.of(Variant.TOMCAT_TETHER, Variant.JETTY_TETHER)) {
            String s = v.server.label;
            Results.Run read = r.run(v, Workload.READ);
            if (read != null && r.run(v.baseline(), Workload.READ) != null) {
                double x = rpsRatio(r, read);
                t.add(new String[] {s + ": Tether ≥ 0.90 × in-memory throughput, read-only", ratio(x), x >= 0.90 ? "yes" : "**no**"});
            }
            Results.Run write = r.run(v, Workload.WRITE);
            if (write != null && r.run(v.baseline(), Workload.WRITE) != null) {
                double x = rpsRatio(r, write);
                t.add(new String[] {s + ": Tether ≥ 0.70 × in-memory throughput, write-every-request", ratio(x), x >= 0.70 ? "yes" : "**no**"});
            }
            double worst = 0;
            String where = "";
            for (Workload w : Workload.values()) {
                Results.Run run = r.run(v, w);
                if (run != null && r.run(v.baseline(), w) != null && p99Ratio(r, run) > worst) {
                    worst = p99Ratio(r, run);
                    where = w.label;
                }
            }
            if (!where.isEmpty()) {
                t.add(new String[] {s + ": Tether p99 ≤ 1.5 × in-memory, every workload", "worst " + ratio(worst) + " (" + where + ")",
                        worst <= 1.5 ? "yes" : "**no**"});
            }
        }
        double worst = Double.MAX_VALUE;
        String where = "";
        for (Workload w : Workload.values()) {
            Results.Run a = r.run(Variant.TOMCAT_TETHER, w);
            Results.Run b = r.run(Variant.TOMCAT_REDISSON, w);
            if (a != null && b != null && ratio(a, b, Wrk.Result::rps) < worst) {
                worst = ratio(a, b, Wrk.Result::rps);
                where = w.label;
            }
        }
        if (!where.isEmpty()) {
            t.add(new String[] {"Tomcat: Tether ≥ 10 × Redisson throughput, every workload", "worst " + ratio(worst) + " (" + where + ")",
                    worst >= 10 ? "yes" : "**no**"});
        }
        // issue 16: the write path against the round-trip floors, and the asynchronous write mode
        target(t, "Tomcat: Tether ≥ 0.95 × the Lettuce floor, write-every-request",
                ratioOf(r, Variant.TOMCAT_TETHER, Variant.TOMCAT_FLOOR_LETTUCE, Workload.WRITE), 0.95);
        target(t, "Tomcat: Tether ≥ 0.85 × the blocking-socket floor, write-every-request",
                ratioOf(r, Variant.TOMCAT_TETHER, Variant.TOMCAT_FLOOR_SOCKET, Workload.WRITE), 0.85);
        target(t, "Tomcat: Tether asyncWrites ≥ 0.85 × in-memory, write-every-request",
                ratioOf(r, Variant.TOMCAT_TETHER_ASYNC, Variant.TOMCAT_MEMORY, Workload.WRITE), 0.85);
        // issue 14: two nodes behind HAProxy
        target(t, "2 nodes: Tether shared behind round-robin ≥ 0.85 × in-memory behind a sticky balancer, read-only",
                ratioOf(r, Variant.BALANCED_TETHER_SHARED_RR, Variant.BALANCED_MEMORY_STICKY, Workload.READ), 0.85);
        for (Workload w : Workload.values()) {
            // Shared mode could be the default if it costs nothing measurable where sticky mode is at home.
            target(t, "2 nodes, sticky balancer: Tether shared ≥ 0.95 × Tether sticky, " + w.label,
                    ratioOf(r, Variant.BALANCED_TETHER_SHARED_STICKY, Variant.BALANCED_TETHER_STICKY, w), 0.95);
        }
        for (Workload w : Workload.values()) {
            target(t, "2 nodes: Tether shared ≥ 10 × Redisson (readMode REDIS), both behind round-robin, " + w.label,
                    ratioOf(r, Variant.BALANCED_TETHER_SHARED_RR, Variant.BALANCED_REDISSON_RR, w), 10);
        }
        Results.Failover fo = r.failover(Variant.TOMCAT_TETHER);
        if (fo != null) {
            double added = fo.medianAddedMs();
            t.add(new String[] {"Tomcat: failover takeover adds < 5 ms to the first request (median)", f(added, 2) + " ms",
                    added < 5 && fo.failures() == 0 ? "yes" : "**no**"});
        }
        return t;
    }

    private static String csv(Results r) {
        StringBuilder sb = new StringBuilder("server,variant,workload,requests,seconds,rps,rps_ratio,p50_ms,p50_ratio,p90_ms,p99_ms,p99_ratio,")
                .append("p999_ms,mean_ms,max_ms,errors,redis_cmds,redis_cmds_per_req,redis_round_trips_per_req,server_cpu_us_per_req,server_kernel_share,server_jit_share,server_gc_share,server_ctx_switches_per_req,redis_cpu_us_per_req\n");
        for (Results.Run run : ordered(r)) {
            Wrk.Result w = run.wrk();
            sb.append(String.join(",", run.variant().server.label, run.variant().label(), run.workload().mode,
                    String.valueOf(w.requests()), f(w.seconds(), 3), f(w.rps(), 1), f(rpsRatio(r, run), 4), f(w.p50Ms(), 3),
                    f(p50Ratio(r, run), 4), f(w.p90Ms(), 3), f(w.p99Ms(), 3), f(p99Ratio(r, run), 4), f(w.p999Ms(), 3),
                    f(w.meanMs(), 3), f(w.maxMs(), 3), String.valueOf(w.errors()), String.valueOf(run.redisCommands()),
                    f(run.redisCommandsPerRequest(), 4), run.roundTrips() == null ? "" : f(run.roundTrips().perRequest(), 4),
                    f(run.serverCpuUsPerRequest(), 1), f(run.serverSystemShare(), 3), f(run.serverJitShare(), 3),
                    f(run.serverGcShare(), 3), f(run.serverContextSwitchesPerRequest(), 3), f(run.redisCpuUsPerRequest(), 2))).append('\n');
        }
        return sb.toString();
    }

    private static Map<String, Object> json(Options o, Results r) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("machine", r.machine);
        root.put("settings", r.settings);
        List<Object> runs = new ArrayList<>();
        for (Results.Run run : ordered(r)) {
            Wrk.Result w = run.wrk();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("server", run.variant().server.label);
            m.put("variant", run.variant().id);
            m.put("workload", run.workload().mode);
            m.put("requests", w.requests());
            m.put("seconds", w.seconds());
            m.put("rps", w.rps());
            m.put("rpsIs", "median over rounds; requests and seconds are totals");
            m.put("rpsRatioToInMemory", rpsRatio(r, run));
            List<Object> perRound = new ArrayList<>();
            for (Wrk.Result x : run.rounds()) {
                Map<String, Object> rr = new LinkedHashMap<>();
                rr.put("requests", x.requests());
                rr.put("seconds", x.seconds());
                rr.put("rps", x.rps());
                rr.put("p50Ms", x.p50Ms());
                rr.put("p99Ms", x.p99Ms());
                rr.put("errors", x.errors());
                perRound.add(rr);
            }
            m.put("rounds", perRound);
            Map<String, Object> lat = new LinkedHashMap<>();
            lat.put("mean", w.meanMs());
            lat.put("p50", w.p50Ms());
            lat.put("p90", w.p90Ms());
            lat.put("p99", w.p99Ms());
            lat.put("p99.9", w.p999Ms());
            lat.put("max", w.maxMs());
            m.put("latencyMs", lat);
            m.put("p50RatioToInMemory", p50Ratio(r, run));
            m.put("p99RatioToInMemory", p99Ratio(r, run));
            Map<String, Object> errors = new LinkedHashMap<>();
            errors.put("connect", w.errConnect());
            errors.put("read", w.errRead());
            errors.put("write", w.errWrite());
            errors.put("status", w.errStatus());
            errors.put("timeout", w.errTimeout());
            m.put("errors", errors);
            m.put("redisCommands", run.redisCommands());
            m.put("redisCommandsPerRequest", run.redisCommandsPerRequest());
            m.put("redisCallsByCommand", run.redisCalls());
            if (run.roundTrips() != null) {
                Map<String, Object> rt = new LinkedHashMap<>();
                rt.put("warmupRequests", run.roundTrips().requests());
                rt.put("clientCommands", run.roundTrips().topLevel());
                rt.put("scriptCommands", run.roundTrips().inScripts());
                rt.put("clientCommandsPerRequest", run.roundTrips().perRequest());
                rt.put("clientCommandsByCommand", run.roundTrips().topLevelByCommand());
                m.put("redisRoundTripsDuringWarmup", rt);
            }
            m.put("serverCpuSeconds", run.serverCpuSeconds());
            m.put("serverUserSeconds", run.serverProc().userSeconds());
            m.put("serverSystemSeconds", run.serverProc().systemSeconds());
            m.put("serverContextSwitches", run.serverProc().contextSwitches());
            m.put("serverJitCompilerSeconds", run.serverProc().jitSeconds());
            m.put("serverGcSeconds", run.serverProc().gcSeconds());
            m.put("redisCpuSeconds", run.redisCpuSeconds());
            runs.add(m);
        }
        root.put("runs", runs);
        List<Object> mem = new ArrayList<>();
        for (Results.Memory m : r.memory) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("variant", m.variant().id);
            x.put("sessions", m.sessions());
            x.put("heapUsedBefore", m.heapBefore());
            x.put("heapUsedAfter", m.heapAfter());
            x.put("redisUsedMemoryBefore", m.redisBefore());
            x.put("redisUsedMemoryAfter", m.redisAfter());
            x.put("heapMiBPer10k", m.heapMiBPer10k());
            x.put("redisMiBPer10k", m.redisMiBPer10k());
            List<Object> classes = new ArrayList<>();
            for (Results.ClassDelta c : m.topClasses()) {
                Map<String, Object> cd = new LinkedHashMap<>();
                cd.put("class", c.className());
                cd.put("instances", c.instances());
                cd.put("bytes", c.bytes());
                classes.add(cd);
            }
            x.put("addedByClass", classes);
            mem.add(x);
        }
        root.put("memory", mem);
        List<Object> fos = new ArrayList<>();
        for (Results.Failover fo : r.failovers) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("variant", fo.variant().id);
            x.put("sessions", fo.samplesMs().size() + fo.failures());
            x.put("lost", fo.failures());
            x.put("medianFirstRequestMs", fo.medianTakeoverMs());
            x.put("medianWarmRequestMs", fo.medianWarmMs());
            x.put("medianAddedMs", fo.medianAddedMs());
            x.put("p90AddedMs", fo.p90AddedMs());
            x.put("firstTakeoverMs", fo.firstTakeoverMs());
            List<Object> samples = new ArrayList<>();
            fo.samplesMs().forEach(s -> samples.add(List.of(s[0], s[1])));
            x.put("samplesFirstAndWarmMs", samples);
            fos.add(x);
        }
        root.put("failover", fos);
        List<Object> targets = new ArrayList<>();
        for (String[] t : targets(r)) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("target", t[0]);
            x.put("measured", t[1]);
            x.put("met", t[2].equals("yes"));
            targets.add(x);
        }
        root.put("targets", targets);
        List<Object> profiles = new ArrayList<>();
        r.profiles.values().forEach(p -> profiles.add(p.json()));
        root.put("profiles", profiles);
        List<Object> breakdown = new ArrayList<>();
        r.breakdown.forEach(b -> breakdown.add(b.json()));
        root.put("cpuBreakdown", breakdown);
        root.put("notes", r.notes);
        return root;
    }
}
