package dev.tether.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a Redis server runs while it is open, through {@code MONITOR} ({@link RedisProcess#monitor()}).
 * Unlike INFO commandstats, which also counts the commands a Lua script runs inside Redis, this
 * tells round trips apart: a script's own commands are shown as {@code [0 lua]} and kept apart.
 * MONITOR slows Redis down: open one only around what it is meant to count.
 */
public final class RedisMonitor implements AutoCloseable {

    private final Socket socket;
    private final List<String> lines = new ArrayList<>();
    private final Thread reader;
    private boolean closed;

    RedisMonitor(Socket socket, int port) throws IOException {
        this.socket = socket;
        try {
            socket.setSoTimeout(0); // it waits for commands as long as it is open
            socket.getOutputStream().write(RedisProcess.encode(RedisProcess.toBytes("MONITOR")));
            socket.getOutputStream().flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8), 1 << 16);
            String ok = in.readLine();
            if (!"+OK".equals(ok)) {
                throw new IOException("MONITOR on port " + port + " answered " + ok);
            }
            reader = new Thread(() -> {
                try {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        synchronized (lines) {
                            lines.add(line);
                        }
                    }
                } catch (IOException closedBySocket) {
                    // close() ends it
                }
            }, "redis-monitor-" + port);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        reader.setDaemon(true);
        reader.start();
    }

    /** Every line so far, script-internal commands and INFO included. */
    public List<String> lines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    /**
     * The commands clients sent so far (the round trips): without those a Lua script ran inside
     * Redis, without INFO, which is how the tests and the benchmark read the server's counters, and
     * without the nodes' periodic reports of their session counts (a hash {@code <prefix>nodes}),
     * which no request causes.
     */
    public List<String> clientCommands() {
        return lines().stream().filter(l -> !fromScript(l) && !"info".equals(commandName(l)) && !nodeReport(l)).toList();
    }

    private static boolean nodeReport(String line) {
        String c = commandName(line);
        return ("hset".equals(c) || "pexpire".equals(c)) && line.contains("nodes\" ");
    }

    /** {@link #clientCommands()} counted by lower-case command name. */
    public Map<String, Long> clientCommandsByName() {
        Map<String, Long> counts = new TreeMap<>();
        clientCommands().forEach(l -> counts.merge(commandName(l), 1L, Long::sum));
        return counts;
    }

    /** How many commands Lua scripts ran inside Redis so far. */
    public long scriptCommandCount() {
        return lines().stream().filter(RedisMonitor::fromScript).count();
    }

    /** {@code 1700000000.123456 [0 lua] "hset" ...}: the client field of a script's own command. */
    private static boolean fromScript(String line) {
        int open = line.indexOf('[');
        int close = line.indexOf(']', open + 1);
        return open >= 0 && close > open && line.substring(open, close).endsWith(" lua");
    }

    /** The command of a line ({@code ... [0 127.0.0.1:5555] "evalsha" "..."}), lower-case; "" when there is none. */
    private static String commandName(String line) {
        int q1 = line.indexOf('"', Math.max(0, line.indexOf(']')));
        int q2 = q1 < 0 ? -1 : line.indexOf('"', q1 + 1);
        return q2 > q1 ? line.substring(q1 + 1, q2).toLowerCase(Locale.ROOT) : "";
    }

    /** Stops reading, after a moment for the lines still on their way. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        Await.sleep(200);
        socket.close();
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
