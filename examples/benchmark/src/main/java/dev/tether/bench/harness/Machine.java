package dev.tether.bench.harness;

import dev.tether.testkit.RedisProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** What the numbers were measured on. */
final class Machine {

    private Machine() {
    }

    static void describe(Options o, RedisProcess redis, Results r) throws IOException {
        r.machine.put("date", Main.now());
        r.machine.put("nproc", String.valueOf(Runtime.getRuntime().availableProcessors()));
        r.machine.put("CPU", firstValue(Path.of("/proc/cpuinfo"), "model name"));
        String mem = firstValue(Path.of("/proc/meminfo"), "MemTotal");
        if (mem.endsWith(" kB")) {
            mem = String.format("%.1f GiB", Long.parseLong(mem.replace(" kB", "").trim()) / 1024.0 / 1024.0);
        }
        r.machine.put("memory", mem);
        r.machine.put("kernel", read(Path.of("/proc/sys/kernel/osrelease")));
        r.machine.put("JDK", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + " ("
                + System.getProperty("java.vendor") + ")");
        r.machine.put("Tomcat", o.tomcatVersion);
        r.machine.put("Jetty", o.jettyVersion);
        r.machine.put("Redis", redis.info("server").get("redis_version"));
        r.machine.put("Redisson", o.redissonVersion + " (org.redisson:redisson and its dependencies + redisson-tomcat-10)");
        r.machine.put("wrk", wrkVersion(o.wrk));
        r.machine.put("load average at start", loadAverage());
    }

    /** Total and steal jiffies of all CPUs from /proc/stat; {0, 0} where there is none. */
    static long[] cpuJiffies() {
        String line = read(Path.of("/proc/stat")).lines().findFirst().orElse("");
        String[] p = line.trim().split("\\s+");
        if (p.length < 9 || !p[0].equals("cpu")) {
            return new long[2];
        }
        long total = 0;
        for (int i = 1; i < p.length && i <= 8; i++) {
            total += Long.parseLong(p[i]);
        }
        return new long[] {total, Long.parseLong(p[8])};
    }

    /** The share of CPU time the hypervisor gave to others between two readings: a noisy host shows here. */
    static String stealShare(long[] from, long[] to) {
        long total = to[0] - from[0];
        return total <= 0 ? "?" : String.format(java.util.Locale.ROOT, "%.1f %% of all CPU time", 100.0 * (to[1] - from[1]) / total);
    }

    /** The 1-minute load average, NaN if unreadable. */
    static double load1() {
        try {
            return Double.parseDouble(read(Path.of("/proc/loadavg")).split("\\s+")[0]);
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    static String loadAverage() {
        String l = read(Path.of("/proc/loadavg"));
        String[] p = l.split("\\s+");
        return p.length >= 3 ? p[0] + " " + p[1] + " " + p[2] + " (1, 5, 15 min)" : l;
    }

    private static String wrkVersion(String wrk) {
        try {
            Process p = new ProcessBuilder(wrk, "-v").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor(10, TimeUnit.SECONDS);
            return out.lines().findFirst().orElse("?").replaceFirst("\\s*Copyright.*$", "").trim();
        } catch (IOException | InterruptedException e) {
            return "?";
        }
    }

    private static String firstValue(Path file, String key) {
        try {
            for (String l : Files.readAllLines(file)) {
                if (l.startsWith(key)) {
                    return l.substring(l.indexOf(':') + 1).trim().replaceAll("\\s+", " ");
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "?";
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            return "?";
        }
    }
}
