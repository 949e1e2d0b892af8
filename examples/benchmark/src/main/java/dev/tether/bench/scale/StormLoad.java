package dev.tether.bench.scale;

import dev.tether.testkit.Http;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The users of part 2: client threads, each with one kept-alive connection to the balancer and a
 * share of the sessions, requesting them in turn as fast as answers come (closed loop; 80 % reads,
 * 20 % writes). Records, for each session of the node that is killed, the request that moved it:
 * the answer that carried its new id with the survivor's route (its first request served there).
 */
final class StormLoad implements AutoCloseable {

    /** One user: its session's current id and what the measurement saw of it. */
    static final class User {
        final boolean onKilledNode;
        volatile String id;
        /** Nanos since the kill when the take-over answer arrived; -1 while not moved. */
        volatile long movedAtNanos = -1;
        volatile long takeoverNanos = -1;
        /** Failed requests (error status or broken connection) before the take-over. */
        volatile int failuresBeforeMove;
        volatile boolean movedEarly;
        int lastCounter = -1;

        User(String id, boolean onKilledNode) {
            this.id = id;
            this.onKilledNode = onKilledNode;
        }
    }

    private static final int BUCKET_MS = 500;
    private static final int BUCKETS = 2 * 300;

    private final int balancerPort;
    private final String killedRoute;
    private final String survivorRoute;
    private final List<User> users;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;
    /** 0 until the kill; then System.nanoTime() of the kill. */
    private volatile long killNanos;
    /** Latencies (µs) recorded while {@code recording}: the steady state before the kill. */
    private volatile boolean recording;
    private final List<long[]> steady = new ArrayList<>();
    private final AtomicInteger moved = new AtomicInteger();
    /** Users of the node to be killed that the balancer moved to the survivor before the kill. */
    final AtomicInteger movedEarly = new AtomicInteger();
    final AtomicLong requestsBeforeKill = new AtomicLong();
    final AtomicLong errorsBeforeKill = new AtomicLong();
    final AtomicLong requestsAfterKill = new AtomicLong();
    final AtomicLong errorsAfterKill = new AtomicLong();
    /** A write answered with a counter below one the user had already seen: an acknowledged write lost. */
    final AtomicLong lostWrites = new AtomicLong();
    /** Per 500 ms after the kill: answers 200, errors, take-overs. */
    final AtomicLongArray okTimeline = new AtomicLongArray(BUCKETS);
    final AtomicLongArray errorTimeline = new AtomicLongArray(BUCKETS);
    final AtomicLongArray movedTimeline = new AtomicLongArray(BUCKETS);
    final List<String> errorSamples = java.util.Collections.synchronizedList(new ArrayList<>());

    StormLoad(int balancerPort, String killedRoute, String survivorRoute, List<User> users) {
        this.balancerPort = balancerPort;
        this.killedRoute = killedRoute;
        this.survivorRoute = survivorRoute;
        this.users = users;
    }

    void start(int clients) {
        for (int c = 0; c < clients; c++) {
            List<User> mine = new ArrayList<>();
            for (int i = c; i < users.size(); i += clients) {
                mine.add(users.get(i));
            }
            long[] lat = new long[4_000_000 / clients];
            steady.add(lat);
            Thread t = new Thread(() -> loop(mine, lat), "storm-client-" + c);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    void recordSteady(boolean on) {
        recording = on;
    }

    void killed(long nanos) {
        killNanos = nanos;
    }

    int moved() {
        return moved.get();
    }

    static int bucketMs() {
        return BUCKET_MS;
    }

    /** Steady-state latencies before the kill, µs, sorted. */
    long[] steadyLatencies() {
        int n = 0;
        for (long[] l : steady) {
            n += (int) l[0];
        }
        long[] all = new long[n];
        int k = 0;
        for (long[] l : steady) {
            System.arraycopy(l, 1, all, k, (int) l[0]);
            k += (int) l[0];
        }
        java.util.Arrays.sort(all);
        return all;
    }

    private void loop(List<User> mine, long[] lat) {
        Http.Connection h = Http.keepAlive("127.0.0.1", balancerPort);
        try {
            while (running) {
                for (User u : mine) {
                    if (!running) {
                        return;
                    }
                    request(h, u, lat);
                }
            }
        } finally {
            h.close();
        }
    }

    private void request(Http.Connection h, User u, long[] lat) {
        boolean write = ThreadLocalRandom.current().nextInt(5) == 0;
        long kill = killNanos;
        long a = System.nanoTime();
        Http.Reply reply = null;
        String failure = null;
        String newId = null;
        try {
            reply = h.get(ScaleNodes.CONTEXT + (write ? "/b/write" : "/b/read"), u.id);
            if (reply.status() != 200) {
                failure = "status " + reply.status();
            }
            newId = reply.sessionId();
        } catch (RuntimeException | AssertionError e) {
            failure = e.getMessage();
        }
        long b = System.nanoTime();
        boolean startedBefore = kill == 0;
        // A request in flight at the kill (HAProxy replays it on node2) counts as after the kill.
        kill = killNanos;
        boolean afterKill = kill != 0;
        int bucket = afterKill ? (int) Math.min(BUCKETS - 1, (b - kill) / 1_000_000 / BUCKET_MS) : 0;
        if (failure != null) {
            (afterKill ? errorsAfterKill : errorsBeforeKill).incrementAndGet();
            if (afterKill) {
                errorTimeline.incrementAndGet(bucket);
                if (u.onKilledNode && u.movedAtNanos < 0) {
                    u.failuresBeforeMove++;
                }
            }
            if (errorSamples.size() < 20) {
                errorSamples.add((afterKill ? "after the kill: " : "before the kill: ") + failure);
            }
            return;
        }
        (afterKill ? requestsAfterKill : requestsBeforeKill).incrementAndGet();
        if (afterKill) {
            okTimeline.incrementAndGet(bucket);
        } else if (recording && startedBefore && lat[0] < lat.length - 1) {
            lat[(int) ++lat[0]] = (b - a) / 1000;
        }
        String counter = reply.value("counter");
        if (counter != null) {
            int c = Integer.parseInt(counter);
            if (c < u.lastCounter || (write && c == u.lastCounter)) {
                lostWrites.incrementAndGet();
            }
            u.lastCounter = c;
        }
        if (newId != null && !newId.equals(u.id)) {
            u.id = newId;
            if (u.onKilledNode && !afterKill && newId.endsWith("." + survivorRoute) && !u.movedEarly) {
                // the balancer sent it to node2 while node1 was alive (a failed health check on a busy machine)
                u.movedEarly = true;
                movedEarly.incrementAndGet();
            } else if (u.onKilledNode && afterKill && u.movedAtNanos < 0 && !u.movedEarly && newId.endsWith("." + survivorRoute)) {
                u.takeoverNanos = b - a;
                u.movedAtNanos = b - kill;
                moved.incrementAndGet();
                movedTimeline.incrementAndGet(bucket);
            }
        }
    }

    String killedRoute() {
        return killedRoute;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.join(10_000);
        }
    }
}
