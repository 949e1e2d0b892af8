package dev.tether.bench.harness;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** Free loopback ports, from 20000-31999 (below the usual ephemeral range), never handed out twice. */
final class Ports {

    private static final Set<Integer> GIVEN = new HashSet<>();

    private Ports() {
    }

    static synchronized int free() {
        for (int i = 0; i < 1000; i++) {
            int p = 20000 + ThreadLocalRandom.current().nextInt(12000);
            if (p == 6379 || GIVEN.contains(p)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getLoopbackAddress())) {
                s.setReuseAddress(true);
                GIVEN.add(p);
                return p;
            } catch (IOException taken) {
                // next
            }
        }
        throw new IllegalStateException("no free port found");
    }
}
