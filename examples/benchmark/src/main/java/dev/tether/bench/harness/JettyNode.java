package dev.tether.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A real Jetty 12 from the unpacked jetty-home with a JETTY_BASE of its own, set up as an
 * administrator would: ({@code tar xzf} the Tether module archive,) {@code start.jar --add-modules=...},
 * {@code start.d/*.ini} edits, {@code bench.war} deployed to ee10. No JVM options in any ini, so
 * {@code java -jar start.jar} runs Jetty in that very JVM.
 */
final class JettyNode extends Node {

    private final Path home;
    private final String jvmOpts;

    private JettyNode(String name, Path home, Path base, int port, String jvmOpts) {
        super(name, base, port, base.resolve("node.log"));
        this.home = home;
        this.jvmOpts = jvmOpts;
    }

    static JettyNode create(Options o, Variant variant, String workerName, Path workDir, String redisUri)
            throws IOException, InterruptedException {
        Path base = workDir.resolve(variant.id + "-" + workerName);
        deleteTree(base);
        Files.createDirectories(base);
        String modules = "http,ee10-deploy,sessions";
        if (variant.impl == Variant.Impl.TETHER) {
            Procs.run(List.of("tar", "xzf", o.jettyArchive.toString(), "-C", base.toString()), base, 60);
            modules += ",session-store-redis";
        }
        Procs.run(List.of(java(), "-jar", o.jettyHome.resolve("start.jar").toString(), "--add-modules=" + modules), base, 120);
        if (variant.impl == Variant.Impl.TETHER) {
            Path ini = base.resolve("start.d/session-store-redis.ini");
            String text = Files.readString(ini);
            if (!text.contains("\njetty.session.redis.redisUri=")) {
                throw new IllegalStateException("no jetty.session.redis.redisUri line in " + ini);
            }
            Files.writeString(ini, text.replaceAll("(?m)^jetty\\.session\\.redis\\.redisUri=.*$", "jetty.session.redis.redisUri=" + redisUri));
        }
        Path sessionsIni = base.resolve("start.d/sessions.ini");
        List<String> lines = new ArrayList<>(Files.exists(sessionsIni) ? Files.readAllLines(sessionsIni) : List.of());
        lines.removeIf(l -> l.startsWith("jetty.sessionIdManager.workerName="));
        lines.add("jetty.sessionIdManager.workerName=" + workerName);
        Files.write(sessionsIni, lines);
        int port = Ports.free();
        Files.writeString(base.resolve("start.d/http.ini"), "\njetty.http.host=127.0.0.1\njetty.http.port=" + port + "\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        Files.createDirectories(base.resolve("webapps"));
        Files.copy(o.war, base.resolve("webapps/bench.war"));
        Files.writeString(base.resolve("webapps/bench.properties"), "environment=ee10\n");
        return new JettyNode(variant.id + "-" + workerName, o.jettyHome, base, port, o.jvmOpts);
    }

    static String setupFor(Variant v) {
        return v.impl == Variant.Impl.TETHER
                ? "tether module archive unpacked; --add-modules=http,ee10-deploy,sessions,session-store-redis; jetty.session.redis.redisUri set"
                : "--add-modules=http,ee10-deploy,sessions (default in-memory session cache, no store)";
    }

    @Override
    protected ProcessBuilder command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.addAll(List.of(jvmOpts.trim().split("\\s+")));
        cmd.add("-jar");
        cmd.add(home.resolve("start.jar").toString());
        return new ProcessBuilder(cmd).directory(base.toFile());
    }
}
