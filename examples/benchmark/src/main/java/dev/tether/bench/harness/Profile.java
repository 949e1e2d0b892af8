package dev.tether.bench.harness;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedClass;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarises a JFR recording (settings=profile) of one variant's write workload: where the server's
 * CPU samples are (top frames, grouped by component), which Tether methods are on the stack most,
 * which threads run, and what is allocated.
 */
final class Profile {

    record Count(String name, long count) {
    }

    record Summary(Variant variant, Path file, int seconds, long samples, long samplesWithTether, List<Count> topSelf,
            List<Count> components, List<Count> tetherInclusive, List<Count> threads, List<Count> allocationsByClass,
            List<Count> allocationSitesInTether, long allocationBytes, long monitorEnters, long compilations, double compileMillis,
            List<Count> compileMillisByPackage, String samplingPeriod, String caveat, String perfReport) {

        String markdown() {
            StringBuilder sb = new StringBuilder();
            sb.append("### JFR profile: ").append(variant.server.label).append(" + ").append(variant.impl.label)
                    .append(", write-every-request\n\n");
            sb.append(String.format(Locale.ROOT, "%d s under the same wrk load (after a warm-up under the recording, left out here:"
                    + " starting JFR discards compiled code), `jcmd JFR.start` with the JDK's profile settings,"
                    + " execution samples every %s; %d samples (jdk.ExecutionSample: Java threads running Java code; time in native"
                    + " code and the kernel is not in them, see perf below), %.1f %% of them with a Tether frame (dev.tether.*, shaded"
                    + " Lettuce/Netty included) on the stack. Recording: `%s` (in the work directory).%n%n", seconds, samplingPeriod,
                    samples, pct(samplesWithTether), file.getFileName()));
            sb.append(caveat);
            table(sb, "Samples by component of the top frame", "component", components, 12);
            table(sb, "Top frames (self time)", "method", topSelf, 20);
            table(sb, "Tether methods on the stack (inclusive)", "method", tetherInclusive, 20);
            table(sb, "Samples by thread", "thread (digits as N)", threads, 10);
            if (allocationBytes > 0) {
                tableBytes(sb, "Allocation (jdk.ObjectAllocationSample weight) by class", allocationsByClass, 12);
                tableBytes(sb, "Allocation sites: first Tether frame on the allocating stack", allocationSitesInTether, 12);
            }
            sb.append(String.format(Locale.ROOT, "JIT compilations during the recording (jdk.Compilation): %d, %.0f ms in total.%n%n",
                    compilations, compileMillis));
            if (compilations > 0) {
                sb.append("**JIT compile time by package of the compiled method**\n\n| package | ms |\n|---|---:|\n");
                compileMillisByPackage.stream().limit(10).forEach(c -> sb.append("| `").append(c.name()).append("` | ")
                        .append(c.count()).append(" |\n"));
                sb.append('\n');
            }
            sb.append("Contended monitor enters (jdk.JavaMonitorEnter over the profile threshold): ").append(monitorEnters).append("\n\n");
            sb.append(perfReport);
            return sb.toString();
        }

        private double pct(long n) {
            return samples == 0 ? 0 : 100.0 * n / samples;
        }

        private void table(StringBuilder sb, String title, String col, List<Count> rows, int max) {
            sb.append("**").append(title).append("**\n\n| ").append(col).append(" | samples | % |\n|---|---:|---:|\n");
            rows.stream().limit(max).forEach(c -> sb.append(String.format(Locale.ROOT, "| `%s` | %d | %.1f |%n", c.name(), c.count(), pct(c.count()))));
            sb.append('\n');
        }

        private void tableBytes(StringBuilder sb, String title, List<Count> rows, int max) {
            sb.append("**").append(title).append("**\n\n| class or site | MiB (sampled weight) | % |\n|---|---:|---:|\n");
            rows.stream().limit(max).forEach(c -> sb.append(String.format(Locale.ROOT, "| `%s` | %.1f | %.1f |%n", c.name(),
                    c.count() / 1048576.0, 100.0 * c.count() / allocationBytes)));
            sb.append('\n');
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("variant", variant.id);
            m.put("file", file.getFileName().toString());
            m.put("executionSamples", samples);
            m.put("samplesWithTetherOnStack", samplesWithTether);
            m.put("components", counts(components, 20));
            m.put("topSelf", counts(topSelf, 30));
            m.put("tetherInclusive", counts(tetherInclusive, 30));
            m.put("threads", counts(threads, 20));
            m.put("allocationBytesByClass", counts(allocationsByClass, 20));
            m.put("allocationBytesByTetherSite", counts(allocationSitesInTether, 20));
            m.put("jitCompilations", compilations);
            m.put("jitCompileMillis", compileMillis);
            m.put("jitCompileMillisByPackage", counts(compileMillisByPackage, 20));
            m.put("perf", perfReport);
            return m;
        }

        private static List<Object> counts(List<Count> l, int max) {
            List<Object> out = new ArrayList<>();
            l.stream().limit(max).forEach(c -> out.add(Map.of("name", c.name(), "count", c.count())));
            return out;
        }
    }

    private Profile() {
    }

    /** Events from {@code from} on only (what came before was the warm-up under the recording). */
    static Summary analyze(Path jfr, java.time.Instant from, Variant v, int seconds, String samplingPeriod, String caveat,
            String perfReport)
            throws IOException {
        Map<String, Long> self = new LinkedHashMap<>();
        Map<String, Long> components = new LinkedHashMap<>();
        Map<String, Long> tether = new LinkedHashMap<>();
        Map<String, Long> threads = new LinkedHashMap<>();
        Map<String, Long> allocClass = new LinkedHashMap<>();
        Map<String, Long> allocSite = new LinkedHashMap<>();
        long samples = 0;
        long withTether = 0;
        long allocBytes = 0;
        long monitor = 0;
        long compilations = 0;
        double compileMillis = 0;
        Map<String, Long> compileByPackage = new LinkedHashMap<>();
        try (RecordingFile f = new RecordingFile(jfr)) {
            while (f.hasMoreEvents()) {
                RecordedEvent e = f.readEvent();
                if (e.getStartTime().isBefore(from)) {
                    continue;
                }
                String type = e.getEventType().getName();
                switch (type) {
                    case "jdk.ExecutionSample" -> {
                        RecordedStackTrace st = e.getStackTrace();
                        if (st == null || st.getFrames().isEmpty()) {
                            continue;
                        }
                        samples++;
                        List<RecordedFrame> frames = st.getFrames();
                        String top = name(frames.get(0));
                        add(self, top, 1);
                        add(components, component(top), 1);
                        Set<String> seen = new HashSet<>();
                        boolean t = false;
                        for (RecordedFrame fr : frames) {
                            String n = name(fr);
                            if (isTether(n)) {
                                t = true;
                                if (seen.add(n)) {
                                    add(tether, n, 1);
                                }
                            }
                        }
                        if (t) {
                            withTether++;
                        }
                        RecordedThread th = e.getThread("sampledThread");
                        add(threads, th == null ? "?" : String.valueOf(th.getJavaName()).replaceAll("\\d+", "N"), 1);
                    }
                    case "jdk.ObjectAllocationSample" -> {
                        long w = e.getLong("weight");
                        RecordedClass c = e.getClass("objectClass");
                        allocBytes += w;
                        add(allocClass, c == null ? "?" : c.getName(), w);
                        RecordedStackTrace st = e.getStackTrace();
                        String site = "(no Tether frame)";
                        if (st != null) {
                            for (RecordedFrame fr : st.getFrames()) {
                                String n = name(fr);
                                if (isTether(n)) {
                                    site = n;
                                    break;
                                }
                            }
                        }
                        add(allocSite, site, w);
                    }
                    case "jdk.JavaMonitorEnter" -> monitor++;
                    case "jdk.Compilation" -> {
                        compilations++;
                        double ms = e.getDuration().toNanos() / 1e6;
                        compileMillis += ms;
                        RecordedMethod m = e.getValue("method");
                        String pkg = "?";
                        if (m != null) {
                            String owner = m.getType().getName();
                            int dot = owner.lastIndexOf('.');
                            pkg = dot < 0 ? owner : owner.substring(0, dot);
                        }
                        add(compileByPackage, pkg, Math.round(ms));
                    }
                    default -> {
                    }
                }
            }
        }
        return new Summary(v, jfr, seconds, samples, withTether, sorted(self), sorted(components), sorted(tether), sorted(threads),
                sorted(allocClass), sorted(allocSite), allocBytes, monitor, compilations, compileMillis, sorted(compileByPackage), samplingPeriod,
                caveat, perfReport);
    }

    private static boolean isTether(String frame) {
        return frame.startsWith("dev.tether.") && !frame.startsWith("dev.tether.bench.");
    }

    static String component(String frame) {
        if (frame.startsWith("dev.tether.shaded.io.lettuce")) {
            return "Lettuce (shaded in Tether)";
        }
        if (frame.startsWith("dev.tether.shaded.io.netty")) {
            return "Netty (shaded in Tether)";
        }
        if (frame.startsWith("dev.tether.shaded.reactor")) {
            return "Reactor (shaded in Tether)";
        }
        if (frame.startsWith("dev.tether.bench.")) {
            return "benchmark servlet";
        }
        if (frame.startsWith("dev.tether.")) {
            return "Tether";
        }
        if (frame.startsWith("java.io.Object") || frame.startsWith("java.io.Bits") || frame.startsWith("java.io.Data")) {
            return "Java serialization (java.io.Object*/Data*)";
        }
        if (frame.startsWith("org.redisson.") || frame.startsWith("io.netty.") || frame.startsWith("org.jboss.marshalling")) {
            return "Redisson / its Netty";
        }
        if (frame.startsWith("org.apache.")) {
            return "Tomcat";
        }
        if (frame.startsWith("org.eclipse.jetty.")) {
            return "Jetty";
        }
        if (frame.startsWith("sun.nio.") || frame.startsWith("java.nio.") || frame.startsWith("sun.net.") || frame.startsWith("java.net.")) {
            return "JDK NIO / networking";
        }
        if (frame.startsWith("java.util.concurrent.")) {
            return "JDK java.util.concurrent";
        }
        if (frame.startsWith("java.") || frame.startsWith("jdk.") || frame.startsWith("sun.")) {
            return "JDK other";
        }
        return "other";
    }

    private static String name(RecordedFrame f) {
        RecordedMethod m = f.getMethod();
        if (m == null) {
            return "?";
        }
        return m.getType().getName() + "." + m.getName();
    }

    private static void add(Map<String, Long> m, String k, long n) {
        m.merge(k, n, Long::sum);
    }

    private static List<Count> sorted(Map<String, Long> m) {
        List<Count> l = new ArrayList<>();
        m.forEach((k, n) -> l.add(new Count(k, n)));
        l.sort((a, b) -> Long.compare(b.count(), a.count()));
        return l;
    }
}
