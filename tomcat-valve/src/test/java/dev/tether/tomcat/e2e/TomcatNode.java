package dev.tether.tomcat.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.Stream;

/**
 * One real Tomcat, started from an unpacked distribution ({@code CATALINA_HOME}) with its own
 * {@code CATALINA_BASE} under {@code target/}: the shaded Tether jar in {@code lib/}, a
 * {@code server.xml} with a free HTTP port, no shutdown port and {@code jvmRoute=<name>}, a user
 * for FORM login, and the test application exploded as {@code webapps/app} with a
 * {@code RedisSessionManager} in its {@code META-INF/context.xml}.
 *
 * <p>Started with {@code catalina.sh run}, which {@code exec}s the JVM, so the process we hold is
 * the Tomcat JVM itself and {@link #kill9()} is a real {@code kill -9}.
 *
 * <p>{@link #create(Path, String, Path, Path, String, BiFunction, Webapp)} deploys any other
 * application (a WAR or an exploded directory) with a server.xml and users given by the caller;
 * the failover tests through real balancers ({@code examples/failover-tests}) run the example
 * shop that way.
 */
public final class TomcatNode implements AutoCloseable {

    /**
     * A web application to deploy: {@code source} (a {@code .war} file or an exploded directory)
     * becomes {@code webapps/<contextName>}, {@code contextXml} (may be null) becomes
     * {@code conf/Catalina/localhost/<contextName>.xml}. The node counts as started when
     * {@code GET readyPath} answers 200 with a body containing {@code readyMarker}.
     */
    public record Webapp(String contextName, Path source, String contextXml, String readyPath, String readyMarker) {
    }

    static final String USER = "alice";
    static final String PASSWORD = "s3cret-Pw";
    static final String ROLE = "tester";

    /** Every node still running in this JVM, killed by a shutdown hook should a test run be aborted. */
    private static final Set<TomcatNode> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(TomcatNode::kill9), "kill-tomcat-nodes"));
    }

    private final String name;
    private final Path home;
    private final Path base;
    private final int port;
    private final String redisUri;
    private final Path log;
    private final String readyPath;
    private final String readyMarker;
    private Process process;
    /** Appended to CATALINA_OPTS at each start (e.g. remote JMX); see {@link #addCatalinaOpts(String)}. */
    private String extraCatalinaOpts = "";
    private long logOffsetAtStart;

    private TomcatNode(String name, Path home, Path base, int port, String redisUri, String readyPath, String readyMarker) {
        this.name = name;
        this.home = home;
        this.base = base;
        this.port = port;
        this.redisUri = redisUri;
        this.log = base.resolve("logs").resolve("console.log");
        this.readyPath = readyPath;
        this.readyMarker = readyMarker;
    }

    /**
     * Lays out a fresh CATALINA_BASE in {@code workDir/name}.
     *
     * @param tetherJar the shaded jar to put in {@code lib/}
     * @param testClasses compiled test classes: the application's classes and its resources ({@code e2e-webapp/})
     */
    static TomcatNode create(Path workDir, String name, Path home, String redisUri, Path tetherJar, Path testClasses)
            throws IOException {
        Path base = workDir.resolve(name);
        deleteTree(base);
        Files.createDirectories(base);
        for (String dir : List.of("conf", "lib", "logs", "temp", "work", "webapps/app/META-INF", "webapps/app/WEB-INF/classes")) {
            Files.createDirectories(base.resolve(dir));
        }
        try (Stream<Path> conf = Files.list(home.resolve("conf"))) {
            for (Path f : conf.filter(Files::isRegularFile).toList()) {
                Files.copy(f, base.resolve("conf").resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        int port = freePort();
        Files.writeString(base.resolve("conf/server.xml"), serverXml(port, name));
        Files.writeString(base.resolve("conf/tomcat-users.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">
                  <role rolename="%s"/>
                  <user username="%s" password="%s" roles="%s"/>
                </tomcat-users>
                """.formatted(ROLE, USER, PASSWORD, ROLE));
        Files.copy(tetherJar, base.resolve("lib").resolve(tetherJar.getFileName()));

        Path app = base.resolve("webapps/app");
        copyTree(testClasses.resolve("e2e-webapp"), app);
        Path appClasses = Path.of("dev", "tether", "tomcat", "e2e", "app");
        copyTree(testClasses.resolve(appClasses), app.resolve("WEB-INF/classes").resolve(appClasses));
        if (!Files.exists(app.resolve("WEB-INF/classes/dev/tether/tomcat/e2e/app/AppServlet.class"))) {
            throw new IllegalStateException("test application classes not found under " + testClasses);
        }
        Files.writeString(app.resolve("META-INF/context.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <!-- nothing in lib/ or WEB-INF/lib needs scanning; keeps start-up fast -->
                  <JarScanner scanClassPath="false"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s"/>
                </Context>
                """.formatted(redisUri));
        return new TomcatNode(name, home, base, port, redisUri, "/app/ping", "pong=true");
    }

    /**
     * Lays out a fresh CATALINA_BASE in {@code workDir/name} for any application: the home's
     * {@code conf/}, then {@code conf/server.xml} from {@code serverXml.apply(port, name)} (the
     * node's free HTTP port and its name, which is meant to be its jvmRoute),
     * {@code conf/tomcat-users.xml}, the Tether jar in {@code lib/} and the application.
     */
    public static TomcatNode create(Path workDir, String name, Path home, Path tetherJar, String tomcatUsersXml,
            BiFunction<Integer, String, String> serverXml, Webapp app) throws IOException {
        Path base = workDir.resolve(name);
        deleteTree(base);
        for (String dir : List.of("conf/Catalina/localhost", "lib", "logs", "temp", "work", "webapps")) {
            Files.createDirectories(base.resolve(dir));
        }
        try (Stream<Path> conf = Files.list(home.resolve("conf"))) {
            for (Path f : conf.filter(Files::isRegularFile).toList()) {
                Files.copy(f, base.resolve("conf").resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        int port = freePort();
        Files.writeString(base.resolve("conf/server.xml"), serverXml.apply(port, name));
        Files.writeString(base.resolve("conf/tomcat-users.xml"), tomcatUsersXml);
        Files.copy(tetherJar, base.resolve("lib").resolve(tetherJar.getFileName()));
        if (Files.isDirectory(app.source())) {
            copyTree(app.source(), base.resolve("webapps").resolve(app.contextName()));
        } else if (Files.isRegularFile(app.source())) {
            Files.copy(app.source(), base.resolve("webapps").resolve(app.contextName() + ".war"));
        } else {
            throw new IllegalStateException("no web application at " + app.source());
        }
        if (app.contextXml() != null) {
            Files.writeString(base.resolve("conf/Catalina/localhost").resolve(app.contextName() + ".xml"), app.contextXml());
        }
        return new TomcatNode(name, home, base, port, "(see conf/Catalina/localhost/" + app.contextName() + ".xml)",
                app.readyPath(), app.readyMarker());
    }

    private static String serverXml(int port, String route) {
        return """
                <?xml version="1.0" encoding="UTF-8"?>
                <Server port="-1" shutdown="SHUTDOWN">
                  <Listener className="org.apache.catalina.startup.VersionLoggerListener"/>
                  <GlobalNamingResources>
                    <Resource name="UserDatabase" auth="Container" type="org.apache.catalina.UserDatabase"
                              factory="org.apache.catalina.users.MemoryUserDatabaseFactory"
                              pathname="conf/tomcat-users.xml"/>
                  </GlobalNamingResources>
                  <Service name="Catalina">
                    <Connector port="%d" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"/>
                    <Engine name="Catalina" defaultHost="localhost" jvmRoute="%s">
                      <Realm className="org.apache.catalina.realm.LockOutRealm">
                        <Realm className="org.apache.catalina.realm.UserDatabaseRealm" resourceName="UserDatabase"/>
                      </Realm>
                      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
                    </Engine>
                  </Service>
                </Server>
                """.formatted(port, route);
    }

    public String name() {
        return name;
    }

    /** The jvmRoute, which is also the node's name. */
    public String route() {
        return name;
    }

    public int port() {
        return port;
    }

    public Path base() {
        return base;
    }

    /** The console log ({@code catalina.sh run} output: Tomcat's and Tether's log lines). */
    public Path logFile() {
        return log;
    }

    /** JVM options appended to {@code CATALINA_OPTS} from the next {@link #start()} on. */
    public synchronized void addCatalinaOpts(String opts) {
        extraCatalinaOpts += " " + opts.trim();
    }

    /** Rewrites {@code conf/server.xml} before the node starts (e.g. connector attributes). */
    public void editServerXml(java.util.function.UnaryOperator<String> edit) throws IOException {
        Path serverXml = base.resolve("conf/server.xml");
        Files.writeString(serverXml, edit.apply(Files.readString(serverXml)));
    }

    /**
     * Deploys the test application (as laid out in {@code webapps/app}) a second time as
     * {@code webapps/<contextName>}, or only replaces its context.xml when contextName is
     * {@code app}: the {@code META-INF/context.xml} becomes {@code contextXml}. Before start.
     */
    public void deployTestApp(String contextName, String contextXml) throws IOException {
        Path app = base.resolve("webapps").resolve(contextName);
        if (!contextName.equals("app")) {
            copyTree(base.resolve("webapps/app"), app);
        }
        Files.writeString(app.resolve("META-INF/context.xml"), contextXml);
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /** The JVM's command line as the OS reports it (to show it is java itself, not a shell). */
    public synchronized String command() {
        return process == null ? "(not running)" : process.info().command().orElse("?");
    }

    /**
     * Starts Tomcat and waits until the application answers, which is when a balancer would start
     * sending it traffic. It deliberately does not wait for Tether's Redis connection: a node must
     * serve existing sessions from its first request on.
     */
    public synchronized void start() throws IOException {
        if (isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        Files.createDirectories(log.getParent());
        if (!Files.exists(log)) {
            Files.createFile(log);
        }
        logOffsetAtStart = Files.size(log);
        Files.writeString(log, "\n===== test harness: starting " + name + " on port " + port + " =====\n",
                java.nio.file.StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", home.resolve("bin/catalina.sh").toString(), "run")
                .directory(base.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = pb.environment();
        for (String k : List.of("CATALINA_PID", "CATALINA_OUT", "JRE_HOME", "JAVA_OPTS", "JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS",
                "CLASSPATH", "JPDA_OPTS")) {
            env.remove(k);
        }
        env.put("CATALINA_HOME", home.toString());
        env.put("CATALINA_BASE", base.toString());
        env.put("CATALINA_TMPDIR", base.resolve("temp").toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("CATALINA_OPTS", "-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k"
                + " -Dtether.node=" + name + extraCatalinaOpts);
        process = pb.start();
        LIVE.add(this);
        awaitReady(Duration.ofSeconds(120));
        String command = process.info().command().orElse("?");
        if (!command.endsWith("/java")) {
            throw new IllegalStateException(name + ": process " + process.pid() + " runs '" + command
                    + "', not java: catalina.sh run did not exec the JVM, kill -9 would hit a wrapper");
        }
    }

    private void awaitReady(Duration timeout) {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest ping = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + readyPath))
                .timeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited during start-up (exit " + process.exitValue() + "):\n" + tail(80));
            }
            try {
                HttpResponse<String> r = client.send(ping, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains(readyMarker)) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            sleep(100);
        }
        throw new IllegalStateException(name + " did not answer within " + timeout.toSeconds() + " s:\n" + tail(80));
    }

    /** kill -9 of the Tomcat JVM (and, as a safety net, anything it started). */
    public synchronized void kill9() {
        Process p = process;
        if (p == null) {
            return;
        }
        process = null;
        List<ProcessHandle> descendants = new ArrayList<>();
        try {
            descendants.addAll(p.descendants().toList());
        } catch (RuntimeException ignored) {
            // already gone
        }
        p.destroyForcibly();
        descendants.forEach(ProcessHandle::destroyForcibly);
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException(name + ": pid " + p.pid() + " survived kill -9");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LIVE.remove(this);
        // The port must be closed before anyone relies on the node being gone.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && portOpen()) {
            sleep(50);
        }
        appendToLog("\n===== test harness: kill -9 " + name + " (pid " + p.pid() + ") =====\n");
    }

    /** kill -9, then start again on the same port with the same CATALINA_BASE (memory is lost, Redis is not). */
    public synchronized void restart() throws IOException {
        kill9();
        start();
    }

    private boolean portOpen() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void appendToLog(String text) {
        try {
            Files.writeString(log, text, java.nio.file.StandardOpenOption.APPEND, java.nio.file.StandardOpenOption.CREATE);
        } catch (IOException ignored) {
            // diagnostics only
        }
    }

    private String logSinceStart() throws IOException {
        byte[] all = Files.readAllBytes(log);
        int from = (int) Math.min(all.length, logOffsetAtStart);
        return new String(all, from, all.length - from, StandardCharsets.UTF_8);
    }

    /** The last lines of this node's console log (Tomcat's and Tether's log output). */
    public String tail(int lines) {
        try {
            if (!Files.exists(log)) {
                return "(no log yet)";
            }
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    /** Whether the console log contains a text since this node's last start. */
    public boolean logContains(String text) {
        try {
            return logSinceStart().contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() {
        kill9();
    }

    @Override
    public String toString() {
        return name + "(port " + port + ", pid " + pid() + ", " + redisUri + ", " + base + ")";
    }

    public static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        if (!Files.isDirectory(from)) {
            throw new IllegalStateException("missing " + from);
        }
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
