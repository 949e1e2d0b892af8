package dev.tether.failover;

import dev.tether.failover.FaultLedger.Window;
import dev.tether.testkit.Await;
import dev.tether.testkit.FaultProxy;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The faults, one after the other, drawn from a seeded {@link Random} until the deadline: a node
 * killed with {@code kill -9} and started again, a node frozen (SIGSTOP) for 1-5 s, a balancer flap
 * (some users' requests sent straight to random nodes), Redis killed and started again with its
 * data (SAVE first, so writes after it are rolled back) or without it, Redis frozen, and the fault
 * proxy between the nodes and Redis adding latency, swallowing bytes or resetting connections.
 *
 * <p>The faults never overlap, and a few seconds pass between two of them. Redis losing its data
 * while a session's only copy was on a dead node would destroy every copy, which no store can
 * survive: before Redis is started empty, the schedule waits until every logged-in user has had a
 * request answered since the last node fault ended; a user who has not (within 5 s) has the
 * session marked, and its items count as excused, not lost.
 */
final class FaultSchedule {

    enum Fault { NODE_KILL, NODE_PAUSE, FLAP, REDIS_KILL_WITH_DATA, REDIS_KILL_EMPTY, REDIS_PAUSE, PROXY_LATENCY,
        PROXY_BLACKHOLE, PROXY_RESET }

    private final Random rng;
    private final FaultLedger ledger;
    private final List<ServerNode> nodes;
    private final RedisProcess redis;
    private final FaultProxy proxy;
    private final List<FaultUser> users;
    private long lastNodeFaultEndMs = -1;
    final List<String> log = new ArrayList<>();

    FaultSchedule(long seed, FaultLedger ledger, List<ServerNode> nodes, RedisProcess redis, FaultProxy proxy, List<FaultUser> users) {
        this.rng = new Random(seed);
        this.ledger = ledger;
        this.nodes = nodes;
        this.redis = redis;
        this.proxy = proxy;
        this.users = users;
    }

    /** Runs faults until {@code untilMs} (ledger time); everything is healthy again when it returns. */
    void run(long untilMs) {
        Await.sleep(3_000); // the users log in first
        while (ledger.now() < untilMs) {
            Fault f = Fault.values()[rng.nextInt(Fault.values().length)];
            long start = ledger.now();
            String target = apply(f);
            long end = ledger.now();
            boolean nodeFault = f == Fault.NODE_KILL || f == Fault.NODE_PAUSE;
            if (nodeFault) {
                lastNodeFaultEndMs = end;
            }
            Window w = new Window(f.name(), target, start, end, nodeFault);
            ledger.window(w);
            log.add(w.toString());
            System.out.println("[faults] " + w);
            Await.sleep(1_500 + rng.nextInt(2_000));
        }
    }

    private String apply(Fault f) {
        switch (f) {
            case NODE_KILL -> {
                ServerNode n = nodes.get(rng.nextInt(nodes.size()));
                n.kill9();
                Await.sleep(1_000 + rng.nextInt(3_000));
                n.start();
                return n.name();
            }
            case NODE_PAUSE -> {
                ServerNode n = nodes.get(rng.nextInt(nodes.size()));
                n.pause();
                try {
                    Await.sleep(1_000 + rng.nextInt(4_000));
                } finally {
                    n.resume();
                }
                return n.name();
            }
            case FLAP -> {
                long until = ledger.now() + 2_000 + rng.nextInt(3_000);
                int flapped = 0;
                for (FaultUser u : users) {
                    if (rng.nextInt(3) == 0) {
                        u.flapUntilMs = until;
                        flapped++;
                    }
                }
                Await.sleep(Math.max(0, until - ledger.now()));
                return flapped + " users";
            }
            case REDIS_KILL_WITH_DATA -> {
                redis.command("SAVE");
                redis.kill();
                Await.sleep(500 + rng.nextInt(1_500));
                redis.relaunch();
                return "snapshot";
            }
            case REDIS_KILL_EMPTY -> {
                excuseSessionsWithoutLiveCopy();
                redis.kill();
                try {
                    Files.deleteIfExists(redis.dir().resolve("dump.rdb"));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                Await.sleep(500 + rng.nextInt(1_500));
                redis.relaunch();
                return "empty";
            }
            case REDIS_PAUSE -> {
                redis.pause();
                try {
                    Await.sleep(500 + rng.nextInt(2_500));
                } finally {
                    redis.resume();
                }
                return "redis";
            }
            case PROXY_LATENCY -> {
                long ms = 50 + rng.nextInt(750);
                proxy.latency(ms);
                Await.sleep(2_000 + rng.nextInt(3_000));
                proxy.pass();
                return ms + " ms";
            }
            case PROXY_BLACKHOLE -> {
                proxy.blackhole();
                Await.sleep(1_000 + rng.nextInt(3_000));
                proxy.pass();
                return "proxy";
            }
            case PROXY_RESET -> {
                int times = 1 + rng.nextInt(3);
                for (int i = 0; i < times; i++) {
                    proxy.reset();
                    Await.sleep(300);
                }
                return times + "x";
            }
        }
        throw new IllegalStateException(f.name());
    }

    /**
     * Before Redis loses everything: waits (at most 5 s) until every logged-in user has had an
     * answer since the last node fault, so that a live node holds the session; marks the others.
     */
    private void excuseSessionsWithoutLiveCopy() {
        long since = lastNodeFaultEndMs;
        if (since < 0) {
            return;
        }
        Await.within(Duration.ofSeconds(5), () -> users.stream().allMatch(u -> u.lastAckMs > since));
        for (FaultUser u : users) {
            if (u.lastAckMs <= since) {
                u.sessionExcused = true;
                System.out.println("[faults] " + u.account.name() + ": no answer since the last node fault; its session is"
                        + " marked for the empty Redis");
            }
        }
    }

    /** Whatever state a failed fault left: every node up and running, Redis up, the proxy passing. */
    void heal() {
        proxy.pass();
        if (redis.isAlive()) {
            redis.resume();
        } else {
            redis.relaunch();
        }
        for (ServerNode n : nodes) {
            if (n.isAlive()) {
                n.resume();
            } else {
                n.start();
            }
        }
    }
}
