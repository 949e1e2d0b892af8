package dev.tether.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Every process the harness starts; none outlives it (shutdown hook), and each is ended by its own handle. */
final class Procs {

    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> List.copyOf(LIVE).forEach(Procs::kill), "bench-kill-children"));
    }

    private Procs() {
    }

    static void track(Process p) {
        LIVE.add(p);
    }

    /** kill -9 of the process and of anything it started; waits until it is gone. */
    static void kill(Process p) {
        if (p == null) {
            return;
        }
        List<ProcessHandle> children = new ArrayList<>();
        try {
            children.addAll(p.descendants().toList());
        } catch (RuntimeException gone) {
            // already gone
        }
        p.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        try {
            p.waitFor(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LIVE.remove(p);
    }

    /** Runs a short command to completion (bounded), returns its output; fails on a non-zero exit. */
    static String run(List<String> cmd, Path dir, int timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("bench-cmd", ".out");
        try {
            Process p = new ProcessBuilder(cmd).directory(dir == null ? null : dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).start();
            track(p);
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                kill(p);
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish within " + timeoutSeconds + " s");
            }
            LIVE.remove(p);
            String text = Files.readString(out);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "):\n" + text);
            }
            return text;
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
