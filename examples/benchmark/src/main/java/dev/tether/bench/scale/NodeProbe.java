package dev.tether.bench.scale;

import dev.tether.testkit.Http;
import dev.tether.testkit.Processes;
import dev.tether.testkit.ServerNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** What a server JVM holds and spends: heap after full GCs, its class histogram, its CPU time. */
final class NodeProbe {

    private NodeProbe() {
    }

    /** Heap in use after System.gc() (lowest of 4, bench.war's /b/heap). */
    static long heapAfterGc(ServerNode node) {
        Http.Reply reply = null;
        // four full GCs of a large heap can take longer than the HTTP client's 30 s on a starved machine: asked again
        for (int attempt = 1; reply == null; attempt++) {
            try {
                reply = Http.get(node.port(), ScaleNodes.CONTEXT + "/b/heap", null);
            } catch (java.io.UncheckedIOException e) {
                if (attempt == 3) {
                    throw e;
                }
                Scale.log("    /b/heap: %s; asking again", e.getMessage());
            }
        }
        if (reply.status() != 200) {
            throw new IllegalStateException("/b/heap answered " + reply.status());
        }
        return Long.parseLong(reply.value("heapUsed"));
    }

    /** jcmd GC.class_histogram (live objects, after a full GC): class → {instances, bytes}. */
    static Map<String, long[]> histogram(ServerNode node) {
        Map<String, long[]> m = new LinkedHashMap<>();
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        String out = Processes.run(null, Duration.ofSeconds(300), jcmd, String.valueOf(node.pid()), "GC.class_histogram");
        for (String line : out.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                m.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
            }
        }
        return m;
    }

    /** CPU seconds (user + system) of a process, from /proc. */
    static double cpuSeconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // utime, stime in clock ticks (USER_HZ 100)
        } catch (Exception e) {
            return Double.NaN;
        }
    }
}
