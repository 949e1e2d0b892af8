package dev.tether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The fault proxy in front of a real redis-server, spoken to in RESP over plain sockets. */
class FaultProxyTest {

    private static final byte[] PING = "PING\r\n".getBytes(StandardCharsets.US_ASCII);

    @Test
    void passesDelaysBlackholesAndResets() throws Exception {
        try (RedisProcess redis = RedisProcess.start(); FaultProxy proxy = FaultProxy.start(redis.port())) {
            try (Socket s = connect(proxy)) {
                assertEquals("+PONG", ping(s));

                proxy.latency(300);
                long t0 = System.nanoTime();
                assertEquals("+PONG", ping(s));
                long millis = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(millis >= 550, "two delayed chunks (request, reply) took only " + millis + " ms");

                proxy.blackhole();
                s.getOutputStream().write(PING);
                s.getOutputStream().flush();
                s.setSoTimeout(500);
                assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read(), "a reply came out of the blackhole");
                assertTrue(proxy.droppedBytes() >= PING.length);

                proxy.pass(); // the connection lost bytes: it is closed, never resumed out of sync
                s.setSoTimeout(2_000);
                assertEquals(-1, readOrEof(s), "the connection that lost bytes was not closed");
            }
            try (Socket blackholed = connect(proxy)) {
                proxy.blackhole();
                blackholed.getOutputStream().write(PING);
                Await.await("the PING dropped", Duration.ofSeconds(5), () -> proxy.droppedBytes() >= 2L * PING.length);
                assertTrue(Ports.isOpen(proxy.port()), "a blackhole still accepts connections");
                proxy.pass();
            }
            try (Socket s = connect(proxy)) {
                assertEquals("+PONG", ping(s), "a new connection after the blackhole passes");
                proxy.reset();
                assertEquals(-1, readOrEof(s), "reset did not close the open connection");
            }
            try (Socket s = connect(proxy)) {
                assertEquals("+PONG", ping(s), "a new connection after a reset passes");
            }
            assertEquals("PONG", redis.command("PING"));
        }
    }

    @Test
    void aTargetThatIsDownIsAConnectionThatCloses() throws Exception {
        RedisProcess redis = RedisProcess.start();
        try (FaultProxy proxy = FaultProxy.start(redis.port())) {
            redis.kill();
            try (Socket s = connect(proxy)) {
                s.setSoTimeout(5_000);
                s.getOutputStream().write(PING);
                assertEquals(-1, readOrEof(s));
            }
            redis.relaunch();
            try (Socket s = connect(proxy)) {
                assertEquals("+PONG", ping(s), "the target is back");
            }
        } finally {
            redis.close();
        }
    }

    private static Socket connect(FaultProxy proxy) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 2_000);
        s.setSoTimeout(5_000);
        return s;
    }

    private static String ping(Socket s) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(PING);
        out.flush();
        InputStream in = s.getInputStream();
        StringBuilder line = new StringBuilder();
        for (int c = in.read(); c != '\r'; c = in.read()) {
            if (c < 0) {
                throw new IOException("closed after " + line);
            }
            line.append((char) c);
        }
        in.read(); // \n
        return line.toString();
    }

    /** -1 once the connection is closed (a reset counts as closed). */
    private static int readOrEof(Socket s) {
        try {
            return s.getInputStream().read();
        } catch (IOException reset) {
            return -1;
        }
    }
}
