package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/** Shared plumbing of the reliability, hostile-input and operations tests on real Tomcat. */
final class E2eSupport {

    /** Tether's default key prefix for the context /app on host localhost. */
    static final String KEY_PREFIX = "tether:tomcat:localhost/app:";

    private E2eSupport() {
    }

    static String required(String property) {
        String v = System.getProperty(property);
        assertNotNull(v, "system property " + property + " is not set (run through mvn verify / failsafe)");
        return v;
    }

    static Path jar() {
        Path jar = Path.of(required("tether.tomcat.jar"));
        assertTrue(Files.isRegularFile(jar), "shaded jar missing (run mvn verify, not the IDE): " + jar);
        return jar;
    }

    static Path testClasses() {
        return Path.of(required("tether.test.classes"));
    }

    /** A work directory under target/e2e for one test class. */
    static Path workDir(String name) {
        return testClasses().getParent().resolve("e2e").resolve(name);
    }

    /** The unpacked distribution of a Tomcat version ("10.1", "11.0") from tether.tomcat.homes. */
    static Path tomcatHome(String version) {
        String homes = required("tether.tomcat.homes");
        for (String h : homes.split(",")) {
            Path p = Path.of(h.trim());
            if (p.getFileName().toString().startsWith("apache-tomcat-" + version + ".")) {
                assertTrue(Files.isRegularFile(p.resolve("bin/catalina.sh")), "not a Tomcat distribution: " + p);
                return p;
            }
        }
        throw new AssertionError("no Tomcat " + version + " in tether.tomcat.homes=" + homes);
    }

    /** Starts the nodes in parallel and waits until each answers. */
    static void startAll(TomcatNode... nodes) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (TomcatNode n : nodes) {
            all.add(CompletableFuture.runAsync(() -> {
                try {
                    n.start();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }));
        }
        CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).join();
    }

    static void killAll(TomcatNode... nodes) {
        for (TomcatNode n : nodes) {
            if (n != null) {
                try {
                    n.kill9();
                } catch (RuntimeException e) {
                    System.err.println("[e2e] could not stop " + n + ": " + e);
                }
            }
        }
    }

    /** Bytes in a node's console log so far: remember it, then read what came after with {@link #consoleSince}. */
    static long consoleSize(TomcatNode node) {
        try {
            return Files.exists(node.logFile()) ? Files.size(node.logFile()) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String consoleSince(TomcatNode node, long offset) {
        try {
            byte[] all = Files.readAllBytes(node.logFile());
            int from = (int) Math.min(all.length, offset);
            return new String(all, from, all.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Everything Tomcat logged to files other than the console: {@code localhost.*.log} is where
     * exceptions thrown out of servlets and filters go (Tomcat's default logging.properties).
     */
    static String localhostLogs(TomcatNode node) {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.list(node.base().resolve("logs"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("localhost.")).sorted().toList()) {
                sb.append(Files.readString(f, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sb.toString();
    }

    static List<String> linesContaining(String text, String needle) {
        return text.lines().filter(l -> l.contains(needle)).toList();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String dump(String why, TomcatNode... nodes) {
        StringBuilder sb = new StringBuilder("\n[e2e] ===== " + why + " =====\n");
        for (TomcatNode n : nodes) {
            if (n != null) {
                sb.append("----- tail of ").append(n).append(" logs/console.log -----\n").append(n.tail(80)).append('\n');
            }
        }
        return sb.toString();
    }
}
