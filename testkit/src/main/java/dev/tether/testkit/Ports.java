package dev.tether.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** Loopback ports for the servers the tests start. */
public final class Ports {

    /**
     * Ports are drawn from 20000-31999, below Linux's ephemeral range (32768 and up): a port handed
     * out here cannot be taken by some client's outgoing connection before its server binds it.
     */
    private static final int FIRST = 20_000;
    private static final int COUNT = 12_000;
    private static final int DEFAULT_REDIS = 6379;

    /** Never handed out twice in one JVM: a killed server's port stays its own for a restart. */
    private static final Set<Integer> GIVEN = new HashSet<>();

    private Ports() {
    }

    /** A port nothing listens on now and that this JVM has not handed out before; never 6379. */
    public static synchronized int free() {
        for (int i = 0; i < 1000; i++) {
            int port = FIRST + ThreadLocalRandom.current().nextInt(COUNT);
            if (port == DEFAULT_REDIS || GIVEN.contains(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                GIVEN.add(port);
                return port;
            } catch (IOException taken) {
                // another one
            }
        }
        throw new IllegalStateException("no free loopback port found in " + FIRST + "-" + (FIRST + COUNT - 1));
    }

    /** Whether something accepts connections on 127.0.0.1:port now. */
    public static boolean isOpen(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
