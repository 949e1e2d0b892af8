package dev.tether.testkit;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * A real {@code redis-server} on a free loopback port, owned by one test: it can be killed,
 * paused, restarted (empty, or with its data) and queried through a tiny RESP client. Never port
 * 6379. Runs a plain server ({@link #start}; with {@code --replicaof} a replica, with
 * {@code --cluster-enabled yes} a cluster node), a Sentinel ({@link #startSentinel}) or a TLS-only
 * server ({@link #startTls}). Whatever still runs when the JVM exits is killed.
 */
public final class RedisProcess implements AutoCloseable {

    private final int port;
    private final Path dir;
    /** The whole command line, kept for restarts. */
    private final List<String> command;
    /** Set for a TLS-only server: the helpers connect with TLS, trusting the test CA. */
    private SSLSocketFactory tls;
    /** AUTH arguments the helpers send first, for a server that wants a password. */
    private byte[][] auth;
    private Process process;

    private RedisProcess(int port, Path dir, List<String> command) {
        this.port = port;
        this.dir = dir;
        this.command = command;
    }

    /** Starts a fresh server with persistence off; {@code extraArgs} are added to its command line. */
    public static RedisProcess start(String... extraArgs) {
        return startOnPort(Ports.free(), extraArgs);
    }

    /**
     * Starts a fresh server on a given port, for a test that first ran something against that port
     * while nothing listened there (a client started before its Redis).
     */
    public static RedisProcess startOnPort(int port, String... extraArgs) {
        Path dir = tempDir("tether-redis-");
        RedisProcess r = new RedisProcess(port, dir, serverCommand(port, dir, List.of(extraArgs)));
        r.launch();
        return r;
    }

    /**
     * Starts a Sentinel ({@code redis-server sentinel.conf --sentinel}) on a free port, monitoring
     * the master at {@code 127.0.0.1:masterPort} under {@code masterName}.
     */
    public static RedisProcess startSentinel(String masterName, int masterPort, int quorum, long downAfterMillis,
            long failoverTimeoutMillis) {
        Path dir = tempDir("tether-sentinel-");
        int port = Ports.free();
        Path conf = dir.resolve("sentinel.conf");
        write(conf, String.join("\n",
                "port " + port,
                "bind 127.0.0.1",
                "protected-mode no",
                "daemonize no",
                "dir " + dir,
                "sentinel monitor " + masterName + " 127.0.0.1 " + masterPort + " " + quorum,
                "sentinel down-after-milliseconds " + masterName + " " + downAfterMillis,
                "sentinel failover-timeout " + masterName + " " + failoverTimeoutMillis,
                "sentinel parallel-syncs " + masterName + " 1",
                ""));
        RedisProcess r = new RedisProcess(port, dir, List.of(binary(), conf.toString(), "--sentinel"));
        r.launch();
        return r;
    }

    /**
     * Starts a server that listens with TLS only ({@code --port 0}), on a free port, with the given
     * PEM files; clients are not asked for certificates. The helpers of the returned process speak
     * TLS, trusting {@code caCert}, and authenticate as {@code adminUser} when it is not {@code null}
     * (a server whose {@code default} user is disabled needs that even for PING).
     */
    public static RedisProcess startTls(Path caCert, Path serverCert, Path serverKey, String adminUser, String adminPassword,
            String... extraArgs) {
        Path dir = tempDir("tether-redis-tls-");
        int port = Ports.free();
        List<String> args = new ArrayList<>(List.of("--port", "0", "--tls-port", Integer.toString(port),
                "--tls-cert-file", serverCert.toString(), "--tls-key-file", serverKey.toString(),
                "--tls-ca-cert-file", caCert.toString(), "--tls-auth-clients", "no"));
        args.addAll(List.of(extraArgs));
        RedisProcess r = new RedisProcess(port, dir, serverCommand(port, dir, args));
        r.tls = trusting(caCert);
        if (adminUser != null) {
            r.auth = toBytes("AUTH", adminUser, adminPassword);
        }
        r.launch();
        return r;
    }

    /** The redis-server binary: on the PATH, or where Debian and a source install put it. */
    public static String binary() {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/bin", "/usr/local/bin"));
        for (String d : dirs) {
            File candidate = new File(d, "redis-server");
            if (!d.isEmpty() && candidate.canExecute()) {
                return candidate.getPath();
            }
        }
        throw new IllegalStateException("redis-server is not installed. Install it with: sudo apt-get install -y redis-server"
                + " (or run bash .ci/run, which installs what the tests need)");
    }

    private static List<String> serverCommand(int port, Path dir, List<String> extraArgs) {
        List<String> cmd = new ArrayList<>(List.of(binary(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--dir", dir.toString(), "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"));
        cmd.addAll(extraArgs);
        return cmd;
    }

    private void launch() {
        process = Processes.start(new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile())));
        boolean up = Await.within(Duration.ofSeconds(10), () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server exited at start: " + log());
            }
            try {
                return "PONG".equals(command("PING"));
            } catch (IllegalStateException notListeningYet) {
                return false;
            }
        });
        if (!up) {
            throw new IllegalStateException("redis-server did not answer on port " + port + ": " + log());
        }
    }

    public int port() {
        return port;
    }

    public String uri() {
        return (tls != null ? "rediss://127.0.0.1:" : "redis://127.0.0.1:") + port;
    }

    /** The directory the server runs in (its log is {@code redis.log} there). */
    public Path dir() {
        return dir;
    }

    /** The server's own log so far, for failure messages. */
    public String log() {
        try {
            return Files.readString(dir.resolve("redis.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The operating-system id of the running server. */
    public long pid() {
        return process.pid();
    }

    /** SIGSTOP: the server freezes, its connections stay open (a stalled, not a dead, server). */
    public void pause() {
        Processes.signal(process, "STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    public void resume() {
        Processes.signal(process, "CONT");
    }

    /** kill -9: the server vanishes with whatever it held. */
    public void kill() {
        Processes.kill9(process);
    }

    /** Starts again on the same port, empty (a snapshot an earlier SAVE left is deleted first). */
    public void restartEmpty() {
        kill();
        try {
            Files.deleteIfExists(dir.resolve("dump.rdb"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        launch();
    }

    /** Saves a snapshot, stops, and starts again on the same port with the data loaded. */
    public void restartWithData() {
        command("SAVE");
        kill();
        launch();
    }

    /**
     * Starts the server again on the same port and directory after {@link #kill()}: it loads whatever
     * snapshot an earlier {@code SAVE} left there (for an outage spanning commands sent meanwhile).
     */
    public void relaunch() {
        if (isAlive()) {
            throw new IllegalStateException("redis-server is still running; kill() it first");
        }
        launch();
    }

    /**
     * From now on the helpers authenticate with this password ({@code AUTH password}) before each
     * command: for a server given {@code requirepass} after it started.
     */
    public void password(String password) {
        auth = toBytes("AUTH", password);
    }

    // ------------------------------------------------------------------ the RESP client

    /**
     * Runs one command and returns the reply with its structure: {@code byte[]} for bulk strings,
     * {@code String} for simple strings, {@code Long} for integers, {@code List<Object>} for arrays,
     * {@code null} for nil. An error reply throws {@link IllegalStateException}.
     */
    public Object reply(String... args) {
        return reply(toBytes(args));
    }

    /** Like {@link #reply(String...)} with binary arguments. */
    public Object reply(byte[]... args) {
        return call(false, args);
    }

    /**
     * Like {@link #reply(String...)}, after {@code READONLY} on the same connection: a Redis Cluster
     * replica then answers reads of its master's keys instead of redirecting them.
     */
    public Object replyReadonly(String... args) {
        return call(true, toBytes(args));
    }

    /**
     * Runs one command and returns the reply flattened to text: bulk and simple strings as they
     * are, integers in decimal, arrays as lines, nil as {@code null}.
     */
    public String command(String... args) {
        return text(reply(args));
    }

    /** Like {@link #command} with binary arguments (to plant crafted values). */
    public String commandBytes(byte[]... args) {
        return text(reply(args));
    }

    /** HGETALL with binary-exact values, in field order as Redis returned them. */
    public Map<String, byte[]> hgetall(String key) {
        return fieldMap(reply("HGETALL", key));
    }

    /** {@link #hgetall} on a Redis Cluster replica (after READONLY). */
    public Map<String, byte[]> hgetallReadonly(String key) {
        return fieldMap(replyReadonly("HGETALL", key));
    }

    /** Keys matching a pattern (KEYS is fine on a test server). */
    public List<String> keys(String pattern) {
        String reply = command("KEYS", pattern);
        return reply == null || reply.isEmpty() ? List.of() : List.of(reply.split("\n"));
    }

    /** One INFO section as name → value. */
    public Map<String, String> info(String section) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : command("INFO", section).split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.startsWith("#")) {
                out.put(line.substring(0, colon), line.substring(colon + 1));
            }
        }
        return out;
    }

    /** Calls of every command since start or the last CONFIG RESETSTAT (INFO commandstats), by lower-case name. */
    public Map<String, Long> commandCallsByName() {
        Map<String, Long> calls = new LinkedHashMap<>();
        info("commandstats").forEach((stat, values) -> {
            for (String kv : values.split(",")) {
                if (kv.startsWith("calls=")) {
                    calls.put(stat.replaceFirst("^cmdstat_", ""), Long.parseLong(kv.substring(6)));
                }
            }
        });
        return calls;
    }

    /** Calls of one command since start or the last CONFIG RESETSTAT. */
    public long commandCalls(String name) {
        return commandCallsByName().getOrDefault(name.toLowerCase(java.util.Locale.ROOT), 0L);
    }

    /** All commands counted by INFO commandstats, summed. */
    public long totalCommandCalls() {
        return commandCallsByName().values().stream().mapToLong(Long::longValue).sum();
    }

    /** Starts reading MONITOR: every command the server runs from now on until the monitor is closed. */
    public RedisMonitor monitor() {
        try {
            return new RedisMonitor(open(), port);
        } catch (IOException e) {
            throw new UncheckedIOException("MONITOR on port " + port + " failed", e);
        }
    }

    private Object call(boolean readonly, byte[]... args) {
        try (Socket s = open()) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            if (readonly) {
                s.getOutputStream().write(encode(toBytes("READONLY")));
            }
            s.getOutputStream().write(encode(args));
            s.getOutputStream().flush();
            if (readonly) {
                read(in);
            }
            return read(in);
        } catch (IOException e) {
            throw new IllegalStateException("redis command " + new String(args[0], StandardCharsets.UTF_8) + " on port " + port
                    + " failed: " + e.getMessage(), e);
        }
    }

    /** A connection for one helper command: TLS and AUTH as this server needs them. */
    Socket open() throws IOException {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            s.setSoTimeout(10_000);
            if (tls != null) {
                SSLSocket secure = (SSLSocket) tls.createSocket(s, "127.0.0.1", port, true);
                secure.startHandshake();
                s = secure;
            }
            if (auth != null) {
                s.getOutputStream().write(encode(auth));
                s.getOutputStream().flush();
                try {
                    read(s.getInputStream()); // unbuffered: the socket's next bytes are the caller's
                } catch (IOException e) {
                    throw new IOException("AUTH failed: " + e.getMessage(), e);
                }
            }
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private static Object read(InputStream in) throws IOException {
        int type = in.read();
        String line = readLine(in);
        switch (type) {
            case '+':
                return line;
            case ':':
                return Long.parseLong(line);
            case '-':
                throw new IOException(line);
            case '$': {
                int n = Integer.parseInt(line);
                if (n < 0) {
                    return null;
                }
                return Arrays.copyOf(in.readNBytes(n + 2), n);
            }
            case '*': {
                int n = Integer.parseInt(line);
                if (n < 0) {
                    return null;
                }
                List<Object> out = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    out.add(read(in));
                }
                return out;
            }
            default:
                throw new IOException("unexpected reply type " + type);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\r') {
                in.read();
                break;
            }
            sb.append((char) c);
        }
        return sb.toString();
    }

    /** A structured reply as text: arrays one element a line. */
    private static String text(Object reply) {
        if (reply instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        if (reply instanceof List<?> list) {
            List<String> lines = new ArrayList<>();
            list.forEach(e -> lines.add(text(e)));
            return String.join("\n", lines);
        }
        return reply == null ? null : reply.toString();
    }

    private static Map<String, byte[]> fieldMap(Object reply) {
        List<?> flat = (List<?>) reply;
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            out.put(new String((byte[]) flat.get(i), StandardCharsets.UTF_8), (byte[]) flat.get(i + 1));
        }
        return out;
    }

    static byte[] encode(byte[]... args) {
        ByteArrayOutputStream req = new ByteArrayOutputStream();
        req.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        for (byte[] a : args) {
            req.writeBytes(("$" + a.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            req.writeBytes(a);
            req.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        return req.toByteArray();
    }

    static byte[][] toBytes(String... args) {
        byte[][] out = new byte[args.length][];
        for (int i = 0; i < args.length; i++) {
            out[i] = args[i].getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }

    private static SSLSocketFactory trusting(Path caCert) {
        try (InputStream in = Files.newInputStream(caCert)) {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx.getSocketFactory();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot trust " + caCert, e);
        }
    }

    private static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        kill();
        Dirs.delete(dir);
    }
}
