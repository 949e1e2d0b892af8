package dev.tether.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on a free loopback port in front of one target (a Redis), with a fault mode that can
 * be switched at any time: {@link #pass()}, {@link #latency(long)} (every chunk of bytes, both
 * ways, is delayed), {@link #blackhole()} (connections are accepted and kept open, but every byte
 * either way is dropped) and {@link #reset()} (every open connection is closed now; new ones pass).
 *
 * <p>Bytes dropped in the middle of a stream cannot be delivered later (TCP would have resent
 * them), so leaving the blackhole closes every connection that lost bytes in it: a healed
 * partition looks to the client like a connection that broke.
 */
public final class FaultProxy implements AutoCloseable {

    /** What the proxy does to the bytes it carries. */
    public enum Mode { PASS, LATENCY, BLACKHOLE, REPLIES_LOST }

    private final int targetPort;
    private final ServerSocket server;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong droppedBytes = new AtomicLong();
    private volatile Mode mode = Mode.PASS;
    private volatile long latencyMillis;
    private volatile boolean closed;

    private FaultProxy(int targetPort, ServerSocket server) {
        this.targetPort = targetPort;
        this.server = server;
    }

    /** Starts a proxy on a free loopback port that forwards to 127.0.0.1:targetPort. */
    public static FaultProxy start(int targetPort) {
        ServerSocket server = null;
        for (int attempt = 0; attempt < 5 && server == null; attempt++) {
            try {
                server = new ServerSocket(Ports.free(), 128, InetAddress.getLoopbackAddress());
            } catch (IOException takenMeanwhile) {
                // another port
            }
        }
        if (server == null) {
            throw new IllegalStateException("the fault proxy found no free port");
        }
        FaultProxy proxy = new FaultProxy(targetPort, server);
        Thread acceptor = new Thread(proxy::acceptLoop, "fault-proxy-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
        return proxy;
    }

    public int port() {
        return server.getLocalPort();
    }

    /** redis://127.0.0.1:port of the proxy, for the nodes. */
    public String redisUri() {
        return "redis://127.0.0.1:" + port();
    }

    public Mode mode() {
        return mode;
    }

    /** Connections accepted so far. */
    public long accepted() {
        return accepted.get();
    }

    /** Connections open now. */
    public int open() {
        return links.size();
    }

    /** Bytes dropped in blackholes so far. */
    public long droppedBytes() {
        return droppedBytes.get();
    }

    /** Bytes go through at once (closing the connections that lost bytes in a blackhole or lost replies). */
    public synchronized void pass() {
        leaveBlackhole();
        mode = Mode.PASS;
    }

    /** Every chunk of bytes, either way, is held {@code millis} before it is forwarded. */
    public synchronized void latency(long millis) {
        leaveBlackhole();
        latencyMillis = millis;
        mode = Mode.LATENCY;
    }

    /** Connections are accepted and stay open, but no byte gets through either way. */
    public synchronized void blackhole() {
        mode = Mode.BLACKHOLE;
    }

    /**
     * Requests reach the target, its replies are dropped: what a client sees when a connection dies
     * after a command was carried out and before its reply came back.
     */
    public synchronized void loseReplies() {
        mode = Mode.REPLIES_LOST;
    }

    /** Closes every open connection now (clients see a reset); new connections pass as before. */
    public synchronized void reset() {
        List.copyOf(links).forEach(Link::close);
    }

    private void leaveBlackhole() {
        if (mode == Mode.BLACKHOLE || mode == Mode.REPLIES_LOST) {
            List.copyOf(links).stream().filter(l -> l.lostBytes).forEach(Link::close);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            accepted.incrementAndGet();
            Socket upstream = new Socket();
            try {
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 2_000);
            } catch (IOException targetDown) {
                // the target refuses: so does the proxy (the client sees the connection close)
                closeQuietly(client);
                closeQuietly(upstream);
                continue;
            }
            Link link = new Link(client, upstream);
            links.add(link);
            link.pump(client, upstream, false);
            link.pump(upstream, client, true);
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        List.copyOf(links).forEach(Link::close);
    }

    @Override
    public String toString() {
        return "fault proxy :" + port() + " -> :" + targetPort + " (" + mode + ")";
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    /** One client connection and its connection to the target, with a thread per direction. */
    private final class Link {
        private final Socket client;
        private final Socket upstream;
        private volatile boolean lostBytes;

        Link(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void pump(Socket from, Socket to, boolean replies) {
            Thread t = new Thread(() -> copy(from, to, replies), "fault-proxy-" + port() + "-" + (replies ? "down" : "up") + "-"
                    + from.getPort());
            t.setDaemon(true);
            t.start();
        }

        /**
         * Reads chunks and hands each to the writer with the time it is due: latency delays every
         * chunk by the same amount without limiting throughput (chunks are not slept one by one).
         */
        private void copy(Socket from, Socket to, boolean replies) {
            java.util.concurrent.BlockingQueue<Object[]> due = new java.util.concurrent.LinkedBlockingQueue<>();
            Thread writer = new Thread(() -> deliver(due, to, replies), Thread.currentThread().getName() + "-writer");
            writer.setDaemon(true);
            writer.start();
            byte[] buf = new byte[16 * 1024];
            try {
                InputStream in = from.getInputStream();
                for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                    Mode m = mode;
                    if (m == Mode.BLACKHOLE || (replies && m == Mode.REPLIES_LOST)) {
                        lostBytes = true;
                        droppedBytes.addAndGet(n);
                        continue;
                    }
                    long at = System.nanoTime() + (m == Mode.LATENCY ? latencyMillis * 1_000_000 : 0);
                    due.add(new Object[] {at, java.util.Arrays.copyOf(buf, n)});
                }
            } catch (SocketException | UncheckedIOException closed) {
                // closed by the other side, by reset() or by close()
            } catch (IOException | IllegalStateException e) {
                // a broken connection: closed below
            }
            close();
            writer.interrupt();
        }

        private void deliver(java.util.concurrent.BlockingQueue<Object[]> due, Socket to, boolean replies) {
            try {
                OutputStream out = to.getOutputStream();
                while (true) {
                    Object[] chunk = due.take();
                    long wait = (long) chunk[0] - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                    if (mode == Mode.BLACKHOLE || (replies && mode == Mode.REPLIES_LOST)) {
                        lostBytes = true;
                        droppedBytes.addAndGet(((byte[]) chunk[1]).length);
                        continue;
                    }
                    out.write((byte[]) chunk[1]);
                    out.flush();
                }
            } catch (InterruptedException | IOException stopped) {
                close();
            }
        }

        void close() {
            links.remove(this);
            closeQuietly(client);
            closeQuietly(upstream);
        }
    }
}
