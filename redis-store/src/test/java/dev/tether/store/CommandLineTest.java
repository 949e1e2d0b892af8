package dev.tether.store;

import static dev.tether.store.Stores.exists;
import static dev.tether.store.Stores.request;
import static dev.tether.testkit.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.record.RecordFormat;
import dev.tether.testkit.Ports;
import dev.tether.testkit.RedisProcess;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator tool against one real Redis, on records that real stores wrote: two applications
 * (default-style prefixes), two sticky nodes and a shared-mode one. It runs in this JVM through
 * {@code CommandLine.run}, as {@code java -jar} runs it.
 */
class CommandLineTest {

    private static final String SHOP = "tether:tomcat:localhost/shop:";
    private static final String CART = "tether:jetty:0.0.0.0/cart:";

    private static RedisProcess redis;
    private final List<RedisSessionStore> stores = new ArrayList<>();
    private RedisSessionStore node1;
    private RedisSessionStore node2;
    private RedisSessionStore shared;

    /** Its readObject would run if anything deserialized it. */
    static final class Tripwire implements Serializable {
        private static final long serialVersionUID = 1L;
        static volatile boolean deserialized;

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            deserialized = true;
            in.defaultReadObject();
        }
    }

    @BeforeAll
    static void startRedis() {
        redis = RedisProcess.start();
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @BeforeEach
    void open() {
        redis.command("FLUSHALL");
        node1 = open(Stores.options(redis).keyPrefix(SHOP).build(), "node1");
        node2 = open(Stores.options(redis).keyPrefix(SHOP).build(), "node2");
        shared = open(Stores.options(redis).keyPrefix(CART).shared(true).build(), "node3");
    }

    private RedisSessionStore open(SessionStoreOptions options, String route) {
        RedisSessionStore s = Stores.openUp(options, route);
        stores.add(s);
        return s;
    }

    @AfterEach
    void close() {
        stores.forEach(RedisSessionStore::close);
        stores.clear();
    }

    private String uri() {
        return redis.uri();
    }

    /** A session created and committed on {@code store}, {@code ageSeconds} old. */
    private TrackedSession session(RedisSessionStore store, long ageSeconds, Map<String, Object> attributes) {
        TestSession live = new TestSession(System.currentTimeMillis() - ageSeconds * 1000, 1800);
        live.attributes.putAll(attributes);
        TrackedSession s = store.create(Stores.newBase(), live);
        assertEquals(WriteOutcome.SAVED, request(store, s, () -> { }));
        return s;
    }

    private TrackedSession session(RedisSessionStore store) {
        return session(store, 30, Map.of("n", 1));
    }

    @Test
    void summaryCountsPerApplicationAndOwnerWithSizesAgesAndTtls() {
        for (int i = 0; i < 3; i++) {
            session(node1, 30, Map.of("cart", new ArrayList<>(List.of(1, 2, 3)), "name", "x".repeat(100)));
        }
        session(node2, 600, Map.of("n", 7));
        session(shared, 7200, Map.of("n", 7));
        redis.command("SET", "tether:unrelated", "v"); // not a record, never counted
        redis.command("ZADD", "tether:tomcat:localhost/shop:user:{0123456789abcdef0123456789abcdef}", "1", "ABCDEFGH12");

        CliRun text = CliRun.of("summary", uri());
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().startsWith("5 sessions in " + uri() + " under 'tether:', 2 application(s)"), text.out());
        assertTrue(text.out().contains(SHOP + "  4 sessions"), text.out());
        assertTrue(text.out().contains(CART + "  1 session\n"), text.out());
        assertTrue(text.out().lines().anyMatch(l -> l.trim().startsWith("(shared)")), "shared mode has no owner");
        assertTrue(text.out().lines().anyMatch(l -> l.trim().startsWith("node1  ") && l.contains(" 3 ")), text.out());
        assertTrue(text.out().contains("MEMORY USAGE"), "says how bytes are measured");

        CliRun json = CliRun.of("summary", uri(), "--json");
        assertEquals(0, json.exit());
        String j = json.out();
        assertTrue(j.startsWith("{\"command\":\"summary\"") && j.endsWith("}\n") && !j.contains("\r"), j);
        assertTrue(j.contains("\"sessions\":5,"), j);
        assertTrue(j.contains("{\"owner\":\"node1\",\"sessions\":3,"), j);
        assertTrue(j.contains("{\"owner\":\"node2\",\"sessions\":1,"), j);
        assertTrue(j.contains("{\"owner\":\"(shared)\",\"sessions\":1,"), j);
        assertTrue(j.contains("\"histogram\":{\"<1m\":3,\"1-5m\":0,\"5-15m\":1,"), "three 30 s old, one 10 min old: " + j);
        assertTrue(j.contains("\"1-4h\":1"), j);
        assertTrue(j.matches("(?s).*\"ttlSeconds\":\\{\"min\":(19\\d\\d|20\\d\\d),.*"), "TTL = max-inactive + 4 touch intervals: " + j);

        CliRun narrowed = CliRun.of("summary", uri(), "--prefix", CART, "--json");
        assertTrue(narrowed.out().contains("\"sessions\":1,") && !narrowed.out().contains(SHOP), narrowed.out());
    }

    @Test
    void listShowsRedactedIdsOwnersTimesSizesAndUsers() {
        TrackedSession a = session(node1);
        TrackedSession b = session(shared);
        redis.command("HSET", node1.recordKey(a.baseId()), RecordFormat.USER, "alice");

        CliRun run = CliRun.of("list", uri());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains(SessionId.redact(a.baseId())) && run.out().contains(SessionId.redact(b.baseId())), run.out());
        assertFalse(run.mentions(a.baseId()) || run.mentions(b.baseId()), "never a full id");
        assertTrue(run.out().lines().anyMatch(l -> l.contains("node1") && l.contains("alice") && l.contains(SHOP)), run.out());
        assertTrue(run.out().lines().anyMatch(l -> l.contains("(shared)") && l.contains(CART)), run.out());

        CliRun one = CliRun.of("list", uri(), "--limit", "1", "--json");
        assertEquals(1, one.out().split("\"id\":", -1).length - 1, one.out());
        assertTrue(one.out().contains("\"limit\":1"), one.out());
    }

    @Test
    void showNamesClassesAndSizesWithoutDeserializingAnything() throws Exception {
        Tripwire.deserialized = false;
        TrackedSession s = session(node1, 30, Map.of("greeting", "hello", "count", 3, "big", 5_000_000_000L, "flag", true,
                "cart", new ArrayList<>(List.of("apple")), "matrix", new int[][] {{1}}, "trap", new Tripwire()));
        String key = node1.recordKey(s.baseId());
        // A class that exists nowhere: its name is still read from the stream header.
        redis.reply(RecordFormat.bytes("HSET"), RecordFormat.bytes(key), RecordFormat.bytes("a:ghost"), ghostBytes());
        redis.command("HSET", key, "n:principal", "secret-principal-value", RecordFormat.USER, "alice");

        CliRun run = CliRun.of("show", s.baseId() + ".node1", uri());
        assertEquals(0, run.exit(), run.err());
        String out = run.out();
        for (String expected : new String[] {"greeting  java.lang.String", "count  java.lang.Integer", "big  java.lang.Long",
                "flag  java.lang.Boolean", "cart  java.util.ArrayList", "matrix  int[][]",
                "trap  dev.tether.store.CommandLineTest$Tripwire", "ghost  com.example.gone.CheckoutState"}) {
            assertTrue(out.lines().anyMatch(l -> l.replaceAll(" +", "  ").contains(expected)), expected + " in\n" + out);
        }
        assertTrue(out.contains("notes: principal"), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("owner") && l.contains("node1")), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("user") && l.contains("alice")), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("max inactive") && l.contains("1800 s")), out);
        assertTrue(out.lines().anyMatch(l -> l.trim().startsWith("greeting") && l.contains("v1 by node1/")), "stamp: " + out);
        assertFalse(out.contains("hello") || out.contains("apple") || out.contains("secret-principal-value"), "never a value");
        assertFalse(run.mentions(s.baseId()));
        assertFalse(Tripwire.deserialized, "nothing was deserialized");

        CliRun json = CliRun.of("show", s.baseId(), uri(), "--json");
        assertTrue(json.out().contains("{\"name\":\"ghost\",\"class\":\"com.example.gone.CheckoutState\",\"bytes\":"), json.out());
        assertTrue(json.out().contains("\"notes\":[\"principal\"]"), json.out());

        CliRun missing = CliRun.of("show", Stores.newBase(), uri());
        assertEquals(1, missing.exit());
        assertTrue(missing.out().startsWith("no session "), missing.out());
    }

    /** A whole Java serialization stream of an object of class com.example.gone.CheckoutState, no fields. */
    private static byte[] ghostBytes() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeByte('J');
        out.writeShort(0xACED);
        out.writeShort(5);
        out.writeByte(0x73); // TC_OBJECT
        out.writeByte(0x72); // TC_CLASSDESC
        out.writeUTF("com.example.gone.CheckoutState");
        out.writeLong(42L); // serialVersionUID
        out.writeByte(0x02); // SC_SERIALIZABLE
        out.writeShort(0); // no fields
        out.writeByte(0x78); // TC_ENDBLOCKDATA
        out.writeByte(0x70); // no superclass
        return bytes.toByteArray();
    }

    @Test
    void invalidateDeletesEverywhereAndTheNodeHoldingItDropsItsCopy() {
        TrackedSession s = session(node1);
        String key = node1.recordKey(s.baseId());
        assertTrue(node1.isCurrent(s));

        CliRun run = CliRun.of("invalidate", s.baseId() + ".node1", uri());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("invalidated " + SessionId.redact(s.baseId()) + " in " + SHOP), run.out());
        assertFalse(run.mentions(s.baseId()));

        await("Redis tells the node holding it", Duration.ofSeconds(3), () -> !node1.isCurrent(s));
        assertEquals(RedisSessionStore.Refresh.GONE, reload(node1, s), "its next request finds it gone");
        assertNull(Stores.load(node2, s.baseId(), getClass().getClassLoader()), "no node can load it");
        assertFalse(exists(redis, key));
        assertTrue(Stores.ttl(redis, key + ":gone") > 86_000, "the tombstone outlives every copy (a day, as a node's)");
        TestSession late = new TestSession();
        assertEquals(WriteOutcome.GONE, Stores.outcome(node2.commit(node2.create(s.baseId(), late))), "a late write cannot bring it back");

        CliRun again = CliRun.of("invalidate", s.baseId(), uri(), "--json");
        assertEquals(1, again.exit());
        assertTrue(again.out().contains("\"found\":false"), again.out());
    }

    private RedisSessionStore.Refresh reload(RedisSessionStore store, TrackedSession s) {
        try {
            return store.reload(s, getClass().getClassLoader(), new SessionRecord[1]);
        } catch (RedisSessionStore.UnavailableException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void invalidateUserDeletesTheIndexedSessionsOfThatUserOnly() {
        TrackedSession a1 = session(node1);
        TrackedSession a2 = session(node2);
        TrackedSession a3 = session(shared);
        TrackedSession bob = session(node1);
        index(node1, a1, "alice");
        index(node1, a2, "alice");
        index(shared, a3, "alice");
        index(node1, bob, "bob");
        // Stale members: bob's session listed under alice, and a session long gone.
        redis.command("ZADD", text(new RecordFormat(SHOP).userKey("alice")), "1", bob.baseId(), "2", Stores.newBase());

        // A dry run names the three and changes nothing, stale index entries included.
        CliRun dry = CliRun.of("invalidate", "--user", "alice", uri(), "--dry-run");
        assertEquals(0, dry.exit(), dry.err());
        assertTrue(dry.out().contains("dry run: 3 session(s) of 'alice' would be invalidated; nothing was changed"), dry.out());
        assertEquals(3, dry.out().lines().filter(l -> l.startsWith("would invalidate ")).count(), dry.out());
        for (TrackedSession s : List.of(a1, a2, a3)) {
            assertTrue(exists(redis, node1.recordKey(s.baseId())) || exists(redis, shared.recordKey(s.baseId())));
        }
        assertEquals("4", redis.command("ZCARD", text(new RecordFormat(SHOP).userKey("alice"))));
        CliRun dryOne = CliRun.of("invalidate", a1.baseId(), uri(), "--dry-run", "--json");
        assertTrue(dryOne.out().contains("\"dryRun\":true"), dryOne.out());
        assertTrue(exists(redis, node1.recordKey(a1.baseId())));
        assertOneLine(CliRun.of("list", uri(), "--dry-run"), 2, "--dry-run goes with invalidate");

        CliRun run = CliRun.of("invalidate", "--user", "alice", uri());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("3 session(s) of 'alice' invalidated"), run.out());
        assertTrue(run.out().contains("2 stale index entries removed"), run.out());
        for (TrackedSession s : List.of(a1, a2, a3)) {
            assertFalse(exists(redis, node1.recordKey(s.baseId())) || exists(redis, shared.recordKey(s.baseId())));
        }
        assertTrue(exists(redis, node1.recordKey(bob.baseId())), "bob's session stays");
        await("node1 drops its copy", Duration.ofSeconds(3), () -> !node1.isCurrent(a1));
        assertEquals("0", redis.command("EXISTS", text(new RecordFormat(SHOP).userKey("alice"))));

        CliRun none = CliRun.of("invalidate", uri(), "--user", "carol", "--json");
        assertEquals(1, none.exit());
        assertTrue(none.out().contains("\"invalidated\":[]"), none.out());
        CliRun noneText = CliRun.of("invalidate", uri(), "--user", "carol");
        assertTrue(noneText.out().startsWith("no sessions indexed for user 'carol'"), noneText.out());
    }

    /** What the core does at login: the plain-text user field and the index entry scored by expiry. */
    private void index(RedisSessionStore store, TrackedSession s, String user) {
        redis.command("HSET", store.recordKey(s.baseId()), RecordFormat.USER, user);
        redis.command("ZADD", text(new RecordFormat(store.options().keyPrefix()).userKey(user)),
                Long.toString(System.currentTimeMillis() + 1_800_000), s.baseId());
    }

    private static String text(byte[] b) {
        return RecordFormat.string(b);
    }

    @Test
    void jsonStdoutStaysCleanWhileTheProgressLineGoesToStderr() {
        session(node1);
        CliRun run = CliRun.of("summary", uri(), "--json", "--progress");
        assertEquals(0, run.exit());
        assertFalse(run.out().contains("\r") || run.out().contains("scanning"), run.out());
        assertTrue(run.err().contains("\rscanning"), "progress line: " + run.err());
        CliRun quiet = CliRun.of("summary", uri(), "--json");
        assertEquals("", quiet.err(), "not a terminal, not asked: no progress line");
    }

    @Test
    void theRateCapPacesASearchThroughKeysThatAreNoSessionsToo() {
        // 3,000 keys of other applications of this Redis; the id asked for is in none of them.
        redis.command("EVAL", "for i = 1, 3000 do redis.call('SET', 'other:' .. i, 'x') end return 1", "0");
        try {
            long started = System.nanoTime();
            CliRun run = CliRun.of("show", "0123456789ABCDEF0123456789ABCDEF", uri(), "--rate", "1000");
            long millis = (System.nanoTime() - started) / 1_000_000;
            assertEquals(1, run.exit(), run.err());
            assertTrue(millis >= 2000, "3,000 keys examined at 1,000 a second took " + millis + " ms: the cap counted only matches");
        } finally {
            redis.command("EVAL", "for i = 1, 3000 do redis.call('DEL', 'other:' .. i) end return 1", "0");
        }
    }

    @Test
    void errorsAreOneLineWithAnExitCode() {
        CliRun help = CliRun.of("--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("invalidate --user <name>"));

        assertOneLine(CliRun.of("summary"), 2, "summary needs a Redis URI");
        assertOneLine(CliRun.of("frobnicate", uri()), 2, "unknown command 'frobnicate'");
        assertOneLine(CliRun.of("summary", uri(), "--rate", "fast"), 2, "--rate takes a number");
        assertOneLine(CliRun.of("summary", "http://127.0.0.1:1"), 2, "not a usable Redis URI");
        assertOneLine(CliRun.of("show", "../../etc/passwd", uri()), 2, "not a session id");
        assertOneLine(CliRun.of("summary", "redis://127.0.0.1:" + Ports.free(), "--timeout", "1000"), 3, "cannot reach Redis at redis://127.0.0.1:");

        redis.command("ACL", "SETUSER", "reader", "on", ">secret-pw", "~*", "+@all", "-scan");
        CliRun noperm = CliRun.of("summary", "redis://reader:secret-pw@127.0.0.1:" + redis.port());
        assertOneLine(noperm, 3, "NOPERM");
        assertFalse(noperm.err().contains("secret-pw"), "never the password");
        CliRun wrongPassword = CliRun.of("list", "redis://reader:wrong@127.0.0.1:" + redis.port());
        assertOneLine(wrongPassword, 3, "refused: WRONGPASS");

        CliRun verbose = CliRun.of("summary", "redis://reader:secret-pw@127.0.0.1:" + redis.port(), "--verbose");
        assertTrue(verbose.err().contains("\tat "), "--verbose adds the stack trace");
    }

    private static void assertOneLine(CliRun run, int exit, String says) {
        assertEquals(exit, run.exit(), run.err());
        assertEquals("", run.out());
        assertEquals(1, run.err().lines().count(), run.err());
        assertTrue(run.err().startsWith("tether: ") && run.err().contains(says), run.err());
    }
}
