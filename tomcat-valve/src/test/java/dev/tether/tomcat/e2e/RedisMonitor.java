package dev.tether.tomcat.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Records what clients send to a Redis server, through {@code MONITOR}. Unlike INFO commandstats,
 * which also counts the commands a Lua script runs inside Redis, this sees round trips: lines of
 * script-internal commands ({@code [0 lua]}) are kept apart.
 */
final class RedisMonitor implements AutoCloseable {

    private final Socket socket;
    private final List<String> lines = new ArrayList<>();
    private final Thread reader;

    RedisMonitor(int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        OutputStream out = socket.getOutputStream();
        out.write("*1\r\n$7\r\nMONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        String ok = in.readLine();
        if (!"+OK".equals(ok)) {
            throw new IOException("MONITOR answered " + ok);
        }
        reader = new Thread(() -> {
            try {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                }
            } catch (IOException ignored) {
                // closed
            }
        }, "redis-monitor");
        reader.setDaemon(true);
        reader.start();
    }

    /** Commands sent by clients (not by scripts), except the test's own INFO probes, seen so far. */
    List<String> clientCommands() {
        List<String> out = new ArrayList<>();
        synchronized (lines) {
            for (String l : lines) {
                if (!l.contains(" lua] ") && !l.contains("\"info\"") && !l.contains("\"INFO\"")) {
                    out.add(l);
                }
            }
        }
        return out;
    }

    /** Every line seen so far, script-internal commands ({@code [0 lua]}) and INFO included. */
    List<String> allLines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
