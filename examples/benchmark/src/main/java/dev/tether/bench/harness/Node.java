package dev.tether.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** One server JVM (a real Tomcat or Jetty) serving bench.war at {@value #CONTEXT}. */
abstract class Node implements AutoCloseable {

    static final String CONTEXT = "/bench";
    static final String COOKIE = "JSESSIONID";

    protected final String name;
    protected final Path base;
    protected final int port;
    protected final Path log;
    private Process process;

    protected Node(String name, Path base, int port, Path log) {
        this.name = name;
        this.base = base;
        this.port = port;
        this.log = log;
    }

    String name() {
        return name;
    }

    int port() {
        return port;
    }

    Path base() {
        return base;
    }

    long pid() {
        return process == null ? -1 : process.pid();
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The JVM's command line (java itself), its working directory and environment. */
    protected abstract ProcessBuilder command();

    /** Starts the JVM and waits until the application answers. */
    void start() throws IOException, InterruptedException {
        if (isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        Files.createDirectories(log.getParent());
        Files.writeString(log, "\n===== bench harness: starting " + name + " on port " + port + " =====\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        ProcessBuilder pb = command().redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = pb.environment();
        for (String k : List.of("JAVA_OPTS", "JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "CLASSPATH", "JPDA_OPTS", "CATALINA_PID",
                "CATALINA_OUT", "JRE_HOME", "JETTY_BASE", "JETTY_HOME")) {
            env.remove(k);
        }
        long t0 = System.nanoTime();
        process = pb.start();
        Procs.track(process);
        long deadline = t0 + TimeUnit.SECONDS.toNanos(180);
        try (Http http = new Http(port)) {
            while (true) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(name + " exited during start-up (exit " + process.exitValue() + "):\n" + tail(60));
                }
                try {
                    if (http.get(CONTEXT + "/b/ping", null, null).status() == 200) {
                        break;
                    }
                } catch (IOException notYet) {
                    http.close();
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(name + " did not answer within 180 s:\n" + tail(60));
                }
                Thread.sleep(100);
            }
        }
        String cmd = process.info().command().orElse("?");
        if (!cmd.endsWith("/java")) {
            throw new IllegalStateException(name + ": pid " + process.pid() + " runs " + cmd + ", not java");
        }
        Log.info("  %s up on port %d (pid %d) in %.1f s", name, port, process.pid(), (System.nanoTime() - t0) / 1e9);
    }

    /** CPU time the server JVM has used so far. */
    Duration cpu() {
        return process == null ? Duration.ZERO : process.info().totalCpuDuration().orElse(Duration.ZERO);
    }

    /** kill -9. */
    void kill() {
        Procs.kill(process);
        process = null;
    }

    @Override
    public void close() {
        kill();
    }

    String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    static void copyDirFiles(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
