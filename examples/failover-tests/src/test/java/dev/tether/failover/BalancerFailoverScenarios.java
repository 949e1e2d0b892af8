package dev.tether.failover;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.function.Executable;

/**
 * Failover through real balancers: two nodes of one kind (subclasses), one Redis, and for each
 * balancer configuration in {@code examples/balancers/} the scenario of {@link FailoverTraffic}.
 * The nodes are started once (in parallel) and shared by the scenarios, which run one after the
 * other; every scenario logs in its own users, kills one node and starts it again.
 *
 * <p>A balancer that is not installed is skipped loudly: a {@code SKIPPED: ...} line in the output
 * and a JUnit assumption, so it shows as skipped, not passed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class BalancerFailoverScenarios {

    private final List<ScenarioResult> results = new ArrayList<>();
    private final List<String> skipped = new ArrayList<>();
    private Backend backend;
    private BalancerProcess lb;
    private Path work;
    private int scenario;

    /** Starts the two nodes. */
    abstract Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws Exception;

    /** Short name, for directories and item names. */
    abstract String tag();

    /** The balancer configurations this back end runs behind; the others are skipped. */
    Set<Balancer> balancers() {
        return Balancer.WITH_AFFINITY;
    }

    @BeforeAll
    void startNodes() throws Exception {
        work = Path.of(System.getProperty("tether.work", "target/failover")).toAbsolutePath().resolve(tag());
        List<String> missing = balancers().stream().flatMap(b -> b.missing().stream()).distinct().toList();
        if (balancers().stream().allMatch(b -> b.missing().isPresent())) {
            // nothing to run: do not start the nodes either
            missing.forEach(m -> System.out.println("SKIPPED: " + m));
            Assumptions.assumeTrue(false, "SKIPPED: no balancer installed: " + missing);
        }
        RedisProcess redis = SharedRedis.get();
        backend = startBackend(work.resolve("nodes"), redis.uri(), FailoverTraffic.accounts());
    }

    @AfterEach
    void stopBalancer() {
        if (lb != null) {
            lb.close();
            lb = null;
        }
    }

    @AfterAll
    void stopNodesAndReport() {
        try {
            if (backend != null) {
                backend.close();
            }
        } finally {
            StringBuilder out = new StringBuilder("\n===== Failover through real balancers: " + (backend == null ? tag() : backend.label())
                    + " (" + FailoverTraffic.USERS + " users, kill -9 of the busier node, restart " + FailoverTraffic.DOWN_MS / 1000
                    + " s later) =====\n");
            out.append(ScenarioResult.header()).append('\n').append(ScenarioResult.rule()).append('\n');
            results.forEach(r -> out.append(r.row()).append('\n'));
            skipped.forEach(s -> out.append("SKIPPED: ").append(s).append('\n'));
            out.append(LEGEND);
            System.out.println(out);
            try {
                java.nio.file.Files.createDirectories(work);
                java.nio.file.Files.writeString(work.resolve("report.txt"), out.toString());
            } catch (java.io.IOException | RuntimeException ignored) {
                // the console has it
            }
        }
    }

    static final String LEGEND = """
            failed: requests without a usable answer (I/O error or a status other than 200), by when they ended: before the
            kill / from the kill until the node served again / after that. lost: acknowledged items missing from the final
            cart. logged out: answers with the login page or another user. dup: items in a cart twice (a replayed request).
            moved: users of the killed node whom the survivor served afterwards. misr.: answers from another node while the
            one the affinity (cookie route, SERVERID) named was up. final routes: the users' cookie routes at the end.
            switch ms: the slowest answer to a request started within the %d s the node was down.
            """.formatted(FailoverTraffic.DOWN_MS / 1000);

    @Test
    @Order(1)
    void httpdModProxyBalancer() throws Exception {
        scenario(Balancer.HTTPD);
    }

    @Test
    @Order(2)
    void haproxyRouteFromSessionId() throws Exception {
        scenario(Balancer.HAPROXY_ROUTE);
    }

    @Test
    @Order(3)
    void nginxMapBySuffix() throws Exception {
        scenario(Balancer.NGINX_MAP);
    }

    @Test
    @Order(4)
    void nginxIpHash() throws Exception {
        scenario(Balancer.NGINX_IP_HASH);
    }

    @Test
    @Order(5)
    void haproxyCookieInsert() throws Exception {
        scenario(Balancer.HAPROXY_COOKIE);
    }

    private void scenario(Balancer balancer) throws Exception {
        Assumptions.assumeTrue(balancers().contains(balancer), () -> balancer.label + " is not run behind " + tag());
        scenario++;
        Optional<String> missing = balancer.missing();
        if (missing.isPresent()) {
            String line = balancer.label + " behind " + backend.label() + ": " + missing.get();
            System.out.println("SKIPPED: " + line);
            skipped.add(line);
            Assumptions.assumeTrue(false, "SKIPPED: " + line);
        }
        List<ServerNode> nodes = backend.nodes();
        lb = BalancerProcess.start(balancer, work.resolve(balancer.name().toLowerCase().replace('_', '-')),
                nodes.get(0).port(), nodes.get(1).port());
        System.out.println("---- " + backend.label() + " behind " + lb);
        ScenarioResult r;
        try {
            r = FailoverTraffic.run(backend, balancer, lb, FailoverTraffic.accounts(), tag() + scenario + "-");
        } catch (Throwable t) {
            System.out.println(lb.output());
            throw t;
        }
        results.add(r);
        System.out.println(ScenarioResult.header());
        System.out.println(r.row());
        System.out.printf("     traffic %.1f s, node restart took %.1f s; final routes %s%s%n", r.trafficSeconds, r.restartSeconds,
                r.finalRoutes, r.finalServerIds.isEmpty() ? "" : ", SERVERID " + r.finalServerIds);
        r.samples.forEach(s -> System.out.println("     " + s));

        List<Executable> checks = new ArrayList<>();
        checks.add(() -> assertEquals(r.users, r.loggedIn, "every user logged in through the balancer"));
        checks.add(() -> assertTrue(r.usersOnVictim > 0, "the killed node served users when it died"));
        checks.add(() -> assertEquals(0, r.lostItems, "acknowledged items lost"));
        checks.add(() -> assertEquals(0, r.missingSeen, "acknowledged items missing from a cart answer during the traffic"));
        checks.add(() -> assertEquals(0, r.loggedOut, "answers with the login page or another user's data"));
        checks.add(() -> assertEquals(0, r.idChanges, "session ids whose base changed (a new session instead of the old one)"));
        checks.add(() -> assertEquals(0, r.failedBefore, "failed requests before the kill"));
        if (balancer.replaysInFlight) {
            // retries + replay of in-flight requests configured: nobody may see an error
            checks.add(() -> assertEquals(0, r.failed(), "failed requests (the configuration retries and replays them)"));
        } else {
            // httpd retries a request whose connection fails on another member, but never resends a request it
            // already sent: a request the killed node held when it died fails, and so can one that connected
            // while the dying JVM's socket still accepted (that window grows on a loaded machine). So: failures
            // only during the switch, at most two per user of the killed node; the count is reported above.
            checks.add(() -> assertTrue(r.failedSwitch <= 2 * r.usersOnVictim,
                    "failed requests during the switch (" + r.failedSwitch + ") at most two per user of the killed node ("
                            + r.usersOnVictim + " users)"));
            checks.add(() -> assertEquals(0, r.failedAfter, "failed requests after the node was back"));
        }
        if (balancer.affinity != Balancer.Affinity.CLIENT_IP) {
            checks.add(() -> assertEquals(0, r.misroutes, "requests served by another node while the affinity's node was up"));
        }
        if (balancer.affinity == Balancer.Affinity.ROUTE_SUFFIX) {
            checks.add(() -> assertEquals(r.users, r.onSurvivorAtEnd,
                    "users whose cookie route is the survivor " + r.survivor + " at the end: " + r.finalRoutes));
        }
        checks.add(() -> assertEquals(r.usersOnVictim, r.moved, "users of the killed node served by the survivor afterwards"));
        try {
            assertAll(balancer.label + " behind " + backend.label(), checks);
        } catch (AssertionError e) {
            System.out.println(lb.output());
            System.out.println(ServerNode.dump(balancer.label + " behind " + backend.label() + " failed", backend.nodes()));
            throw e;
        }
    }
}
