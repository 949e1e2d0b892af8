package dev.tether.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The processes the tests start: none outlives the JVM that started it (a shutdown hook kills what
 * is left, with whatever it started), and each is ended through its own handle, never by name.
 */
public final class Processes {

    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> List.copyOf(LIVE).forEach(Processes::kill9), "testkit-kill-children"));
    }

    private Processes() {
    }

    /** Starts a process that is killed when this JVM exits, should nobody end it before. */
    public static Process start(ProcessBuilder builder) {
        try {
            Process p = builder.start();
            LIVE.add(p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", builder.command()), e);
        }
    }

    /** kill -9 of the process and of everything it started; returns once it is gone. */
    public static void kill9(Process p) {
        if (p == null) {
            return;
        }
        List<ProcessHandle> descendants = descendants(p);
        p.destroyForcibly();
        descendants.forEach(ProcessHandle::destroyForcibly);
        if (!awaitExit(p, Duration.ofSeconds(20))) {
            throw new IllegalStateException("pid " + p.pid() + " survived kill -9");
        }
        LIVE.remove(p);
    }

    /** SIGTERM (a graceful stop), then kill -9 if it still runs after {@code grace}. */
    public static void stop(Process p, Duration grace) {
        if (p == null) {
            return;
        }
        List<ProcessHandle> descendants = descendants(p);
        p.destroy();
        if (!awaitExit(p, grace)) {
            p.destroyForcibly();
            awaitExit(p, Duration.ofSeconds(20));
        }
        descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        LIVE.remove(p);
    }

    /** Sends a signal by name ({@code STOP}, {@code CONT}) to the process. */
    public static void signal(Process p, String signal) {
        run(null, Duration.ofSeconds(5), "kill", "-" + signal, Long.toString(p.pid()));
    }

    /**
     * Runs a short command to its end in {@code dir} (null: this JVM's) and returns what it printed
     * (stdout and stderr); fails when it exits non-zero or runs longer than {@code timeout}.
     */
    public static String run(Path dir, Duration timeout, String... command) {
        return run(dir, timeout, List.of(command));
    }

    /** Like {@link #run(Path, Duration, String...)}. */
    public static String run(Path dir, Duration timeout, List<String> command) {
        Path out = null;
        try {
            out = Files.createTempFile("testkit-cmd", ".out");
            Process p = start(new ProcessBuilder(command).directory(dir == null ? null : dir.toFile())
                    .redirectErrorStream(true).redirectOutput(out.toFile()));
            if (!awaitExit(p, timeout)) {
                kill9(p);
                throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s");
            }
            LIVE.remove(p);
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (exit " + p.exitValue() + "):\n" + text);
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (out != null) {
                out.toFile().delete();
            }
        }
    }

    /** The java launcher of this JVM, for the JVMs the tests start. */
    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Whether the process ended within {@code timeout}. */
    static boolean awaitExit(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static List<ProcessHandle> descendants(Process p) {
        try {
            return new ArrayList<>(p.descendants().toList());
        } catch (RuntimeException gone) {
            return List.of();
        }
    }
}
