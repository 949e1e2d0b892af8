package dev.tether.bench.scale;

import dev.tether.testkit.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The machine, as the report describes it: CPU, memory, load, and what else was running. */
final class Machine {

    private Machine() {
    }

    static String cpu() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            String model = lines.stream().filter(l -> l.startsWith("model name")).findFirst().map(Machine::value).orElse("?");
            long cores = lines.stream().filter(l -> l.startsWith("processor")).count();
            String mhz = lines.stream().filter(l -> l.startsWith("cpu MHz")).findFirst().map(Machine::value).orElse("?");
            String hyper = lines.stream().filter(l -> l.startsWith("flags")).findFirst().map(l -> l.contains(" hypervisor") ? ", virtual machine" : "")
                    .orElse("");
            return cores + " × " + model + " (" + mhz + " MHz" + hyper + ")";
        } catch (Exception e) {
            return "?";
        }
    }

    static String memory() {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal")).findFirst()
                    .map(l -> String.format("%.1f GiB", Long.parseLong(value(l).replace(" kB", "").trim()) / 1048576.0)).orElse("?");
        } catch (Exception e) {
            return "?";
        }
    }

    static String uptime() {
        try {
            return Processes.run(null, Duration.ofSeconds(10), "uptime").trim();
        } catch (Exception e) {
            return "?";
        }
    }

    /** CPU jiffies: {busy, total, steal}. */
    static long[] jiffies() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total - idle, total, f.length > 8 ? Long.parseLong(f[8]) : 0};
        } catch (Exception e) {
            return new long[3];
        }
    }

    /** The processes that used the most CPU over the last 2 s (top's second frame), one line each. */
    static List<String> busiest() {
        List<String> out = new ArrayList<>();
        try {
            String text = Processes.run(null, Duration.ofSeconds(20), "top", "-b", "-n", "2", "-d", "2", "-o", "%CPU", "-w", "200");
            String[] frames = text.split("(?m)^top - ");
            String last = frames[frames.length - 1];
            boolean table = false;
            for (String line : last.split("\n")) {
                if (line.trim().startsWith("PID")) {
                    table = true;
                    continue;
                }
                if (table && !line.isBlank()) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length >= 12 && Double.parseDouble(f[8].replace(',', '.')) >= 2.0) {
                        out.add(f[11] + " " + f[8] + " %");
                    }
                    if (out.size() >= 8) {
                        break;
                    }
                }
            }
        } catch (Exception e) {
            out.add("(top failed: " + e.getMessage() + ")");
        }
        return out;
    }

    private static String value(String line) {
        return line.substring(line.indexOf(':') + 1).trim();
    }
}
