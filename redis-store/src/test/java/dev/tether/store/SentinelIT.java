package dev.tether.store;

import static dev.tether.testkit.Await.await;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.RedisProcess;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.logging.Level;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Redis Sentinel: one master, one replica, three sentinels (quorum 2, down-after 1 s) on free
 * loopback ports, and a store on {@code redis-sentinel://...#mymaster}. The master is killed with
 * SIGKILL while sessions keep committing; Sentinel promotes the replica and the store follows it.
 * Each test prints one {@code [SentinelIT]} line with what it measured.
 */
@Timeout(120)
class SentinelIT {

    private static final String MASTER = "mymaster";
    private static final Duration FAILOVER = Duration.ofSeconds(25);

    private final List<AutoCloseable> opened = Collections.synchronizedList(new ArrayList<>());
    private RedisProcess master;
    private RedisProcess replica;
    private final List<RedisProcess> sentinels = new ArrayList<>();

    @AfterEach
    void closeAll() {
        List<AutoCloseable> all = new ArrayList<>(opened);
        Collections.reverse(all);
        for (AutoCloseable c : all) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort: the next one still closes
            }
        }
        opened.clear();
    }

    private <T extends AutoCloseable> T track(T c) {
        opened.add(c);
        return c;
    }

    /** Master and replica in sync, three sentinels that know the replica and each other. */
    private void startTopology() {
        master = track(RedisProcess.start());
        replica = track(RedisProcess.start("--replicaof", "127.0.0.1", Integer.toString(master.port())));
        List<CompletableFuture<RedisProcess>> starting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            starting.add(CompletableFuture.supplyAsync(() -> track(RedisProcess.startSentinel(MASTER, master.port(), 2, 1000, 3000))));
        }
        starting.forEach(f -> sentinels.add(f.join()));
        await("the replica is in sync", Duration.ofSeconds(10),
                () -> replica.command("INFO", "replication").contains("master_link_status:up"));
        await("every sentinel knows the replica and the two other sentinels", Duration.ofSeconds(15), () -> sentinels.stream()
                .allMatch(s -> ((List<?>) s.reply("SENTINEL", "REPLICAS", MASTER)).size() == 1
                        && ((List<?>) s.reply("SENTINEL", "SENTINELS", MASTER)).size() == 2));
    }

    private String sentinelUri() {
        return "redis-sentinel://" + sentinels.stream().map(s -> "127.0.0.1:" + s.port()).collect(Collectors.joining(",")) + "#" + MASTER;
    }

    /**
     * Generous timeouts: a cold JVM on a loaded two-core machine can miss 400 ms, even 1 s. The
     * master's death is noticed through the dropped connection, not through a timeout.
     */
    private SessionStoreOptions.Builder options() {
        return Stores.options(sentinelUri()).commandTimeout(Duration.ofSeconds(2)).connectTimeout(Duration.ofSeconds(2));
    }

    private RedisSessionStore openUp(SessionStoreOptions options) {
        RedisSessionStore store = track(new RedisSessionStore(options, "node1"));
        await("the store connects through Sentinel", Duration.ofSeconds(15), store::isRedisAvailable);
        return store;
    }

    /** The master's port as the sentinels that answer name it (all must agree), or -1. */
    private int masterPortBySentinels() {
        Set<Integer> ports = new java.util.HashSet<>();
        for (RedisProcess s : sentinels) {
            List<?> addr = (List<?>) s.reply("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER);
            ports.add(Integer.parseInt(new String((byte[]) addr.get(1), StandardCharsets.UTF_8)));
        }
        return ports.size() == 1 ? ports.iterator().next() : -1;
    }

    private boolean isMaster(RedisProcess r) {
        return r.command("INFO", "replication").contains("role:master");
    }

    /**
     * Acknowledged updates the survivor does not hold: for each session, how far its record there
     * ({@code v}) lags behind the last sequence number acknowledged as SAVED. Returns {updates, sessions}.
     */
    private static int[] lostAcknowledged(Map<Traffic.Tracked, Integer> acked, RedisProcess survivor, RedisSessionStore store) {
        int lostUpdates = 0;
        int lostSessions = 0;
        for (Map.Entry<Traffic.Tracked, Integer> e : acked.entrySet()) {
            int kept = Traffic.seqOf(survivor.hgetall(store.recordKey(e.getKey().base())));
            if (e.getValue() > kept) {
                lostUpdates += e.getValue() - kept;
                lostSessions++;
            }
        }
        return new int[] {lostUpdates, lostSessions};
    }

    @Test
    void sessionsKeepWorkingWhenSentinelPromotesTheReplica() throws Exception {
        startTopology();
        RedisSessionStore store = openUp(options().build());
        Traffic traffic = track(new Traffic(store, 20)).start(2);
        await("traffic flows", Duration.ofSeconds(10), () -> traffic.count(WriteOutcome.SAVED) >= 300);
        assertEquals(traffic.total(), traffic.count(WriteOutcome.SAVED), "everything is SAVED before the failover: " + traffic.outcomes());

        long killed = traffic.mark();
        master.kill();
        Thread.sleep(300); // every reply the dead master sent has been processed by now
        Map<Traffic.Tracked, Integer> acked = traffic.acked(false);
        // The replica's copy is frozen until Sentinel promotes it: exactly what the failover keeps.
        int[] lost = lostAcknowledged(acked, replica, store);

        await("Sentinel promotes the replica", FAILOVER, () -> masterPortBySentinels() == replica.port() && isMaster(replica));
        long promotedMillis = (System.nanoTime() - killed) / 1_000_000;
        traffic.awaitAllSavedSince("every session commits SAVED again", FAILOVER, killed, t -> true);
        long allBackMillis = (System.nanoTime() - killed) / 1_000_000;
        long afterMark = traffic.total();
        await("more traffic on the new master", Duration.ofSeconds(10), () -> traffic.total() >= afterMark + 100);
        traffic.stop();

        await("every session's latest state is on the new master", Duration.ofSeconds(10),
                () -> traffic.divergent(replica::hgetall).isEmpty());
        Map<WriteOutcome, Long> during = traffic.outcomesSinceMark();
        System.out.println("[SentinelIT] failover under traffic: " + traffic.total() + " commits, " + traffic.sessions.size()
                + " sessions; after kill -9 of the master: " + during + "; QUEUED (failed while switching)="
                + traffic.countSinceMark(WriteOutcome.QUEUED) + "; acknowledged-SAVED updates lost in the failover=" + lost[0]
                + " (in " + lost[1] + " sessions), all repaired; sentinel promoted the replica after " + promotedMillis
                + " ms; first SAVED after " + traffic.millisToFirstSavedAfterMark() + " ms; every session SAVED again after "
                + allBackMillis + " ms; redisErrors=" + store.stats().getRedisErrors() + "; commit errors=" + traffic.errors());

        assertTrue(traffic.errors().isEmpty(), "no commit may throw or hang: " + traffic.errors());
        // FAILED is a refusal (the request is answered 503, nothing acknowledged): a command that hit the
        // dying master or the switch. A conflict, a lost session or a dropped copy would be a bug.
        assertEquals(Set.of(), traffic.outcomes().keySet().stream()
                .filter(o -> o != WriteOutcome.SAVED && o != WriteOutcome.QUEUED && o != WriteOutcome.FAILED).collect(Collectors.toSet()),
                "only SAVED, QUEUED or an honest FAILED, never CONFLICT/GONE/DROPPED: " + traffic.outcomes());
        assertTrue(traffic.count(WriteOutcome.FAILED) <= 20, "few refusals, only while the master switches: " + traffic.outcomes());
        assertTrue(store.isRedisAvailable());
        assertEquals(0, store.pendingWrites(), "the queue is drained");
        for (Traffic.Tracked t : traffic.sessions) {
            assertEquals("node1", Stores.field(replica, store.recordKey(t.base()), "owner"));
        }
    }

    /**
     * The worst case of asynchronous replication, made deterministic: the replica stalls and loses
     * its link, a write is acknowledged by the master alone, the master dies. Sentinel promotes a
     * replica without that write. The session is idle throughout (most are, at any moment): nothing
     * but the store's own recovery can put its acknowledged state back.
     */
    @Test
    void anAcknowledgedWriteTheReplicaNeverGotIsRepairedAfterTheFailover() throws Exception {
        startTopology();
        RedisSessionStore store = openUp(options().build());
        TestSession live = new TestSession();
        live.attributes.put("user", "alice");
        live.attributes.put("role", "guest");
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        String key = store.recordKey(s.baseId());
        await("the replica has the record", Duration.ofSeconds(5), () -> "Sguest".equals(Stores.field(replica, key, "a:role")));

        replica.pause();
        try {
            assertEquals("1", master.command("CLIENT", "KILL", "TYPE", "replica"));
            assertEquals(WriteOutcome.SAVED, request(store, s, () -> live.set(s, "role", "admin")));
            assertEquals("Sadmin", Stores.field(master, key, "a:role"));
            master.kill();
        } finally {
            replica.resume();
        }
        assertEquals("Sguest", Stores.field(replica, key, "a:role"), "the replica never got the acknowledged write");

        await("Sentinel promotes the replica", FAILOVER, () -> masterPortBySentinels() == replica.port() && isMaster(replica));
        await("the store is connected to the new master", FAILOVER, store::isRedisAvailable);
        await("the session's acknowledged state is back in Redis, with no request on it", Duration.ofSeconds(10),
                () -> "Sadmin".equals(Stores.field(replica, key, "a:role")));
        assertEquals("Salice", Stores.field(replica, key, "a:user"));
        // And requests are ordinary deltas again (once Sentinel's CLIENT KILL on the promoted replica,
        // which can drop the store's first connection to it, is behind us).
        await("a request is SAVED again", Duration.ofSeconds(10),
                () -> request(store, s, () -> live.set(s, "user", "alice2")) == WriteOutcome.SAVED);
        assertEquals("Salice2", Stores.field(replica, key, "a:user"));
        assertEquals("Sadmin", Stores.field(replica, key, "a:role"));
        System.out.println("[SentinelIT] forced loss: 1 acknowledged write missing on the promoted replica; repaired by the"
                + " store's recovery without any request on the session");
    }

    /** The operator tool finds the master through Sentinel, as the nodes do; the store drops an invalidated copy. */
    @Test
    void theOperatorToolReadsAndInvalidatesThroughSentinel() {
        startTopology();
        RedisSessionStore store = openUp(options().keyPrefix("tether:").build());
        List<TrackedSession> sessions = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            TrackedSession s = store.create(Stores.newBase(), new TestSession());
            assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
            sessions.add(s);
        }
        CliRun summary = CliRun.of("summary", sentinelUri(), "--json");
        assertEquals(0, summary.exit(), summary.err());
        assertTrue(summary.out().contains("{\"owner\":\"node1\",\"sessions\":5,"), summary.out());

        TrackedSession gone = sessions.get(0);
        CliRun run = CliRun.of("invalidate", gone.baseId() + ".node1", sentinelUri());
        assertEquals(0, run.exit(), run.err());
        await("the store drops its copy", Duration.ofSeconds(3), () -> !store.isCurrent(gone));
        assertTrue(Stores.load(store, gone.baseId(), getClass().getClassLoader()) == null, "gone for good");
        assertTrue(CliRun.of("summary", sentinelUri(), "--json").out().contains("{\"owner\":\"node1\",\"sessions\":4,"));
        System.out.println("[SentinelIT] the operator tool counted 5 sessions through Sentinel and invalidated one");
    }

    @Test
    void waitReplicasMakesAcknowledgedWritesSurviveTheFailover() throws Exception {
        startTopology();
        RedisSessionStore store = openUp(options()
                .waitReplicas(1).waitTimeout(Duration.ofMillis(200)).build());
        try (LogCapture log = new LogCapture()) {
            Traffic traffic = track(new Traffic(store, 20)).start(2);
            await("traffic flows", Duration.ofSeconds(10), () -> traffic.count(WriteOutcome.SAVED) >= 300);
            long shortfallsWhileUp = store.stats().getReplicaShortfalls();
            long p50 = store.stats().writeLatencyMicros(0.5);
            long p99 = store.stats().writeLatencyMicros(0.99);
            assertEquals(0, shortfallsWhileUp, "the replica acknowledges every write while it is up");
            assertEquals(traffic.total(), traffic.count(WriteOutcome.SAVED));
            assertEquals(List.of(), log.warnings());

            long killed = traffic.mark();
            master.kill();
            Thread.sleep(300);
            Map<Traffic.Tracked, Integer> fully = traffic.acked(true);
            int[] lostFully = lostAcknowledged(fully, replica, store);
            int[] lostAny = lostAcknowledged(traffic.acked(false), replica, store);

            await("Sentinel promotes the replica", FAILOVER, () -> masterPortBySentinels() == replica.port() && isMaster(replica));
            traffic.awaitAllSavedSince("every session commits SAVED again", FAILOVER, killed, t -> true);
            traffic.stop();
            await("every session's latest state is on the new master", Duration.ofSeconds(10),
                    () -> traffic.divergent(replica::hgetall).isEmpty());
            System.out.println("[SentinelIT] waitReplicas=1: " + traffic.total() + " commits; replicaShortfalls while the replica was up="
                    + shortfallsWhileUp + "; write latency with WAIT p50<=" + p50 + " us p99<=" + p99 + " us; after kill -9: "
                    + traffic.outcomesSinceMark() + "; replica-acknowledged updates lost=" + lostFully[0]
                    + "; acknowledged updates lost in all (incl. writes whose WAIT failed with the master)=" + lostAny[0]
                    + "; shortfalls after the failover (the new master has no replica)=" + store.stats().getReplicaShortfalls()
                    + "; warnings=" + log.warnings().size());
            assertEquals(0, lostFully[0], "a write the replica acknowledged must survive the master's death");
            assertTrue(traffic.errors().isEmpty(), traffic.errors().toString());
            assertTrue(store.stats().getReplicaShortfalls() > 0, "without a replica, WAIT falls short and says so");
            long waitWarnings = log.warnings().stream().filter(m -> m.contains("waitReplicas")).count();
            assertTrue(waitWarnings <= 2, "shortfall warnings are logged once per kind: " + log.warnings());
            assertTrue(log.messages(Level.WARNING).size() < 10, "no warning per request: " + log.warnings());
        }
    }
}
