package dev.tether.bench.scale;

import dev.tether.testkit.Http;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Creates logged-in sessions through the HTTP path ({@code /s/create}), over many kept-alive connections at
 * once; a creation answered 503 (Retry-After) is tried again, as a user would. */
final class SessionMaker {

    private static final int CONNECTIONS = 12;
    private static final int ATTEMPTS = 20;

    /** Creations answered 503 (a Redis write refused, e.g. past commandTimeout on a busy machine) and tried again. */
    static final AtomicInteger RETRIED = new AtomicInteger();

    private SessionMaker() {
    }

    /** Sessions of users {@code u<from>..u<to-1>} on the server at {@code port}; their ids, in user order. */
    static List<String> create(int port, int from, int to) throws Exception {
        String[] ids = new String[to - from];
        AtomicInteger next = new AtomicInteger(from);
        ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS);
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (int t = 0; t < CONNECTIONS; t++) {
                futures.add(pool.submit(() -> {
                    try (Http.Connection h = Http.keepAlive("127.0.0.1", port)) {
                        for (int i = next.getAndIncrement(); i < to; i = next.getAndIncrement()) {
                            Http.Reply reply = h.get(ScaleNodes.CONTEXT + "/s/create?u=" + ScaleNodes.user(i));
                            for (int attempt = 1; reply.status() == 503 && attempt < ATTEMPTS; attempt++) {
                                RETRIED.incrementAndGet();
                                Thread.sleep(100L * attempt);
                                reply = h.get(ScaleNodes.CONTEXT + "/s/create?u=" + ScaleNodes.user(i));
                            }
                            String id = reply.value("id");
                            if (reply.status() != 200 || id == null || !ScaleNodes.user(i).equals(reply.value("user"))) {
                                throw new IllegalStateException("/s/create answered " + reply.status() + ": " + reply.body());
                            }
                            ids[i - from] = id;
                        }
                    }
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                f.get(30, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        return List.of(ids);
    }
}
