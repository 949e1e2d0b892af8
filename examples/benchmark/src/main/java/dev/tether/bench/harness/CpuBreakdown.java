package dev.tether.bench.harness;

import dev.tether.testkit.ServerNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.ZipFile;

/**
 * Where a write request's CPU goes, side by side for several variants: async-profiler (CPU samples
 * with kernel stacks) attached to each server during one more write-every-request run, each sample
 * sorted into a cost category, shown in microseconds per request. It answers what the throughput
 * table cannot: how much of the cost of waiting for Redis is the kernel putting threads to sleep and
 * waking them (which every variant that waits pays), and how much is Tether's own work.
 */
final class CpuBreakdown {

    /** Sampling interval: CPU time between samples, process-wide. */
    static final int INTERVAL_MICROS = 200;

    static final String SLEEP_WAKE = "kernel: threads sleeping and waking (futex, scheduler)";
    static final String NET = "kernel: sockets and epoll (incl. waking the peer)";
    static final String KERNEL_OTHER = "kernel: other";
    static final String SERVER = "Java: Tomcat / Jetty";
    static final String TETHER = "Java: Tether (store + adapter)";
    static final String LETTUCE = "Java: Lettuce + Netty";
    static final String APP = "Java: bench servlet";
    static final String JDK = "Java: JDK and JVM runtime, not attributable";
    static final String JIT = "JVM: JIT compiler threads";
    static final String VM_THREADS = "JVM: GC and other VM threads";
    static final List<String> CATEGORIES = List.of(SLEEP_WAKE, NET, KERNEL_OTHER, SERVER, TETHER, LETTUCE, APP, JDK, JIT, VM_THREADS);

    /** One variant's profile: samples per category and the requests served meanwhile. */
    record Result(Variant variant, long requests, double rps, Map<String, Long> samples, long total, boolean kernelStacks) {

        double microsPerRequest(String category) {
            return requests == 0 ? Double.NaN : samples.getOrDefault(category, 0L) * (double) INTERVAL_MICROS / requests;
        }

        double totalMicrosPerRequest() {
            return requests == 0 ? Double.NaN : total * (double) INTERVAL_MICROS / requests;
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("variant", variant.id);
            m.put("requests", requests);
            m.put("rps", rps);
            m.put("intervalMicros", INTERVAL_MICROS);
            m.put("kernelStacks", kernelStacks);
            Map<String, Object> us = new LinkedHashMap<>();
            CATEGORIES.forEach(c -> us.put(c, microsPerRequest(c)));
            us.put("total", totalMicrosPerRequest());
            m.put("microsPerRequest", us);
            return m;
        }
    }

    private CpuBreakdown() {
    }

    /** The agent library for this machine, unpacked from the async-profiler jar; null (with a reason logged) if none fits. */
    static Path library(Path jar, Path workDir) {
        String arch = System.getProperty("os.arch");
        String dir = arch.equals("amd64") || arch.equals("x86_64") ? "linux-x64" : arch.equals("aarch64") ? "linux-arm64" : null;
        if (!System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux") || dir == null) {
            Log.info("  CPU breakdown skipped: async-profiler's jar has no library for %s/%s", System.getProperty("os.name"), arch);
            return null;
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            var entry = zip.getEntry(dir + "/libasyncProfiler.so");
            if (entry == null) {
                Log.info("  CPU breakdown skipped: %s has no %s/libasyncProfiler.so", jar, dir);
                return null;
            }
            Path lib = workDir.resolve("libasyncProfiler.so");
            try (InputStream in = zip.getInputStream(entry)) {
                Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
            }
            return lib;
        } catch (IOException e) {
            Log.info("  CPU breakdown skipped: cannot read %s (%s)", jar, e.getMessage());
            return null;
        }
    }

    /** Profiles one write run of a warm server. */
    static Result measure(Path lib, Wrk wrk, ServerNode node, Path cookies, Variant v, int seconds, Path workDir) throws Exception {
        Path out = workDir.resolve("cpu-" + v.id + "-write.collapsed");
        Files.deleteIfExists(out);
        agent(node.pid(), lib, "start,event=cpu,interval=" + INTERVAL_MICROS + "us");
        Wrk.Result res;
        try {
            res = wrk.run(node, cookies, Workload.WRITE, seconds, workDir.resolve("raw").resolve(v.id + "-write-cpu.txt"));
        } finally {
            agent(node.pid(), lib, "stop,collapsed,file=" + out);
        }
        Map<String, Long> samples = new LinkedHashMap<>();
        long total = 0;
        boolean kernel = false;
        for (String line : Files.readAllLines(out)) {
            int space = line.lastIndexOf(' ');
            if (space < 0) {
                continue;
            }
            long n = Long.parseLong(line.substring(space + 1).trim());
            String[] frames = line.substring(0, space).split(";");
            kernel |= line.contains("_[k]");
            samples.merge(category(frames), n, Long::sum);
            total += n;
        }
        return new Result(v, res.requests(), res.rps(), samples, total, kernel);
    }

    private static void agent(long pid, Path lib, String command) throws Exception {
        com.sun.tools.attach.VirtualMachine vm = com.sun.tools.attach.VirtualMachine.attach(Long.toString(pid));
        try {
            vm.loadAgentPath(lib.toString(), command);
        } finally {
            vm.detach();
        }
    }

    /**
     * A sample's category. Kernel time goes by the system call it is in; Java time to the innermost
     * frame of a known component, looking through JDK frames (a HashMap.get Tether calls is Tether's).
     */
    static String category(String[] frames) {
        boolean java = false;
        for (String f : frames) {
            java |= f.indexOf('/') > 0; // Java frames are a/b/C.m; native ones have no slash, or a leading one (a library path)
        }
        if (!java) {
            for (String f : frames) {
                if (f.startsWith("CompileBroker::")) {
                    return JIT;
                }
            }
            return VM_THREADS;
        }
        String leaf = frames[frames.length - 1];
        if (leaf.endsWith("_[k]")) {
            for (String f : frames) {
                if (f.contains("sys_futex") || f.contains("sys_sched_yield") || f.contains("sys_nanosleep")) {
                    return SLEEP_WAKE;
                }
                if (f.contains("sys_epoll") || f.contains("sys_read") || f.contains("sys_write") || f.contains("sys_send")
                        || f.contains("sys_recv") || f.contains("sys_poll") || f.contains("sys_accept")) {
                    return NET;
                }
            }
            return KERNEL_OTHER;
        }
        for (int i = frames.length - 1; i >= 0; i--) {
            String f = frames[i].replace("dev/tether/shaded/", "");
            if (f.startsWith("io/lettuce/") || f.startsWith("io/netty/")) {
                return LETTUCE;
            }
            if (f.startsWith("dev/tether/bench/")) {
                return APP;
            }
            if (f.startsWith("dev/tether/")) {
                return TETHER;
            }
            if (f.startsWith("org/apache/") || f.startsWith("org/eclipse/jetty/")) {
                return SERVER;
            }
        }
        return JDK;
    }

    /** The side-by-side table, with the differences that matter: what waiting costs, and what Tether adds. */
    static String markdown(List<Result> results) {
        StringBuilder sb = new StringBuilder();
        sb.append("## CPU per write request, side by side (async-profiler)\n\n");
        sb.append("One more write-every-request run of each warm server, with async-profiler attached (CPU samples every ")
                .append(INTERVAL_MICROS).append(" µs of CPU, kernel stacks included). Each sample is sorted by what it was doing: ")
                .append("kernel time by the system call it is in, Java time by the innermost frame of a known component. ")
                .append("Figures are µs of the server JVM's CPU per request (Redis's own CPU is in results.md).\n\n");
        StringBuilder head = new StringBuilder("| category |");
        StringBuilder rule = new StringBuilder("|---|");
        for (Result r : results) {
            head.append(' ').append(r.variant().server.label).append(": ").append(r.variant().impl.label).append(" |");
            rule.append("---:|");
        }
        sb.append(head).append('\n').append(rule).append('\n');
        for (String c : CATEGORIES) {
            sb.append("| ").append(c).append(" |");
            for (Result r : results) {
                sb.append(' ').append(Report.f(r.microsPerRequest(c), 1)).append(" |");
            }
            sb.append('\n');
        }
        sb.append("| **total** |");
        results.forEach(r -> sb.append(" **").append(Report.f(r.totalMicrosPerRequest(), 1)).append("** |"));
        sb.append("\n| req/s during the profile |");
        results.forEach(r -> sb.append(' ').append(Math.round(r.rps())).append(" |"));
        sb.append("\n\n");
        differences(sb, results);
        if (results.stream().anyMatch(r -> !r.kernelStacks())) {
            sb.append("Kernel stacks were not visible for some variants (async-profiler fell back to a timer, or kernel symbols are hidden: ")
                    .append("run as root, or set `kernel.perf_event_paranoid=1` and `kernel.kptr_restrict=0`); their kernel time is in \"kernel: other\" or missing.\n\n");
        }
        return sb.toString();
    }

    private static void differences(StringBuilder sb, List<Result> results) {
        for (Variant.Server server : Variant.Server.values()) {
            Result memory = find(results, server, Variant.Impl.MEMORY);
            Result floor = find(results, server, Variant.Impl.FLOOR_LETTUCE);
            Result tether = find(results, server, Variant.Impl.TETHER);
            if (memory != null && floor != null) {
                sb.append("- ").append(server.label).append(", what one acknowledged Redis round trip adds to a request (Lettuce floor − in-memory): ")
                        .append(delta(floor, memory)).append('\n');
            }
            if (floor != null && tether != null) {
                sb.append("- ").append(server.label).append(", what Tether adds on top of that round trip (Tether − Lettuce floor): ")
                        .append(delta(tether, floor)).append('\n');
            } else if (memory != null && tether != null) {
                sb.append("- ").append(server.label).append(", what Tether adds to a write request (Tether − in-memory): ")
                        .append(delta(tether, memory)).append('\n');
            }
        }
        sb.append('\n');
    }

    private static String delta(Result a, Result b) {
        List<String> parts = new ArrayList<>();
        for (String c : CATEGORIES) {
            double d = a.microsPerRequest(c) - b.microsPerRequest(c);
            if (Math.abs(d) >= 1) {
                parts.add(String.format(Locale.ROOT, "%s %+.0f", c, d));
            }
        }
        return String.format(Locale.ROOT, "**%+.0f µs** in all (%s)", a.totalMicrosPerRequest() - b.totalMicrosPerRequest(),
                parts.isEmpty() ? "no category over 1 µs" : String.join("; ", parts));
    }

    private static Result find(List<Result> results, Variant.Server server, Variant.Impl impl) {
        return results.stream().filter(r -> r.variant().server == server && r.variant().impl == impl).findFirst().orElse(null);
    }
}
