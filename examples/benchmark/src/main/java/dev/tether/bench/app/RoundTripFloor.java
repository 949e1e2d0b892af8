package dev.tether.bench.app;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A yardstick, not a session store: in-memory sessions plus one acknowledged Redis round trip per
 * changed request, the least any store pays that answers only after Redis has the change. The
 * benchmark's floor variants set {@code -Dbench.floor=lettuce|socket} and {@code -Dbench.floor.redis=host:port}:
 * <ul>
 *   <li>{@code lettuce}: a synchronous {@code SET} through one shared Lettuce connection (the
 *       client Tether uses; the request thread hands the command to Lettuce's event loop and waits);</li>
 *   <li>{@code socket}: a {@code SET} written and answered on a blocking socket of the request
 *       thread's own (no hand-off to another thread at all).</li>
 * </ul>
 */
abstract class RoundTripFloor {

    /** The configured floor, or null when this server runs a plain variant. */
    static final RoundTripFloor CONFIGURED = fromSystemProperties();

    abstract void set(String key, int value);

    private static RoundTripFloor fromSystemProperties() {
        String kind = System.getProperty("bench.floor", "");
        String where = System.getProperty("bench.floor.redis", "");
        if (kind.isEmpty()) {
            return null;
        }
        int colon = where.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("bench.floor.redis must be host:port, not '" + where + "'");
        }
        String host = where.substring(0, colon);
        int port = Integer.parseInt(where.substring(colon + 1));
        return switch (kind) {
            case "lettuce" -> new ThroughLettuce(host, port);
            case "socket" -> new ThroughSocket(host, port);
            default -> throw new IllegalArgumentException("bench.floor is lettuce or socket, not '" + kind + "'");
        };
    }

    private static final class ThroughLettuce extends RoundTripFloor {
        private final RedisCommands<String, String> commands;

        ThroughLettuce(String host, int port) {
            commands = RedisClient.create("redis://" + host + ":" + port).connect().sync();
        }

        @Override
        void set(String key, int value) {
            commands.set(key, Integer.toString(value));
        }
    }

    private static final class ThroughSocket extends RoundTripFloor {
        private final InetSocketAddress address;
        private final ThreadLocal<Connection> connections = ThreadLocal.withInitial(this::open);

        ThroughSocket(String host, int port) {
            address = new InetSocketAddress(host, port);
        }

        private Connection open() {
            try {
                Socket s = new Socket();
                s.setTcpNoDelay(true);
                s.connect(address, 2000);
                return new Connection(s.getInputStream(), s.getOutputStream());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        void set(String key, int value) {
            Connection c = connections.get();
            byte[] k = key.getBytes(StandardCharsets.UTF_8);
            byte[] v = Integer.toString(value).getBytes(StandardCharsets.US_ASCII);
            String head = "*3\r\n$3\r\nSET\r\n$" + k.length + "\r\n";
            try {
                c.out.write(head.getBytes(StandardCharsets.US_ASCII));
                c.out.write(k);
                c.out.write(("\r\n$" + v.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                c.out.write(v);
                c.out.write('\r');
                c.out.write('\n');
                c.flush();
                c.expectOk();
            } catch (IOException e) {
                connections.remove();
                throw new UncheckedIOException(e);
            }
        }

        private static final class Connection {
            private final InputStream in;
            private final OutputStream raw;
            private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(128);

            Connection(InputStream in, OutputStream raw) {
                this.in = in;
                this.raw = raw;
            }

            void flush() throws IOException {
                out.writeTo(raw); // one write() per command
                out.reset();
            }

            void expectOk() throws IOException {
                byte[] reply = new byte[5];
                int n = 0;
                while (n < reply.length) {
                    int r = in.read(reply, n, reply.length - n);
                    if (r < 0) {
                        throw new IOException("Redis closed the connection");
                    }
                    n += r;
                }
                if (reply[0] != '+' || reply[1] != 'O' || reply[2] != 'K') {
                    throw new IOException("Redis answered " + new String(reply, StandardCharsets.US_ASCII).trim() + " to SET");
                }
            }
        }
    }
}
