package dev.tether.failover;

import dev.tether.testkit.RedisMonitor;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One run behind a balancer without affinity to the session: {@link FailoverTraffic#USERS} users
 * ({@link PairedUser}) log in and shop with pairs of parallel requests; node1 is killed with kill -9
 * mid-traffic and started again; then every user reads the cart once more. Redis is watched the
 * whole time (INFO commandstats before and after, MONITOR in between) to count its work per request.
 */
final class NoAffinityTraffic {

    static final long BEFORE_KILL_MS = 2_500;
    static final long DOWN_MS = 3_000;
    static final long AFTER_RESTART_MS = 2_000;
    static final long THINK_MS = 20;
    /** No user loop runs longer than this, whatever happens. */
    static final long TRAFFIC_LIMIT_MS = 90_000;

    private NoAffinityTraffic() {
    }

    static NoAffinityResult run(Backend backend, Balancer balancer, BalancerProcess lb, String mode, RedisProcess redis,
            List<ShopUser.Account> accounts, String itemPrefix) throws Exception {
        NoAffinityResult result = new NoAffinityResult();
        result.backend = backend.label();
        result.balancer = balancer.label;
        result.mode = mode;
        result.users = accounts.size();
        List<PairedUser> users = new ArrayList<>();
        for (ShopUser.Account a : accounts) {
            users.add(new PairedUser(a, lb.baseUrl(), itemPrefix));
        }
        ServerNode victim = backend.nodes().get(0);
        Map<String, Long> statsBefore = redis.commandCallsByName();
        RedisMonitor monitor = redis.monitor();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch loggedIn = new CountDownLatch(users.size());
        long start = System.nanoTime();
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(TRAFFIC_LIMIT_MS);
        long killedAt = Long.MAX_VALUE;
        ExecutorService pool = Executors.newFixedThreadPool(users.size());
        ExecutorService partners = Executors.newFixedThreadPool(users.size());
        List<Future<?>> running = new ArrayList<>();
        Set<PairedUser> losers = new java.util.HashSet<>();
        try {
            running.addAll(FailoverTraffic.loginThenShop(pool, users, loggedIn, PairedUser::login,
                    u -> u.shop(stop::get, deadline, THINK_MS, partners)));
            Thread.sleep(BEFORE_KILL_MS);
            killedAt = System.nanoTime();
            victim.kill9();
            result.killed = victim.name();
            Thread.sleep(DOWN_MS);
            victim.start();
            Thread.sleep(AFTER_RESTART_MS);
            stop.set(true);
            for (Future<?> f : running) {
                try {
                    f.get(Math.max(1, deadline - System.nanoTime() + TimeUnit.SECONDS.toNanos(30)), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    throw new AssertionError("a user did not stop within its time limit", e);
                }
            }
            result.seconds = (System.nanoTime() - start) / 1e9;
            for (PairedUser u : users) {
                if (!u.loggedIn) {
                    continue;
                }
                result.loggedIn++;
                List<String> cart = null;
                for (int attempt = 1; cart == null && attempt <= 10 && u.loggedOut == 0; attempt++) {
                    cart = u.finalCart(); // a 503 or a balancer's 502 is tried again, a bounded number of times
                    if (cart == null) {
                        Thread.sleep(200);
                    }
                }
                List<String> acked = List.copyOf(u.ackedSoFar());
                if (cart == null) {
                    result.unverified++;
                    result.samples.add(u.account.name() + ": the final cart read failed 10 times; its " + acked.size()
                            + " acknowledged items are not verified");
                    continue;
                }
                List<String> lost = new ArrayList<>(acked);
                lost.removeAll(cart);
                result.lost += lost.size();
                if (!lost.isEmpty()) {
                    losers.add(u);
                    result.samples.add(u.account.name() + " LOST " + lost.size() + " acknowledged item(s): "
                            + lost.subList(0, Math.min(5, lost.size())));
                }
                result.duplicates += cart.size() - Set.copyOf(cart).size();
            }
        } finally {
            stop.set(true);
            users.forEach(PairedUser::close);
            pool.shutdownNow();
            partners.shutdownNow();
            pool.awaitTermination(30, TimeUnit.SECONDS);
            monitor.close();
            if (!victim.isAlive()) {
                try {
                    victim.start();
                } catch (RuntimeException e) {
                    System.out.println("could not start " + victim.name() + " again: " + e);
                }
            }
        }
        for (PairedUser u : users) {
            if ((u.missingSeen > 0 || losers.contains(u)) && u.cookieAtLogin != null) {
                // the diagnosis: what the user saw, and every command on its session's record
                List<String> bases = new ArrayList<>(u.basesSeen);
                bases.add(dev.tether.testkit.Http.base(u.cookieAtLogin));
                List<String> lines = new ArrayList<>();
                lines.add("---- nodes: " + backend.nodes().stream().map(n -> n.name() + " port " + n.port()).toList()
                        + "; each answer: time (ms), connection, request, status, node, port, cart size, session (its end)");
                lines.addAll(u.trace);
                lines.add("---- Redis clients by node (from the writer identity of their session writes): " + writers(monitor.lines()));
                lines.add("---- MONITOR lines naming any of the user's session ids (" + bases.size() + ", the login's last)");
                monitor.lines().stream().filter(l -> bases.stream().anyMatch(l::contains)).forEach(lines::add);
                java.nio.file.Files.write(lb.runDir.resolve("diagnosis-" + u.account.name() + ".txt"), lines);
            }
        }
        Map<String, Long> statsAfter = redis.commandCallsByName();
        long census = monitor.lines().stream().filter(NoAffinityTraffic::censusReport).count();
        long all = 0;
        for (Map.Entry<String, Long> e : statsAfter.entrySet()) {
            if (!Set.of("info", "monitor").contains(e.getKey())) {
                all += e.getValue() - statsBefore.getOrDefault(e.getKey(), 0L);
            }
        }
        result.commands = all - census;
        result.roundTrips = monitor.clientCommands().size();

        int samples = 0;
        for (PairedUser u : users) {
            result.requests += u.requests;
            result.acked += u.acked.size();
            result.loginRetries += u.loginRetries;
            result.refused += u.refused;
            result.loggedOut += u.loggedOut;
            result.cookieRewrites += u.cookieRewrites;
            result.missingSeen += u.missingSeen;
            for (PairedUser.Failure f : u.failures) {
                result.failures++;
                if (f.atNanos() < killedAt) {
                    result.failuresBeforeKill++;
                }
                if (samples++ < 12) {
                    result.samples.add(u.account.name() + " FAILED " + (f.atNanos() < killedAt ? "before the kill"
                            : String.format("%.2f s after the kill", (f.atNanos() - killedAt) / 1e9)) + ": " + f.what());
                }
            }
            for (String p : u.problems) {
                if (samples++ < 24) {
                    result.samples.add(p);
                }
            }
        }
        return result;
    }

    private static final java.util.regex.Pattern WRITER = java.util.regex.Pattern.compile(
            "\\[\\d+ ([0-9.:]+)\\] \"(?i:evalsha)\" \"\\w+\" \"2\" \"[^\"]*\" \"[^\"]*\" \"([^\"]+)\"");

    /** Which Redis client address belongs to which node: the writer identity its session writes carry. */
    private static Map<String, String> writers(List<String> monitorLines) {
        Map<String, String> out = new java.util.TreeMap<>();
        for (String l : monitorLines) {
            java.util.regex.Matcher m = WRITER.matcher(l);
            if (m.find()) {
                out.putIfAbsent(m.group(1), m.group(2));
            }
        }
        return out;
    }

    /** A node's periodic census report (HSET / PEXPIRE of {@code <prefix>nodes}), sent whatever the requests do. */
    private static boolean censusReport(String monitorLine) {
        int close = monitorLine.indexOf(']');
        if (close < 0 || monitorLine.substring(0, close).endsWith(" lua")) {
            return false;
        }
        String rest = monitorLine.substring(close + 1).trim().toLowerCase(java.util.Locale.ROOT);
        return (rest.startsWith("\"hset\"") || rest.startsWith("\"pexpire\"")) && monitorLine.contains("nodes\" ");
    }
}
