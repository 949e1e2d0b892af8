package dev.tether.failover;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.failover.FaultLedger.Outcome;
import dev.tether.testkit.FaultProxy;
import dev.tether.testkit.Http;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The randomized fault suite: two nodes (subclasses say which container) behind a real HAProxy
 * (route from the session id, {@code examples/balancers/haproxy/haproxy.cfg}), a real Redis that
 * the nodes reach through the testkit's {@link FaultProxy}, 24 users ({@link FaultUser}) and the
 * faults of {@link FaultSchedule}, drawn from a seed ({@code -Dfaults.seed}, printed at the start)
 * for {@code -Dfaults.seconds} (CI: a fixed seed, 75 s).
 *
 * <p>After the faults stop and everything has recovered, the checker asks:
 * <ol>
 *   <li>lost: is every acknowledged item in its session's cart at the session's end (the read
 *       before its logout, or the final read)?</li>
 *   <li>resurrected: does any logged-out cookie authenticate again, on any node, asked directly?</li>
 *   <li>records: is there a record in Redis for a logged-out session, or for an id a login
 *       replaced (two live records for one session)?</li>
 *   <li>failures: any 5xx other than Tether's 503 refusals, or balancer errors and lost answers
 *       with no node fault near them?</li>
 * </ol>
 * It prints a table and writes it to {@code target/failover/<tag>-faults/report.txt}.
 */
abstract class FaultSuite {

    static final long CI_SEED = 20261127L;
    static final int CI_SECONDS = 75;
    private static final int USERS = 24;

    abstract Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws Exception;

    abstract String tag();

    /** Why this container's suite does not run unless asked for ({@code -Dfaults.<tag>=true}), or null: it runs. */
    String knownDefects() {
        return null;
    }

    /**
     * Whether the short fixed-seed schedule runs in every build (CI); the others run with
     * {@code -Dfaults=true} or {@code -Dfaults.<tag>=true}, and {@code -Dfaults=false} skips all.
     */
    boolean inEveryBuild() {
        return false;
    }

    @Test
    void acknowledgedChangesSurviveAndLogoutsAreFinal() throws Exception {
        Assumptions.assumeTrue(Balancer.HAPROXY_ROUTE.missing().isEmpty(),
                "SKIPPED: " + Balancer.HAPROXY_ROUTE.missing().orElse("") + ": the fault suite needs HAProxy");
        if (knownDefects() != null && !Boolean.getBoolean("faults." + tag())) {
            System.out.println("SKIPPED (-Dfaults." + tag() + "=true runs it): " + knownDefects());
            Assumptions.assumeTrue(false, "SKIPPED until these defects are fixed (-Dfaults." + tag() + "=true runs it): " + knownDefects());
        }
        // The fixed seed fixes the faults and the users' choices, not where a fault lands among the
        // requests: a defect this short schedule meets on some runs only fails some builds, so it
        // runs in every build only for the containers whose defects it found are fixed.
        boolean asked = Boolean.getBoolean("faults") || Boolean.getBoolean("faults." + tag());
        boolean refused = "false".equals(System.getProperty("faults"));
        if (refused || !asked && !inEveryBuild()) {
            String why = "SKIPPED: this fault suite runs on demand (-Dfaults=true or -Dfaults." + tag() + "=true)"
                    + (refused ? ": -Dfaults=false" : "");
            System.out.println(why);
            Assumptions.assumeTrue(false, why);
        }
        long seed = Long.getLong("faults.seed", CI_SEED);
        int seconds = Integer.getInteger("faults.seconds", CI_SECONDS);
        System.out.println("[faults] " + tag() + ": seed " + seed + " (-Dfaults.seed=" + seed + "), " + seconds + " s of faults");
        Path work = Path.of(System.getProperty("tether.work", "target/failover")).toAbsolutePath().resolve(tag() + "-faults");
        List<ShopUser.Account> accounts = FailoverTraffic.accounts().subList(0, USERS);

        try (RedisProcess redis = RedisProcess.start(); FaultProxy proxy = FaultProxy.start(redis.port());
                Backend backend = startBackend(work.resolve("nodes"), proxy.redisUri(), accounts);
                BalancerProcess lb = BalancerProcess.start(Balancer.HAPROXY_ROUTE, work.resolve("haproxy"),
                        backend.nodes().get(0).port(), backend.nodes().get(1).port())) {
            FaultLedger ledger = new FaultLedger();
            ledger.redisView = base -> describeRecord(redis, base);
            ledger.redisCart = (base, item) -> cartHolds(redis, base, item);
            Map<String, Integer> nodePorts = new LinkedHashMap<>();
            backend.nodes().forEach(n -> nodePorts.put(n.name(), n.port()));
            List<FaultUser> users = new ArrayList<>();
            for (int i = 0; i < accounts.size(); i++) {
                users.add(new FaultUser(accounts.get(i), seed * 31 + i, ledger, lb.port, nodePorts, "f" + tag().charAt(0) + seed % 10000 + "-"));
            }
            FaultSchedule schedule = new FaultSchedule(seed, ledger, backend.nodes(), redis, proxy, users);

            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            for (FaultUser u : users) {
                Thread t = new Thread(() -> u.run(stop::get), "user-" + u.account.name());
                t.start();
                threads.add(t);
            }
            try {
                schedule.run(ledger.now() + seconds * 1_000L);
            } finally {
                schedule.heal();
            }
            long faultsEnd = ledger.now();
            Thread.sleep(5_000); // recovery under traffic: replays, take-overs, the balancer's health checks
            stop.set(true);
            for (Thread t : threads) {
                t.join(60_000);
            }
            // The final reads, every user in turn, after the faults and the recovery.
            for (FaultUser u : users) {
                u.finish();
            }

            boolean ackUnstoredLogged = backend.nodes().stream().anyMatch(n -> n.log().contains(ACK_UNSTORED_LOG));
            checkRecords(redis, users, ledger);
            checkLoggedOutCookies(backend.nodes(), users, ledger);
            ledger.unexplainedErrors().forEach(op -> ledger.finding("unexplained error", op.toString()));

            long knownLost = ackUnstoredLogged ? ledger.lost.stream().filter(a -> a.mode().equals("parallel inplace")).count() : 0;
            long knownRedisLost = ledger.lost.stream().filter(a -> !(ackUnstoredLogged && a.mode().equals("parallel inplace")))
                    .filter(ledger::nearRedisFault).count();
            long lost = ledger.lost.size() - knownLost - knownRedisLost;
            String table = table(seed, seconds, ledger, users, schedule, faultsEnd, lost, knownLost, knownRedisLost);
            System.out.println(table);
            Files.createDirectories(work);
            Files.writeString(work.resolve("report.txt"), table, StandardCharsets.UTF_8);

            assertAll(
                    () -> assertTrue(ledger.count(Outcome.ACK) > 500, "too little traffic to prove anything:\n" + table),
                    () -> assertTrue(schedule.log.size() >= 5, "too few faults:\n" + table),
                    () -> assertEquals(0, lost, "acknowledged items lost:\n" + table),
                    () -> assertEquals(0, ledger.findings("resurrected"), "logged-out sessions let in again:\n" + table),
                    () -> assertEquals(0, ledger.findings("zombie record") + ledger.findings("two records"),
                            "records that must not exist:\n" + table),
                    () -> assertEquals(0, ledger.findings("failure") + ledger.findings("wrong page")
                            + ledger.findings("unexplained error"), "5xx other than refusals, or errors with no node fault:\n" + table),
                    () -> assertEquals(0, ledger.findings("unverified"), "sessions the checker could not read:\n" + table));
        }
    }

    /** Scans Redis: no record for a logged-out session, none for an id a login replaced. */
    private static void checkRecords(RedisProcess redis, List<FaultUser> users, FaultLedger ledger) {
        Map<String, String> loggedOut = new HashMap<>();
        Map<String, String> replaced = new HashMap<>();
        Set<String> current = new HashSet<>();
        for (FaultUser u : users) {
            u.loggedOutCookies.forEach(c -> loggedOut.put(Http.base(c), u.account.name()));
            u.replacedAtLogin.forEach(b -> replaced.put(b, u.account.name()));
            if (u.cookie() != null) {
                current.add(Http.base(u.cookie()));
            }
        }
        for (String key : redis.keys("*")) {
            if (!key.endsWith("}") || !"hash".equals(redis.command("TYPE", key))
                    || redis.reply("HEXISTS", key, "ver").equals(0L)) {
                continue;
            }
            String base = key.substring(key.lastIndexOf('{') + 1, key.length() - 1);
            if (loggedOut.containsKey(base) && !current.contains(base)) {
                ledger.finding("zombie record", loggedOut.get(base) + ": a record of a logged-out session is in Redis ("
                        + FaultUser.short_(base) + ", user field " + field(redis, key, "user") + ", ver " + field(redis, key, "ver") + ")");
            } else if (replaced.containsKey(base)) {
                ledger.finding("two records", replaced.get(base) + ": the id a login replaced still has a record ("
                        + FaultUser.short_(base) + ", user field " + field(redis, key, "user") + ")");
            }
        }
    }

    /** The record and tombstone of a base id, as Redis holds them now (no values, no full ids). */
    private static String describeRecord(RedisProcess redis, String base) {
        StringBuilder out = new StringBuilder();
        for (String key : redis.keys("*{" + base + "}*")) {
            out.append(key.endsWith(":gone") ? "a tombstone" : "a record (ver " + field(redis, key, "ver") + ", user "
                    + field(redis, key, "user") + ", owner " + field(redis, key, "owner") + ")").append("; ");
        }
        return out.length() == 0 ? "nothing" : out.toString();
    }

    /** Whether the record's cart attribute (Java-serialized: names appear as they are) holds the item. */
    private static String cartHolds(RedisProcess redis, String base, String item) {
        for (String key : redis.keys("*{" + base + "}")) {
            Object cart = redis.reply("HGET", key, "a:cart");
            if (cart instanceof byte[] b) {
                boolean holds = new String(b, StandardCharsets.ISO_8859_1).contains(item);
                return "record ver " + field(redis, key, "ver") + ", its cart " + (holds ? "holds" : "does not hold") + " the item";
            }
            return "record ver " + field(redis, key, "ver") + " without a cart";
        }
        return "no record";
    }

    private static String field(RedisProcess redis, String key, String field) {
        Object v = redis.reply("HGET", key, field);
        return v instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(v);
    }

    /** Every logged-out cookie, on every node directly: none may show the user's page. */
    private static void checkLoggedOutCookies(List<ServerNode> nodes, List<FaultUser> users, FaultLedger ledger) {
        for (FaultUser u : users) {
            for (String c : u.loggedOutCookies) {
                for (ServerNode n : nodes) {
                    Http.Reply r = Http.get(n.port(), "/shop/shop/cart?format=text", c);
                    String user = ShopUser.fields(r.body()).get("user");
                    if (r.status() == 200 && user != null && !user.isEmpty() && !r.body().contains("j_security_check")) {
                        ledger.finding("resurrected", u.account.name() + ": the logged-out cookie " + FaultUser.short_(c)
                                + " authenticates as " + user + " on " + n.name());
                    }
                }
            }
        }
    }

    /** What a node logs when it finds that a change it already answered with a 2xx was not stored. */
    static final String ACK_UNSTORED_LOG = "a response had already been sent when its session change turned out";

    /**
     * A known defect: of two requests of one session in flight on one node, one's answer goes
     * out while the write that carries its change (the other request's, the cart being shared) is
     * still in flight; that write then fails (a command timeout) and the answered change is not
     * stored. The node knows and logs it (AcknowledgedUnstored), so the checker counts such a loss
     * as this defect only when the item was one of two parallel adds and a node logged that line.
     */
    private String table(long seed, int seconds, FaultLedger ledger, List<FaultUser> users, FaultSchedule schedule, long faultsEnd,
            long lost, long knownLost, long knownRedisLost) {
        Map<String, Long> faults = new LinkedHashMap<>();
        ledger.windows.forEach(w -> faults.merge(w.fault(), 1L, Long::sum));
        long loggedOut = users.stream().mapToLong(u -> u.loggedOutCookies.size()).sum();
        long refusedNoRetryAfter = ledger.ops.stream().filter(o -> o.detail().equals("503 without Retry-After")).count();
        long explained = ledger.count(Outcome.BALANCER) + ledger.count(Outcome.UNREACHABLE) - ledger.unexplainedErrors().size();
        StringBuilder t = new StringBuilder();
        t.append(String.format(Locale.ROOT, "%n===== fault suite, %s: seed %d, %d s of faults (ended at %d ms), %s =====%n", tag(), seed,
                seconds, faultsEnd, Instant.now()));
        t.append("faults: ").append(faults).append('\n');
        t.append("KNOWN DEFECT tolerated (counted, not failed): Redis restarted from a snapshot saved after a logout holds the\n"
                + "  record again, logged in. The node that took the logout never loads it again and deletes it again when it\n"
                + "  sees Redis return; until then ANOTHER node can load it and let the logged-out cookie in. The end-of-run\n"
                + "  check of every logged-out cookie on every node must still find none.\n"
                + "KNOWN DEFECT tolerated (counted, not failed): of two adds in flight on one node, one is answered 200 while the\n"
                + "  write carrying its change (the other's: the cart is shared) is in flight; that write fails (command timeout)\n"
                + "  and the answered item is lost. Counted so only for parallel adds when a node logged AcknowledgedUnstored.\n"
                + "KNOWN DEFECT tolerated (counted, not failed): items answered 200 by a node during or up to 5 s after a fault\n"
                + "  between the nodes and Redis (connections reset or blackholed, Redis killed or paused) go missing from that\n"
                + "  node's copy and from Redis (seed 42 soak: items answered 0.5-2 s after a reset of the Redis connections).\n"
                + "  Items lost around node faults or balancer flaps only are not tolerated. One cause is fixed (a copy\n"
                + "  holding queued changes read again before its replay, OutageTest); counted until a soak under load shows none.\n"
                + "KNOWN DEFECT tolerated (counted, not failed): a logout acknowledged during, or up to 5 s after, a fault between\n"
                + "  the nodes and Redis is sometimes not final: the node lets the cookie in again, or the record survives.\n"
                + "  Resurrections of logouts made away from such faults are not tolerated. One cause is fixed (a queued\n"
                + "  logout is final on its node at once, OutageTest); counted until a soak under load shows none.\n");
        row(t, "operations", ledger.ops.size());
        row(t, "acknowledged (2xx/3xx)", ledger.count(Outcome.ACK));
        row(t, "refused (503 of Tether)", ledger.count(Outcome.REFUSED));
        row(t, "  of which without Retry-After", refusedNoRetryAfter);
        row(t, "balancer errors / no answer, near a node fault", explained);
        row(t, "login restarts (3xx/4xx in a login)", ledger.count(Outcome.RETRY));
        row(t, "logins / logouts acknowledged", users.stream().mapToLong(u -> u.logins).sum() + " / " + loggedOut);
        row(t, "sessions checked (pre-logout and final reads)", users.stream().mapToLong(u -> u.sessionsChecked).sum());
        row(t, "items excused (every copy destroyed, marked)", ledger.excused.size());
        row(t, "LOST (must be 0)", lost);
        row(t, "KNOWN DEFECT: lost, answered before a shared write failed", knownLost);
        row(t, "KNOWN DEFECT: lost, answered near a Redis-side fault", knownRedisLost);
        row(t, "RESURRECTED LOGINS (must be 0)", ledger.findings("resurrected"));
        row(t, "KNOWN DEFECT: let in after a snapshot restore", ledger.findings(FaultLedger.KNOWN_SNAPSHOT_RESURRECTION));
        row(t, "KNOWN DEFECT: let in after a logout near a Redis-side fault", ledger.findings(FaultLedger.KNOWN_OUTAGE_RESURRECTION));
        row(t, "sessions logged out by a fault", ledger.findings("logged out"));
        row(t, "cart reads listing an item twice", ledger.findings("duplicates"));
        row(t, "records of logged-out / replaced ids (must be 0)", ledger.findings("zombie record") + " / " + ledger.findings("two records"));
        row(t, "failures: other 5xx, wrong pages (must be 0)", ledger.findings("failure") + ledger.findings("wrong page"));
        row(t, "balancer errors with no node fault (must be 0)", ledger.unexplainedErrors().size());
        row(t, "unverified sessions (must be 0)", ledger.findings("unverified"));
        if (!ledger.findings.isEmpty()) {
            t.append("findings:\n");
            ledger.findings.stream().limit(60).forEach(f -> t.append("  ").append(f.kind()).append(": ").append(f.what()).append('\n'));
        }
        t.append("schedule:\n");
        schedule.log.forEach(l -> t.append("  ").append(l).append('\n'));
        return t.toString();
    }

    private static void row(StringBuilder t, String label, Object value) {
        t.append(String.format(Locale.ROOT, "| %-58s | %13s |%n", label, value));
    }
}
