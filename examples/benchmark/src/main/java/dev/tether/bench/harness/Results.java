package dev.tether.bench.harness;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Everything one run of the harness measured. */
final class Results {

    /** One measured wrk run. */
    /** A variant under a workload: the median over rounds ({@code wrk}), each round, totals over rounds. */
    record Run(Variant variant, Workload workload, Wrk.Result wrk, List<Wrk.Result> rounds, Map<String, Long> redisCalls,
            double serverCpuSeconds, double redisCpuSeconds, ProcStat serverProc, RoundTrips roundTrips) {
        long redisCommands() {
            return redisCalls.values().stream().mapToLong(Long::longValue).sum();
        }

        double redisCommandsPerRequest() {
            return wrk.requests() == 0 ? Double.NaN : (double) redisCommands() / wrk.requests();
        }

        double serverCpuUsPerRequest() {
            return wrk.requests() == 0 ? Double.NaN : serverCpuSeconds * 1e6 / wrk.requests();
        }

        /** Share of the server's CPU time spent in the kernel (system time), from /proc. */
        double serverSystemShare() {
            double total = serverProc.userSeconds() + serverProc.systemSeconds();
            return total > 0 ? serverProc.systemSeconds() / total : Double.NaN;
        }

        /** Share of the server's CPU time spent by the JIT compiler threads: high means not yet warm. */
        double serverJitShare() {
            return serverProc.total() > 0 ? serverProc.jitSeconds() / serverProc.total() : Double.NaN;
        }

        /** Share of the server's CPU time spent by GC threads (and the VM thread). */
        double serverGcShare() {
            return serverProc.total() > 0 ? serverProc.gcSeconds() / serverProc.total() : Double.NaN;
        }

        double serverContextSwitchesPerRequest() {
            return wrk.requests() == 0 || serverProc.contextSwitches() < 0 ? Double.NaN
                    : (double) serverProc.contextSwitches() / wrk.requests();
        }

        double redisCpuUsPerRequest() {
            return wrk.requests() == 0 ? Double.NaN : redisCpuSeconds * 1e6 / wrk.requests();
        }
    }

    /** What MONITOR saw during the warm-up run: commands clients sent vs commands Lua scripts called. */
    record RoundTrips(long requests, long topLevel, long inScripts, Map<String, Long> topLevelByCommand) {
        double perRequest() {
            return requests == 0 ? Double.NaN : (double) topLevel / requests;
        }
    }

    /** Heap (after GC) and Redis memory before and after creating {@code sessions} sessions. */
    /** Live instances and bytes of one class that creating the sessions added. */
    record ClassDelta(String className, long instances, long bytes) {
    }

    record Memory(Variant variant, int sessions, long heapBefore, long heapAfter, long redisBefore, long redisAfter,
            List<ClassDelta> topClasses) {
        double heapMiBPer10k() {
            return (heapAfter - heapBefore) * (10_000.0 / sessions) / (1024 * 1024);
        }

        double redisMiBPer10k() {
            return (redisAfter - redisBefore) * (10_000.0 / sessions) / (1024 * 1024);
        }
    }

    /** Per session: the first request at the surviving node with the dead node's cookie, then a warm one. */
    record Failover(Variant variant, List<double[]> samplesMs, int failures) {
        List<Double> added() {
            return samplesMs.stream().map(s -> s[0] - s[1]).toList();
        }

        double medianAddedMs() {
            return Stats.percentile(added(), 50);
        }

        double p90AddedMs() {
            return Stats.percentile(added(), 90);
        }

        double medianTakeoverMs() {
            return Stats.percentile(samplesMs.stream().map(s -> s[0]).toList(), 50);
        }

        double medianWarmMs() {
            return Stats.percentile(samplesMs.stream().map(s -> s[1]).toList(), 50);
        }

        double firstTakeoverMs() {
            return samplesMs.isEmpty() ? Double.NaN : samplesMs.get(0)[0];
        }
    }

    final List<Run> runs = new ArrayList<>();
    final List<Memory> memory = new ArrayList<>();
    final List<Failover> failovers = new ArrayList<>();
    final Map<Variant, Profile.Summary> profiles = new LinkedHashMap<>();
    final List<CpuBreakdown.Result> breakdown = new ArrayList<>();
    /** Why the CPU breakdown is missing, when it was asked for and could not be made. */
    String breakdownSkipped;
    final Map<String, String> machine = new LinkedHashMap<>();
    final Map<String, String> settings = new LinkedHashMap<>();
    final List<String> notes = new ArrayList<>();

    Run run(Variant v, Workload w) {
        return runs.stream().filter(r -> r.variant() == v && r.workload() == w).findFirst().orElse(null);
    }

    Memory memory(Variant v) {
        return memory.stream().filter(m -> m.variant() == v).findFirst().orElse(null);
    }

    Failover failover(Variant v) {
        return failovers.stream().filter(f -> f.variant() == v).findFirst().orElse(null);
    }
}
