package dev.tether.jetty.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One node of the real Jetty distribution: its own {@code $JETTY_BASE}, set up the way the
 * README tells an administrator (unpack the Tether archive, {@code start.jar --add-modules=...},
 * edit {@code start.d/*.ini}), with the ee10 and ee8 test applications in {@code webapps/}, run
 * as {@code java -jar $JETTY_HOME/start.jar} in a child JVM and killed with {@code kill -9}.
 *
 * <p>{@link #create(String, Path, Path, int, String, String, Path, Setup)} sets up a base for any
 * other application (modules, files and readiness given by the caller); the failover tests through
 * real balancers ({@code examples/failover-tests}) run the example shop that way.
 */
public final class JettyNode implements AutoCloseable {

    /** Writes files into a {@code $JETTY_BASE}. */
    @FunctionalInterface
    public interface BaseWriter {
        void write(Path base) throws IOException;
    }

    /**
     * How to set up a base for an application of the caller's.
     *
     * @param modules what {@code start.jar --add-modules=} gets (besides what it pulls in)
     * @param beforeModules writes files before {@code --add-modules} runs (e.g. the base's own {@code modules/*.mod})
     * @param afterModules writes files afterwards (e.g. {@code start.d/*.ini}, {@code webapps/})
     * @param readyPaths paths that must answer 200 before the node counts as started
     * @param redisConnections how many "Tether: connected to Redis at" lines (one per context) to wait for
     */
    public record Setup(List<String> modules, BaseWriter beforeModules, BaseWriter afterModules, List<String> readyPaths,
            int redisConnections) {
    }

    /** The test applications, by context path: ee10 (jakarta) and ee8 (javax). */
    public static final List<String> APPS = List.of("app10", "app8");

    /** Every node JVM this test JVM started: none may outlive it, even when it is stopped abruptly. */
    private static final java.util.Set<Process> LAUNCHED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LAUNCHED.forEach(Process::destroyForcibly), "kill-jetty-nodes"));
    }

    private final String name;
    private final Path home;
    private final Path base;
    private final int port;
    private final Path log;
    private final List<String> readyPaths;
    private final int redisConnections;
    private Process process;
    private long logOffset;

    private JettyNode(String name, Path home, Path base, int port) {
        this(name, home, base, port, APPS.stream().map(app -> "/" + app + "/s?op=ping").toList(), APPS.size());
    }

    private JettyNode(String name, Path home, Path base, int port, List<String> readyPaths, int redisConnections) {
        this.name = name;
        this.home = home;
        this.base = base;
        this.port = port;
        this.log = base.resolve("node.log");
        this.readyPaths = List.copyOf(readyPaths);
        this.redisConnections = redisConnections;
    }

    /**
     * Creates {@code base} as a fresh {@code $JETTY_BASE} the way the README tells an administrator:
     * unpack the Tether archive, {@code start.jar --add-modules=...}, then point
     * {@code start.d/session-store-redis.ini} at {@code redisUri}, set the workerName and the HTTP
     * port; {@code setup} adds the application and anything else around those steps.
     */
    public static JettyNode create(String name, Path home, Path base, int port, String workerName, String redisUri,
            Path moduleArchive, Setup setup) throws IOException, InterruptedException {
        deleteTree(base);
        Files.createDirectories(base);
        JettyNode node = new JettyNode(name, home, base, port, setup.readyPaths(), setup.redisConnections());
        node.run(List.of("tar", "xzf", moduleArchive.toString(), "-C", base.toString()), "unpack the Tether archive");
        setup.beforeModules().write(base);
        node.run(List.of(java(), "-jar", home.resolve("start.jar").toString(),
                "--add-modules=" + String.join(",", setup.modules())), "start.jar --add-modules");
        Path storeIni = base.resolve("start.d/session-store-redis.ini");
        if (Files.exists(storeIni)) {
            String ini = Files.readString(storeIni);
            Files.writeString(storeIni, ini.replaceAll("(?m)^jetty\\.session\\.redis\\.redisUri=.*$", "jetty.session.redis.redisUri=" + redisUri));
        }
        node.setWorkerName(workerName);
        append(base.resolve("start.d/http.ini"), "jetty.http.port=" + port + "\n");
        setup.afterModules().write(base);
        return node;
    }

    /**
     * Creates {@code base} as a fresh {@code $JETTY_BASE} for a node with this workerName.
     *
     * @param moduleArchive the Tether {@code tether-jetty-module-*.tar.gz}
     * @param testClasses the test-classes directory holding the test applications
     */
    public static JettyNode create(String name, Path home, Path base, int port, String workerName, String redisUri,
            Path moduleArchive, Path testClasses) throws IOException, InterruptedException {
        deleteTree(base);
        Files.createDirectories(base);
        JettyNode node = new JettyNode(name, home, base, port);
        node.run(List.of("tar", "xzf", moduleArchive.toString(), "-C", base.toString()), "unpack the Tether archive");
        node.run(List.of(java(), "-jar", home.resolve("start.jar").toString(),
                "--add-modules=http,ee10-deploy,ee8-deploy,session-store-redis"), "start.jar --add-modules");

        // start.d/session-store-redis.ini comes from the module's [ini-template]: point it at the test's Redis.
        Path storeIni = base.resolve("start.d/session-store-redis.ini");
        String ini = Files.readString(storeIni);
        if (!ini.contains("\njetty.session.redis.redisUri=")) {
            throw new IllegalStateException("the module's ini template has no jetty.session.redis.redisUri line:\n" + ini);
        }
        Files.writeString(storeIni, ini.replaceAll("(?m)^jetty\\.session\\.redis\\.redisUri=.*$", "jetty.session.redis.redisUri=" + redisUri));
        node.setWorkerName(workerName);
        append(base.resolve("start.d/http.ini"), "jetty.http.port=" + port + "\n");

        for (String app : APPS) {
            Path webapp = base.resolve("webapps").resolve(app);
            Path classes = webapp.resolve("WEB-INF/classes/dev/tether/jetty/e2e").resolve(app);
            Files.createDirectories(classes);
            Files.copy(testClasses.resolve("e2e").resolve(app).resolve("WEB-INF/web.xml"), webapp.resolve("WEB-INF/web.xml"));
            try (Stream<Path> files = Files.list(testClasses.resolve("dev/tether/jetty/e2e").resolve(app))) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.copy(f, classes.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        // Jetty 12 deploys each directory into one environment, chosen by webapps/<name>.properties.
        Files.writeString(base.resolve("webapps/app10.properties"), "environment=ee10\n");
        Files.writeString(base.resolve("webapps/app8.properties"), "environment=ee8\n");
        return node;
    }

    /** Sets {@code jetty.sessionIdManager.workerName} in {@code start.d/sessions.ini}, as an administrator would. */
    public void setWorkerName(String workerName) throws IOException {
        Path sessionsIni = base.resolve("start.d/sessions.ini");
        List<String> kept = new ArrayList<>();
        if (Files.exists(sessionsIni)) {
            for (String line : Files.readAllLines(sessionsIni)) {
                if (!line.startsWith("jetty.sessionIdManager.workerName=")) {
                    kept.add(line);
                }
            }
        }
        kept.add("jetty.sessionIdManager.workerName=" + workerName);
        Files.write(sessionsIni, kept);
    }

    private static void append(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private void run(List<String> command, String what) throws IOException, InterruptedException {
        Path out = base.resolve("setup.log");
        Process p = new ProcessBuilder(command).directory(base.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(what + " did not finish within 60 s");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(what + " failed (exit " + p.exitValue() + "):\n" + Files.readString(out));
        }
    }

    /** Runs {@code start.jar} with extra arguments (such as {@code --list-config}) and returns its output. */
    public String startJar(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(java(), "-jar", home.resolve("start.jar").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(base.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        p.waitFor(60, TimeUnit.SECONDS);
        return new String(out, StandardCharsets.UTF_8);
    }

    /** Launches the node without waiting for it. */
    public synchronized void launch() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        Files.writeString(log, "==== " + name + " starting at " + java.time.Instant.now() + "\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        logOffset = log().length();
        // No JVM options in any ini, so start.jar runs Jetty in this very JVM (no --exec fork):
        // destroyForcibly() is a kill -9 of the server itself.
        process = new ProcessBuilder(java(), "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dtether.test.node=" + name, "-jar", home.resolve("start.jar").toString())
                .directory(base.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        LAUNCHED.add(process);
    }

    /**
     * Launches the node and waits until both test applications answer and both have connected to
     * Redis (Tether connects in the background and never holds up a start).
     */
    public void start() throws IOException, InterruptedException {
        launch();
        awaitReady();
    }

    public void awaitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        List<String> pending = new ArrayList<>(readyPaths);
        pending.add("redis");
        while (!pending.isEmpty()) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited at start (exit " + process.exitValue() + "):\n" + logTail(80));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " did not serve " + pending + " within 90 s:\n" + logTail(80));
            }
            String path = pending.get(0);
            if (path.equals("redis")) {
                if (count(logSinceLaunch(), "Tether: connected to Redis at") >= redisConnections) {
                    pending.remove(0);
                } else {
                    Thread.sleep(50);
                }
                continue;
            }
            try {
                if (Http.get(port, path, null).status() == 200) {
                    pending.remove(0);
                    continue;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
    }

    /** Waits for the node to exit by itself (a refused configuration); returns its exit code. */
    public int awaitExit(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            return Integer.MIN_VALUE;
        }
        return process.exitValue();
    }

    /** {@code kill -9}: the JVM vanishes with whatever it had not written. */
    public synchronized void kill() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException(name + " survived kill -9");
        }
        LAUNCHED.remove(process);
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    public Path base() {
        return base;
    }

    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What the node logged since its latest launch. */
    public String logSinceLaunch() {
        String all = log();
        return all.length() >= logOffset ? all.substring((int) logOffset) : all;
    }

    static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    public String logTail(int lines) {
        String[] all = log().split("\n");
        int from = Math.max(0, all.length - lines);
        return String.join("\n", java.util.Arrays.copyOfRange(all, from, all.length));
    }

    public Http.Reply get(String app, String query, String cookie) throws IOException {
        return Http.get(port, "/" + app + "/s?" + query, cookie);
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
