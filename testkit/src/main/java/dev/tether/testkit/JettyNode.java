package dev.tether.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One node of the real Jetty 12 distribution: {@code jetty-home} and a {@code $JETTY_BASE} of its
 * own, set up the way the README tells an administrator: unpack the Tether module archive
 * ({@link #unpack}), {@code start.jar --add-modules=...} ({@link #addModules}), edit
 * {@code start.d/*.ini} ({@link #setIni}); the caller adds its web applications. Run as
 * {@code java -jar $JETTY_HOME/start.jar}: with no JVM options in any ini, start.jar runs Jetty in
 * that very JVM (no forked child), so {@link #kill9()} is a {@code kill -9} of the server itself.
 */
public final class JettyNode extends ServerNode {

    private final Path home;
    private String workerName;

    private JettyNode(String name, Path home, Path base, int port, String workerName) {
        super(name, base, port, base.resolve("node.log"));
        this.home = home;
        this.workerName = workerName;
    }

    /** A fresh, empty {@code $JETTY_BASE} in {@code base} for a node with this workerName, on a free port. */
    public static JettyNode create(String name, Path home, Path base, String workerName) {
        if (!Files.isRegularFile(home.resolve("start.jar"))) {
            throw new IllegalStateException("not a jetty-home: " + home);
        }
        return new JettyNode(name, home, Dirs.fresh(base), Ports.free(), workerName);
    }

    /** Unpacks an archive ({@code .tar.gz}) into the base, e.g. Tether's {@code tether-jetty-module-*.tar.gz}. */
    public void unpack(Path archive) {
        Processes.run(base(), Duration.ofSeconds(60), "tar", "xzf", archive.toString(), "-C", base().toString());
    }

    /**
     * {@code start.jar --add-modules=...} (with what they depend on), then the node's port on
     * 127.0.0.1 in {@code start.d/http.ini} and its workerName in {@code start.d/sessions.ini}.
     */
    public void addModules(String... modules) {
        startJar("--add-modules=" + String.join(",", modules));
        setIni("http.ini", "jetty.http.host", "127.0.0.1");
        setIni("http.ini", "jetty.http.port", Integer.toString(port()));
        workerName(workerName);
    }

    /** Sets {@code jetty.sessionIdManager.workerName} in {@code start.d/sessions.ini}, as an administrator would. */
    public void workerName(String name) {
        workerName = name;
        setIni("sessions.ini", "jetty.sessionIdManager.workerName", name);
    }

    /**
     * Points Tether's {@code start.d/session-store-redis.ini} (written by {@code --add-modules} from
     * the module's ini template, which must have the line) at a Redis.
     */
    public void useRedis(String uri) {
        Path ini = base().resolve("start.d/session-store-redis.ini");
        try {
            if (!Files.exists(ini) || !Files.readString(ini).contains("\njetty.session.redis.redisUri=")) {
                throw new IllegalStateException("the module's ini template has no jetty.session.redis.redisUri line: " + ini);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        setIni("session-store-redis.ini", "jetty.session.redis.redisUri", uri);
    }

    /**
     * Sets {@code key=value} in {@code start.d/<file>} the way an administrator edits it: the line
     * setting the key ({@code key=} or {@code key?=}) is replaced, or the setting appended.
     */
    public void setIni(String file, String key, String value) {
        Path ini = base().resolve("start.d").resolve(file);
        List<String> lines = new ArrayList<>();
        try {
            if (Files.exists(ini)) {
                lines.addAll(Files.readAllLines(ini));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean replaced = false;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).trim();
            if (l.startsWith(key + "=") || l.startsWith(key + "?=")) {
                lines.set(i, replaced ? "" : key + "=" + value);
                replaced = true;
            }
        }
        if (!replaced) {
            lines.add(key + "=" + value);
        }
        write(ini, String.join("\n", lines) + "\n");
    }

    /** Runs {@code start.jar} in the base with these arguments (such as {@code --list-config}); returns its output. */
    public String startJar(String... args) {
        List<String> cmd = new ArrayList<>(List.of(java(), "-jar", home.resolve("start.jar").toString()));
        cmd.addAll(List.of(args));
        return Processes.run(base(), Duration.ofSeconds(120), cmd);
    }

    @Override
    ProcessBuilder launchCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.addAll(List.of(launchJvmOptions().split("\\s+")));
        cmd.addAll(List.of("-jar", home.resolve("start.jar").toString()));
        return new ProcessBuilder(cmd).directory(base().toFile());
    }
}
