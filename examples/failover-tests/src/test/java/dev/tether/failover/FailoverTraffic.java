package dev.tether.failover;

import dev.tether.testkit.Http;
import dev.tether.testkit.ServerNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One failover scenario: {@link #USERS} users log in through the balancer and shop; the node that
 * serves most of them is killed with kill -9 mid-traffic, started again a few seconds later, and
 * the traffic goes on for a while after that. Then every user reads the cart once more. Every
 * loop is bounded in count and time.
 */
final class FailoverTraffic {

    static final int USERS = 24;
    /** Traffic before the kill, between the kill and the restart, and after the node is back. */
    static final long BEFORE_KILL_MS = 2_500;
    static final long DOWN_MS = 3_000;
    static final long AFTER_RESTART_MS = 3_000;
    static final long THINK_MS = 20;
    static final int MAX_ITERATIONS = 1_000;
    /** No user loop runs longer than this, whatever happens. */
    static final long TRAFFIC_LIMIT_MS = 120_000;

    private FailoverTraffic() {
    }

    static List<ShopUser.Account> accounts() {
        List<ShopUser.Account> accounts = new ArrayList<>();
        for (int i = 1; i <= USERS; i++) {
            String name = String.format("u%02d", i);
            accounts.add(new ShopUser.Account(name, "pw-" + name));
        }
        return accounts;
    }

    /** Victim's down interval, for the stickiness check. */
    private static final class Timeline implements ShopUser.Liveness {
        volatile String victim;
        volatile long killedAt = Long.MAX_VALUE;
        volatile long upAgainAt = Long.MAX_VALUE;

        @Override
        public boolean upThroughout(String node, long from, long to) {
            if (!node.equals(victim)) {
                return true;
            }
            return to < killedAt || from > upAgainAt;
        }

        @Override
        public long killedAt() {
            return killedAt;
        }
    }

    static ScenarioResult run(Backend backend, Balancer balancer, BalancerProcess lb, List<ShopUser.Account> accounts,
            String itemPrefix) throws Exception {
        ScenarioResult result = new ScenarioResult();
        result.backend = backend.label();
        result.balancer = balancer.label;
        result.kind = balancer;
        result.users = accounts.size();
        Timeline timeline = new Timeline();
        Map<Integer, String> nodeByPort = new HashMap<>();
        backend.nodes().forEach(n -> nodeByPort.put(n.port(), n.name()));
        List<ShopUser> users = new ArrayList<>();
        for (ShopUser.Account a : accounts) {
            users.add(new ShopUser(a, lb.baseUrl(), itemPrefix, balancer.affinity, p -> nodeByPort.getOrDefault(p, "port " + p),
                    timeline));
        }

        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch loggedIn = new CountDownLatch(users.size());
        long trafficStart = System.nanoTime();
        long deadline = trafficStart + TimeUnit.MILLISECONDS.toNanos(TRAFFIC_LIMIT_MS);
        ExecutorService pool = Executors.newFixedThreadPool(users.size());
        List<Future<?>> running = new ArrayList<>();
        try {
            running.addAll(loginThenShop(pool, users, loggedIn, ShopUser::login,
                    u -> u.shop(stop::get, deadline, MAX_ITERATIONS, THINK_MS)));
            result.loggedIn = (int) users.stream().filter(u -> u.baseIdAtLogin != null).count();
            Thread.sleep(BEFORE_KILL_MS);

            // The victim: the node serving most users now.
            Map<String, Integer> perNode = new HashMap<>();
            for (ShopUser u : users) {
                if (u.lastNode != null) {
                    perNode.merge(u.lastNode, 1, Integer::sum);
                }
            }
            ServerNode victim = backend.nodes().stream()
                    .max((a, b) -> Integer.compare(perNode.getOrDefault(a.name(), 0), perNode.getOrDefault(b.name(), 0)))
                    .orElseThrow();
            ServerNode survivor = backend.nodes().stream().filter(n -> n != victim).findFirst().orElseThrow();
            result.victim = victim.name();
            result.survivor = survivor.name();
            result.usersOnVictim = perNode.getOrDefault(victim.name(), 0);
            Map<ShopUser, String> nodeAtKill = new HashMap<>();
            for (ShopUser u : users) {
                nodeAtKill.put(u, u.lastNode);
            }
            timeline.victim = victim.name();
            timeline.killedAt = System.nanoTime();
            victim.kill9();
            Thread.sleep(DOWN_MS);

            long restartFrom = System.nanoTime();
            victim.start();
            timeline.upAgainAt = System.nanoTime();
            result.restartSeconds = (timeline.upAgainAt - restartFrom) / 1e9;
            Thread.sleep(AFTER_RESTART_MS);
            stop.set(true);
            for (Future<?> f : running) {
                try {
                    f.get(Math.max(1, deadline - System.nanoTime() + TimeUnit.SECONDS.toNanos(30)), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    throw new AssertionError("a user did not stop within its time limit", e);
                }
            }
            result.trafficSeconds = (System.nanoTime() - trafficStart) / 1e9;

            // Every user once more, after the restart: still logged in, every acknowledged item there.
            for (ShopUser u : users) {
                if (u.baseIdAtLogin == null) {
                    continue;
                }
                List<String> cart = u.finalCart();
                if (cart == null) {
                    result.lostItems += u.acked.size();
                    result.samples.add(u.account.name() + ": the final cart read failed; counting its " + u.acked.size()
                            + " items as lost");
                } else {
                    List<String> lost = new ArrayList<>(u.acked);
                    lost.removeAll(cart);
                    result.lostItems += lost.size();
                    if (!lost.isEmpty()) {
                        result.samples.add(u.account.name() + " lost " + lost.size() + " acknowledged item(s), e.g. "
                                + lost.subList(0, Math.min(5, lost.size())));
                    }
                    List<String> seen = new ArrayList<>();
                    for (String item : cart) {
                        if (seen.contains(item)) {
                            result.duplicates++;
                            result.samples.add(u.account.name() + ": " + item + " is in the cart twice (a replayed add; "
                                    + (u.acked.contains(item) ? "acknowledged" : "not acknowledged") + ")");
                        } else {
                            seen.add(item);
                        }
                    }
                }
                String finalRoute = Http.route(u.sessionCookie());
                result.finalRoutes.merge(String.valueOf(finalRoute), 1, Integer::sum);
                if (u.cookie("SERVERID") != null) {
                    result.finalServerIds.merge(u.cookie("SERVERID"), 1, Integer::sum);
                }
                if (survivor.name().equals(finalRoute)) {
                    result.onSurvivorAtEnd++;
                }
                if (victim.name().equals(nodeAtKill.get(u)) && u.nodesAfterKill.contains(survivor.name())) {
                    result.moved++;
                }
            }
        } finally {
            stop.set(true);
            users.forEach(ShopUser::close);
            pool.shutdownNow();
            pool.awaitTermination(30, TimeUnit.SECONDS);
            // After a failure between the kill and the restart: leave the back end whole for the next scenario.
            for (ServerNode n : backend.nodes()) {
                if (!n.isAlive()) {
                    try {
                        n.start();
                    } catch (Exception e) {
                        System.out.println("could not start " + n.name() + " again: " + e);
                    }
                }
            }
        }

        int failureSamples = 0;
        int problemSamples = 0;
        for (ShopUser u : users) {
            result.requests += u.requests;
            result.acked += u.acked.size();
            result.loggedOut += u.loggedOut;
            result.missingSeen += u.missingSeen;
            result.misroutes += u.misroutes;
            result.idChanges += u.idChanges;
            for (ShopUser.Failure f : u.failures) {
                if (f.atNanos() < timeline.killedAt) {
                    result.failedBefore++;
                } else if (f.atNanos() <= timeline.upAgainAt) {
                    result.failedSwitch++;
                } else {
                    result.failedAfter++;
                }
                if (failureSamples++ < 24) {
                    result.samples.add(u.account.name() + " FAILED " + phase(f.atNanos(), timeline) + ": " + f.what());
                }
            }
            for (String p : u.problems) {
                if (problemSamples++ < 20) {
                    result.samples.add(p);
                }
            }
            for (long[] l : u.latencies) {
                if (l[0] >= timeline.killedAt && l[0] <= timeline.killedAt + TimeUnit.MILLISECONDS.toNanos(DOWN_MS)) {
                    result.maxSwitchLatencyMs = Math.max(result.maxSwitchLatencyMs, TimeUnit.NANOSECONDS.toMillis(l[1]));
                }
            }
        }
        return result;
    }

    private static String phase(long at, Timeline t) {
        if (at < t.killedAt) {
            return "before the kill";
        }
        return String.format("%.2f s after the kill", (at - t.killedAt) / 1e9);
    }

    /**
     * Starts one thread per user that logs in and, if that worked, shops; returns once every user's
     * login is through (or fails after 60 s).
     */
    static <U> List<Future<?>> loginThenShop(ExecutorService pool, List<U> users, CountDownLatch loggedIn,
            java.util.function.Predicate<U> login, java.util.function.Consumer<U> shop) throws InterruptedException {
        List<Future<?>> running = new ArrayList<>();
        for (U u : users) {
            running.add(pool.submit(() -> {
                boolean ok;
                try {
                    ok = login.test(u);
                } finally {
                    loggedIn.countDown();
                }
                if (ok) {
                    shop.accept(u);
                }
            }));
        }
        if (!loggedIn.await(60, TimeUnit.SECONDS)) {
            throw new AssertionError("the users did not get through the login within 60 s");
        }
        return running;
    }
}
