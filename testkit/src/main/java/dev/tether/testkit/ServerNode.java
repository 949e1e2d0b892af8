package dev.tether.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One application server JVM (a real Tomcat or Jetty, see the subclasses) on a free loopback port,
 * writing its console to one log file: started, waited for, killed with {@code kill -9}, stopped,
 * restarted; the process held is the server's JVM itself, so a kill is a real {@code kill -9}.
 */
public abstract class ServerNode implements AutoCloseable {

    /** Small heaps and a quick JIT: the tests start many nodes on a 2-core machine. */
    private static final String TEST_JVM_OPTIONS = "-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);
    /**
     * The JDK every node runs on unless told otherwise: a failsafe execution sets it to run the same
     * tests on another JDK. Unset: the JDK of the test JVM.
     */
    public static final String JAVA_HOME_PROPERTY = "tether.node.java.home";

    private final String name;
    private final Path base;
    private final int port;
    private final Path log;
    private final List<ReadyPath> readyPaths = new ArrayList<>();
    private String readyLogText;
    private int readyLogTimes;
    private String jvmOptions = TEST_JVM_OPTIONS;
    private Path javaHome = defaultJavaHome();
    private Process process;
    private long logOffsetAtStart;

    /** A path that must answer 200, with a body containing a text (null: any body). */
    private record ReadyPath(String path, String bodyContains) {
    }

    ServerNode(String name, Path base, int port, Path log) {
        this.name = name;
        this.base = base;
        this.port = port;
        this.log = log;
    }

    /** The server JVM's command line, working directory and environment, with {@link #launchJvmOptions()}. */
    abstract ProcessBuilder launchCommand();

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    /** The node's own directory ({@code CATALINA_BASE}, {@code JETTY_BASE}). */
    public Path base() {
        return base;
    }

    /** The console log: everything the server JVM printed, across its starts. */
    public Path logFile() {
        return log;
    }

    /** The JDK the next start runs on ({@code JAVA_HOME}). */
    public synchronized void javaHome(Path jdk) {
        javaHome = checkedJdk(jdk, "javaHome");
    }

    public synchronized Path javaHome() {
        return javaHome;
    }

    /** The {@code java} command of {@link #javaHome()}. */
    String java() {
        return javaHome().resolve("bin/java").toString();
    }

    /** The version of the node's JDK as its {@code release} file gives it (e.g. {@code 25.0.3}), or "?" if it has none. */
    public String javaVersion() {
        Path release = javaHome().resolve("release");
        try {
            if (Files.isRegularFile(release)) {
                for (String line : Files.readAllLines(release)) {
                    if (line.startsWith("JAVA_VERSION=")) {
                        return line.substring("JAVA_VERSION=".length()).replace("\"", "").trim();
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return "?";
    }

    private static Path defaultJavaHome() {
        String configured = System.getProperty(JAVA_HOME_PROPERTY, "");
        return configured.isBlank() ? Path.of(System.getProperty("java.home"))
                : checkedJdk(Path.of(configured.trim()), JAVA_HOME_PROPERTY);
    }

    private static Path checkedJdk(Path jdk, String what) {
        if (!Files.isExecutable(jdk.resolve("bin/java"))) {
            throw new IllegalStateException(what + " = " + jdk + " is not a JDK (no bin/java): install it, or name another one");
        }
        return jdk;
    }

    /** The JVM options of the next start (by default small test heaps); the node adds {@code -Dtether.node=<name>}. */
    public synchronized void jvmOptions(String options) {
        jvmOptions = options.trim();
    }

    /** Options appended to the current ones from the next start on (e.g. remote JMX). */
    public synchronized void addJvmOptions(String options) {
        jvmOptions = (jvmOptions + " " + options.trim()).trim();
    }

    /** The options a start passes: the configured ones and the node's name. */
    synchronized String launchJvmOptions() {
        return jvmOptions + " -Dtether.node=" + name;
    }

    /** The node counts as started once {@code GET path} answers 200 with a body containing {@code bodyContains} (null: any). */
    public void readyWhen(String path, String bodyContains) {
        readyPaths.add(new ReadyPath(path, bodyContains));
    }

    /** ...and once its log has said {@code text} {@code times} times since the start. */
    public void readyWhenLogged(String text, int times) {
        readyLogText = text;
        readyLogTimes = times;
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /** The JVM's command as the OS reports it (to show it is java itself, not a shell). */
    public synchronized String command() {
        return process == null ? "(not running)" : process.info().command().orElse("?");
    }

    /** CPU time the server JVM has used so far. */
    public synchronized Duration cpu() {
        return process == null ? Duration.ZERO : process.info().totalCpuDuration().orElse(Duration.ZERO);
    }

    /** Starts the JVM and waits until it is ready ({@link #readyWhen}). */
    public void start() {
        launch();
        awaitReady();
    }

    /**
     * Starts the nodes together and waits until each is ready (start-up dominates many tests' run
     * time); when one does not come up, all are killed before the failure is thrown.
     */
    public static void startAll(ServerNode... nodes) {
        try {
            for (ServerNode n : nodes) {
                n.launch();
            }
            for (ServerNode n : nodes) {
                n.awaitReady();
            }
        } catch (RuntimeException | Error e) {
            killAll(nodes);
            throw e;
        }
    }

    /** Starts the JVM without waiting for it. */
    public synchronized void launch() {
        if (isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        appendToLog("\n===== testkit " + LocalTime.now() + ": starting " + name + " on port " + port + " =====\n");
        logOffsetAtStart = logSize();
        ProcessBuilder pb = launchCommand().redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = pb.environment();
        // What the caller's environment may hold must not change how the server starts.
        for (String k : List.of("JAVA_OPTS", "JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "CLASSPATH", "JPDA_OPTS", "JRE_HOME",
                "CATALINA_PID", "CATALINA_OUT", "JETTY_BASE", "JETTY_HOME")) {
            env.remove(k);
        }
        process = Processes.start(pb);
    }

    /**
     * Waits until the node is ready, which is when a balancer would send it traffic, and checks that
     * the process held is the JVM (so that {@link #kill9()} hits the server, not a wrapper).
     */
    public void awaitReady() {
        Process p;
        synchronized (this) {
            p = process;
        }
        List<ReadyPath> pending = new ArrayList<>(readyPaths);
        boolean ready = Await.within(START_TIMEOUT, () -> {
            if (!p.isAlive()) {
                throw new IllegalStateException(name + " exited during start-up (exit " + p.exitValue() + "):\n" + tail(80));
            }
            while (!pending.isEmpty() && answers(pending.get(0))) {
                pending.remove(0);
            }
            if (pending.isEmpty() && (readyLogText == null || occurrences(logSinceStart(), readyLogText) >= readyLogTimes)) {
                return true;
            }
            Await.sleep(80);
            return false;
        });
        if (!ready) {
            throw new IllegalStateException(name + " was not ready within " + START_TIMEOUT.toSeconds() + " s (waiting for "
                    + (pending.isEmpty() ? readyLogTimes + " x '" + readyLogText + "' in its log" : "GET " + pending.get(0).path())
                    + "):\n" + tail(80));
        }
        String command = p.info().command().orElse("?");
        if (!command.endsWith("/java")) {
            throw new IllegalStateException(name + ": pid " + p.pid() + " runs '" + command + "', not java: kill -9 would hit a wrapper");
        }
    }

    private boolean answers(ReadyPath ready) {
        try {
            Http.Reply r = Http.get(port, ready.path(), null);
            return r.status() == 200 && (ready.bodyContains() == null || r.body().contains(ready.bodyContains()));
        } catch (UncheckedIOException notListeningYet) {
            return false;
        }
    }

    /** Waits for the node to exit by itself (a refused configuration): its exit code, or Integer.MIN_VALUE if it still runs. */
    public int awaitExit(Duration timeout) {
        Process p;
        synchronized (this) {
            p = process;
        }
        return Processes.awaitExit(p, timeout) ? p.exitValue() : Integer.MIN_VALUE;
    }

    /** {@code kill -9} of the JVM (and anything it started); returns once its port is closed too. */
    public synchronized void kill9() {
        Process p = process;
        if (p == null) {
            return;
        }
        process = null;
        Processes.kill9(p);
        // Nobody may rely on the node being gone while its port still accepts.
        Await.within(Duration.ofSeconds(10), () -> !Ports.isOpen(port));
        appendToLog("\n===== testkit " + LocalTime.now() + ": kill -9 " + name + " (pid " + p.pid() + ") =====\n");
    }

    /** SIGSTOP of the JVM: it freezes with its connections open (a long stop-the-world pause). */
    public synchronized void pause() {
        Processes.signal(runningProcess(), "STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    public synchronized void resume() {
        Processes.signal(runningProcess(), "CONT");
    }

    private Process runningProcess() {
        if (process == null) {
            throw new IllegalStateException(name + " is not running");
        }
        return process;
    }

    /** A graceful stop (SIGTERM, as a service manager stops it), kill -9 after 30 s. */
    public synchronized void stop() {
        Process p = process;
        if (p == null) {
            return;
        }
        process = null;
        appendToLog("\n===== testkit " + LocalTime.now() + ": stopping " + name + " (SIGTERM to pid " + p.pid() + ") =====\n");
        Processes.stop(p, Duration.ofSeconds(30));
    }

    /** kill -9, then start again on the same port with the same base (memory is lost, Redis is not). */
    public void restart() {
        kill9();
        start();
    }

    /** Kills every node given (nulls are skipped); one that cannot be killed is reported, the others still are. */
    public static void killAll(ServerNode... nodes) {
        for (ServerNode n : nodes) {
            if (n != null) {
                try {
                    n.kill9();
                } catch (RuntimeException e) {
                    System.err.println("[testkit] could not kill " + n + ": " + e);
                }
            }
        }
    }

    @Override
    public void close() {
        kill9();
    }

    // ------------------------------------------------------------------ logs

    /** The whole console log. */
    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Bytes in the log so far: remember it, then read what came after with {@link #logSince}. */
    public long logSize() {
        try {
            return Files.exists(log) ? Files.size(log) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String logSince(long offset) {
        try {
            byte[] all = Files.exists(log) ? Files.readAllBytes(log) : new byte[0];
            int from = (int) Math.min(all.length, offset);
            return new String(all, from, all.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What the node logged since its latest start. */
    public String logSinceStart() {
        return logSince(logOffsetAtStart);
    }

    /** Whether the log contains a text since the node's latest start. */
    public boolean logContains(String text) {
        return logSinceStart().contains(text);
    }

    /** The last lines of the log. */
    public String tail(int lines) {
        String[] all = log().split("\n");
        return String.join("\n", Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }

    /** The ends of the nodes' logs under a heading, for a failure report; nulls are skipped. */
    public static String dump(String why, List<? extends ServerNode> nodes) {
        StringBuilder sb = new StringBuilder("\n[testkit] ===== " + why + " =====\n");
        nodes.stream().filter(Objects::nonNull).forEach(n -> sb.append("----- last 100 lines of ").append(n).append(" -----\n")
                .append(n.tail(100)).append('\n'));
        return sb.toString();
    }

    private static int occurrences(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    static void write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void appendToLog(String text) {
        try {
            Files.createDirectories(log.getParent());
            Files.writeString(log, text, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return name + " (port " + port + ", pid " + pid() + ", " + log + ")";
    }
}
