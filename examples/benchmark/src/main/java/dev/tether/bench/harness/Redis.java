package dev.tether.bench.harness;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The benchmark's own redis-server (free port, loopback, no persistence) and a minimal RESP client for it. */
final class Redis implements AutoCloseable {

    private final int port;
    private final Process process;
    private final Path dir;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    private Redis(int port, Process process, Path dir) {
        this.port = port;
        this.process = process;
        this.dir = dir;
    }

    static Redis start(String redisServer, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        int port = Ports.free();
        Process p = new ProcessBuilder(redisServer, "--port", String.valueOf(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--protected-mode", "yes",
                "--daemonize", "no", "--loglevel", "warning", "--logfile", dir.resolve("redis.log").toString())
                .directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.out").toFile())).start();
        Procs.track(p);
        Redis redis = new Redis(port, p, dir);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                if ("PONG".equals(redis.command("PING"))) {
                    return redis;
                }
            } catch (IOException notYet) {
                redis.disconnect();
            }
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("redis-server did not start on port " + port + ": see " + dir);
            }
            Thread.sleep(50);
        }
    }

    int port() {
        return port;
    }

    String uri() {
        return "redis://127.0.0.1:" + port;
    }

    long pid() {
        return process.pid();
    }

    /** Sends one command, returns the reply: a String, a Long, a List or null. */
    synchronized Object command(String... args) throws IOException {
        if (socket == null) {
            socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            socket.setSoTimeout(30_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }
        ByteArrayOutputStream req = new ByteArrayOutputStream();
        req.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        for (String a : args) {
            byte[] b = a.getBytes(StandardCharsets.UTF_8);
            req.writeBytes(("$" + b.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            req.writeBytes(b);
            req.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        try {
            out.write(req.toByteArray());
            out.flush();
            return read();
        } catch (IOException e) {
            disconnect();
            throw e;
        }
    }

    private Object read() throws IOException {
        int type = in.read();
        String line = line();
        switch (type) {
            case '+':
                return line;
            case '-':
                throw new IOException("Redis error: " + line);
            case ':':
                return Long.parseLong(line);
            case '$': {
                int len = Integer.parseInt(line);
                if (len < 0) {
                    return null;
                }
                byte[] b = in.readNBytes(len + 2);
                return new String(b, 0, len, StandardCharsets.UTF_8);
            }
            case '*': {
                int n = Integer.parseInt(line);
                List<Object> list = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    list.add(read());
                }
                return list;
            }
            default:
                throw new IOException("unexpected RESP type " + type);
        }
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\r') {
                in.read();
                break;
            }
            sb.append((char) c);
        }
        if (c == -1) {
            throw new IOException("connection closed");
        }
        return sb.toString();
    }

    /** INFO section as key → value. */
    Map<String, String> info(String section) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String l : ((String) command("INFO", section)).split("\r\n")) {
            int i = l.indexOf(':');
            if (i > 0 && !l.startsWith("#")) {
                m.put(l.substring(0, i), l.substring(i + 1));
            }
        }
        return m;
    }

    /** Calls per command since the last CONFIG RESETSTAT, without the harness's own INFO/CONFIG. */
    Map<String, Long> commandCalls() throws IOException {
        Map<String, Long> calls = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : info("commandstats").entrySet()) {
            String cmd = e.getKey().replaceFirst("^cmdstat_", "");
            if (cmd.equals("info") || cmd.startsWith("config")) {
                continue;
            }
            for (String kv : e.getValue().split(",")) {
                if (kv.startsWith("calls=")) {
                    calls.put(cmd, Long.parseLong(kv.substring(6)));
                }
            }
        }
        return calls;
    }

    /** Seconds of CPU redis-server has used (user + system). */
    double cpuSeconds() throws IOException {
        Map<String, String> cpu = info("cpu");
        return Double.parseDouble(cpu.get("used_cpu_user")) + Double.parseDouble(cpu.get("used_cpu_sys"));
    }

    long usedMemory() throws IOException {
        return Long.parseLong(info("memory").get("used_memory"));
    }

    long dbSize() throws IOException {
        return (Long) command("DBSIZE");
    }

    String version() throws IOException {
        return info("server").get("redis_version");
    }

    void flushAll() throws IOException {
        command("FLUSHALL");
    }

    void resetStats() throws IOException {
        command("CONFIG", "RESETSTAT");
    }

    /**
     * A MONITOR connection counting what clients send (top-level commands: the round trips) apart
     * from what Lua scripts call inside Redis (shown as {@code [db lua]}). MONITOR slows Redis
     * down, so the harness uses it only during warm-up runs, whose numbers are discarded.
     */
    final class Monitor implements AutoCloseable {
        private final Socket s;
        private final Thread reader;
        private final java.util.concurrent.atomic.AtomicLong topLevel = new java.util.concurrent.atomic.AtomicLong();
        private final java.util.concurrent.atomic.AtomicLong inScripts = new java.util.concurrent.atomic.AtomicLong();
        private final Map<String, Long> topLevelByCommand = new java.util.concurrent.ConcurrentHashMap<>();

        Monitor() throws IOException {
            s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.getOutputStream().write("MONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            java.io.BufferedReader r = new java.io.BufferedReader(
                    new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8), 1 << 16);
            String ok = r.readLine();
            if (!"+OK".equals(ok)) {
                s.close();
                throw new IOException("MONITOR answered " + ok);
            }
            reader = new Thread(() -> {
                try {
                    String line;
                    while ((line = r.readLine()) != null) {
                        int open = line.indexOf('[');
                        int close = line.indexOf(']', open + 1);
                        if (open < 0 || close < 0) {
                            continue;
                        }
                        if (line.substring(open, close).endsWith(" lua")) {
                            inScripts.incrementAndGet();
                        } else {
                            topLevel.incrementAndGet();
                            int q1 = line.indexOf('"', close);
                            int q2 = q1 < 0 ? -1 : line.indexOf('"', q1 + 1);
                            if (q2 > q1) {
                                topLevelByCommand.merge(line.substring(q1 + 1, q2).toLowerCase(java.util.Locale.ROOT), 1L, Long::sum);
                            }
                        }
                    }
                } catch (IOException closed) {
                    // stop() closed the socket
                }
            }, "redis-monitor");
            reader.setDaemon(true);
            reader.start();
        }

        long topLevel() {
            return topLevel.get();
        }

        long inScripts() {
            return inScripts.get();
        }

        Map<String, Long> topLevelByCommand() {
            return new java.util.TreeMap<>(topLevelByCommand);
        }

        private boolean closed;

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                Thread.sleep(200); // the last lines of the run
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            s.close();
            try {
                reader.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    Monitor monitor() throws IOException {
        return new Monitor();
    }

    private void disconnect() {
        try {
            if (socket != null) {
                socket.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        socket = null;
    }

    @Override
    public void close() {
        disconnect();
        Procs.kill(process);
    }
}
