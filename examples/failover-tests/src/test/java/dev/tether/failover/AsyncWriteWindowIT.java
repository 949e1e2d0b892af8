package dev.tether.failover;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.FaultProxy;
import dev.tether.testkit.Http;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * On demand ({@code -Dfaults.async=true}): the loss window of {@code asyncWrites="true"}, measured.
 * Two Tomcat 10.1 nodes with asyncWrites on; 24 users add items on node1 directly, as fast as their
 * answers come; node1 is killed with {@code kill -9} at a random moment (seeded); then every user's
 * cart is read on node2 (which takes the sessions over from Redis). For every acknowledged item
 * missing there, how many milliseconds before the kill its answer had arrived. Several rounds;
 * prints the counts and the largest window. {@code -Dfaults.asyncLatencyMs=N}: the nodes reach Redis
 * through the fault proxy adding N ms each way (Redis across a network). Nothing is asserted about the window's size (that is a
 * measurement); the run fails only if it measured nothing.
 */
class AsyncWriteWindowIT {

    @Test
    void measuresWhatAnAsyncWriteCanLoseAtAKill() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("faults.async"), "on demand: -Dfaults.async=true");
        long seed = Long.getLong("faults.seed", FaultSuite.CI_SEED);
        int rounds = Integer.getInteger("faults.rounds", 5);
        Random rng = new Random(seed);
        Path work = Path.of(System.getProperty("tether.work", "target/failover")).toAbsolutePath().resolve("async-window");
        List<ShopUser.Account> accounts = FailoverTraffic.accounts();
        List<Long> lostWindows = new ArrayList<>();
        long acked = 0;
        long lostBeyond = 0;
        StringBuilder perRound = new StringBuilder();
        long latencyMs = Long.getLong("faults.asyncLatencyMs", 0);
        try (RedisProcess redis = RedisProcess.start(); FaultProxy proxy = FaultProxy.start(redis.port());
                TomcatBackend backend = TomcatBackend.tomcat10(work, proxy.redisUri(), accounts, "asyncWrites=\"true\"")) {
            if (latencyMs > 0) {
                proxy.latency(latencyMs); // Redis across a network: each way, per chunk
            }
            ServerNode node1 = backend.nodes().get(0);
            ServerNode node2 = backend.nodes().get(1);
            for (int round = 1; round <= rounds; round++) {
                List<ShopUser> users = new ArrayList<>();
                for (ShopUser.Account a : accounts) {
                    ShopUser u = new ShopUser(a, "http://127.0.0.1:" + node1.port(), "aw" + round + "-",
                            Balancer.Affinity.CLIENT_IP, port -> port == node1.port() ? "node1" : "node2", new ShopUser.Liveness() {
                                @Override
                                public boolean upThroughout(String node, long fromNanos, long toNanos) {
                                    return false;
                                }

                                @Override
                                public long killedAt() {
                                    return Long.MAX_VALUE;
                                }
                            });
                    assertTrue(u.login(), a.name() + " could not log in: " + u.problems);
                    users.add(u);
                }
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> threads = new ArrayList<>();
                for (ShopUser u : users) {
                    Thread t = new Thread(() -> u.shop(stop::get, Long.MAX_VALUE, 1_000_000, 0), "async-" + u.account.name());
                    t.start();
                    threads.add(t);
                }
                Thread.sleep(1_500 + rng.nextInt(2_000));
                long killedAt = System.nanoTime();
                node1.kill9();
                stop.set(true);
                for (Thread t : threads) {
                    t.join(60_000);
                }
                int roundAcked = 0;
                int roundLost = 0;
                for (ShopUser u : users) {
                    Http.Reply r = Http.get(node2.port(), "/shop/shop/cart?format=text", u.sessionCookie());
                    String items = ShopUser.fields(r.body()).get("items");
                    if (r.status() != 200 || items == null) {
                        throw new AssertionError(u.account.name() + ": node2 did not show the cart: " + ShopUser.abbreviate(r.body()));
                    }
                    Set<String> cart = Set.of(items.split(","));
                    for (int i = 0; i < u.acked.size(); i++) {
                        roundAcked++;
                        if (!cart.contains(u.acked.get(i))) {
                            roundLost++;
                            long before = (killedAt - u.ackedAtNanos.get(i)) / 1_000_000;
                            lostWindows.add(before);
                        }
                    }
                    u.close();
                }
                acked += roundAcked;
                perRound.append(String.format(Locale.ROOT, "| %d | %d | %d |%n", round, roundAcked, roundLost));
                node1.start();
            }
        }
        long max = lostWindows.stream().mapToLong(Long::longValue).max().orElse(0);
        for (long w : lostWindows) {
            if (w > 100) {
                lostBeyond++;
            }
        }
        List<Long> sorted = lostWindows.stream().sorted().toList();
        String table = String.format(Locale.ROOT, """
                ===== asyncWrites=true loss window: seed %d, %d rounds of kill -9 under write load, 24 users, Redis latency %d ms each way, %s =====
                | round | acknowledged adds | lost |
                |---|---|---|
                %s
                acknowledged: %d, lost: %d, largest window: %d ms (answer arrived that long before the kill), \
                lost items answered more than 100 ms before the kill: %d
                windows (ms, sorted): %s
                """, seed, rounds, latencyMs, Instant.now(), perRound.toString().trim(), acked, lostWindows.size(), max, lostBeyond,
                sorted.size() > 60 ? sorted.subList(0, 30) + " ... " + sorted.subList(sorted.size() - 30, sorted.size()) : sorted);
        System.out.println(table);
        Files.createDirectories(work);
        Files.writeString(work.resolve("report.txt"), table, StandardCharsets.UTF_8);
        assertTrue(acked > 100, "too little traffic to measure anything:\n" + table);
    }
}
