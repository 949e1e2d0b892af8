package dev.tether.store.record;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tether.testkit.RedisProcess;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code save.lua} against a real redis-server, argument by argument: a write sent twice is applied
 * once, and nothing else is taken for such a replay.
 */
class SaveScriptTest {

    private static final String RECORD = "t:{s1}";
    private static final String TOMBSTONE = "t:{s1}:gone";
    private static RedisProcess redis;
    private static String script;

    @BeforeAll
    static void start() throws IOException {
        redis = RedisProcess.start();
        try (InputStream in = SaveScriptTest.class.getResourceAsStream("/dev/tether/store/record/save.lua")) {
            script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @AfterAll
    static void stop() {
        redis.close();
    }

    /** One write: node, base, mode, then field/value pairs to set (the fields to delete after "--"). */
    private static String save(String node, long base, String mode, String... fieldsAndValues) {
        List<String> sets = new ArrayList<>();
        List<String> dels = new ArrayList<>();
        boolean deleting = false;
        for (String s : fieldsAndValues) {
            if (s.equals("--")) {
                deleting = true;
            } else {
                (deleting ? dels : sets).add(s);
            }
        }
        List<String> args = new ArrayList<>(List.of("EVAL", script, "2", RECORD, TOMBSTONE, node, Long.toString(base), mode, "0",
                Integer.toString(sets.size() / 2), Integer.toString(dels.size())));
        args.addAll(sets);
        args.addAll(dels);
        return text(redis.reply(args.toArray(String[]::new)));
    }

    private static String text(Object reply) {
        if (reply instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        if (reply instanceof List<?> l) {
            return l.stream().map(SaveScriptTest::text).toList().toString();
        }
        return String.valueOf(reply);
    }

    private static String ver() {
        return redis.command("HGET", RECORD, "ver");
    }

    @Test
    void aMergedWriteNeverMovesTheLastAccessBack() {
        redis.command("DEL", RECORD, TOMBSTONE);
        assertEquals("[OK, 1]", save("A", 0, "c", "ver", "1", "lastAccessed", "1000", "a:x", "1", "m:a:x", "1:A"));
        assertEquals("[OK, 2]", save("B", 1, "d", "ver", "2", "lastAccessed", "5000", "a:y", "1", "m:a:y", "2:B"));
        // A's change queued in an outage, replayed after B served the user: merged, with A's older access time.
        assertEquals("[OK, 3]", save("A", 1, "d", "ver", "2", "lastAccessed", "2000", "a:z", "1", "m:a:z", "2:A"));
        assertEquals("5000", redis.command("HGET", RECORD, "lastAccessed"), "the session was used at 5000: an expiry must not see it idle since 2000");
        assertEquals("1", redis.command("HGET", RECORD, "a:z"));
        assertEquals("[OK, 4]", save("A", 3, "d", "ver", "4", "lastAccessed", "6000"));
        assertEquals("6000", redis.command("HGET", RECORD, "lastAccessed"), "a later access still moves it on");
    }

    @Test
    void aWriteSentAgainIsAppliedOnceAndNothingElseIsTakenForOne() {
        redis.command("DEL", RECORD, TOMBSTONE);
        String[] create = {"ver", "1", "lastSaved", "100", "a:x", "1", "m:a:x", "1:A"};
        assertEquals("[OK, 1]", save("A", 0, "c", create));
        assertEquals("[OK, 1]", save("A", 0, "c", create), "the same create again: applied already");
        assertEquals("[CONFLICT, 1, ]", save("B", 0, "c", "ver", "1", "lastSaved", "100", "a:x", "1", "m:a:x", "1:B"),
                "another node's create of the same id");

        // B writes at the same millisecond as A's write that follows: a write without data fields
        // must not be taken for a replay of A's.
        assertEquals("[OK, 2]", save("B", 1, "d", "ver", "2", "lastSaved", "200", "a:y", "b", "m:a:y", "2:B"));
        assertEquals("[OK, 3]", save("A", 1, "d", "ver", "2", "lastSaved", "200", "maxInactive", "60"), "merged, not skipped");
        assertEquals("60", redis.command("HGET", RECORD, "maxInactive"));

        // A delta sent twice is one version; a delete too.
        assertEquals("[OK, 4]", save("A", 3, "d", "ver", "4", "lastSaved", "300", "a:z", "5", "m:a:z", "4:A", "m:a:x", "4:A", "--", "a:x"));
        assertEquals("[OK, 4]", save("A", 3, "d", "ver", "4", "lastSaved", "301", "a:z", "5", "m:a:z", "4:A", "m:a:x", "4:A", "--", "a:x"),
                "replayed from the queue, with a later save time");
        assertEquals("4", ver());

        // Another node wrote the same field at that version: a conflict, never a replay.
        assertEquals("[OK, 5]", save("B", 4, "d", "ver", "5", "lastSaved", "400", "a:z", "6", "m:a:z", "5:B"));
        assertEquals("[CONFLICT, 5, a:z]", save("A", 4, "d", "ver", "5", "lastSaved", "400", "a:z", "6", "m:a:z", "5:A"));
        assertEquals("5", ver());
    }

    /**
     * A create or full write names no deletions. Planned again (the outage queue) after the session
     * lost an attribute or its login, it must not pass for the first attempt: that would leave the
     * attribute, or the login, in Redis.
     */
    @Test
    void aCreatePlannedAgainWithLessIsNotTakenForTheFirstAttempt() {
        redis.command("DEL", RECORD, TOMBSTONE);
        assertEquals("[OK, 1]", save("A", 0, "c", "ver", "1", "lastSaved", "100", "user", "alice", "a:x", "1", "m:a:x", "1:A",
                "n:principal", "p", "m:n:principal", "1:A"));
        assertEquals("[CONFLICT, 1, ]", save("A", 0, "c", "ver", "1", "lastSaved", "120", "a:x", "1", "m:a:x", "1:A"),
                "logged out since: the login must not stay");
        assertEquals("alice", redis.command("HGET", RECORD, "user"));
        assertEquals("[CONFLICT, 1, ]", save("A", 0, "c", "ver", "1", "lastSaved", "130", "user", "alice", "n:principal", "p",
                "m:n:principal", "1:A"), "an attribute removed since must not stay");
    }

    /** Sent again after the application set another timeout (its data unchanged): the new timeout is written. */
    @Test
    void aWriteSentAgainWithAnotherTimeoutIsWritten() {
        redis.command("DEL", RECORD, TOMBSTONE);
        assertEquals("[OK, 1]", save("A", 0, "c", "ver", "1", "lastSaved", "100", "maxInactive", "60", "a:x", "1", "m:a:x", "1:A"));
        assertEquals("[OK, 2]", save("A", 1, "d", "ver", "2", "lastSaved", "200", "maxInactive", "60", "a:q", "1", "m:a:q", "2:A"));
        assertEquals("[OK, 3]", save("A", 1, "d", "ver", "2", "lastSaved", "210", "maxInactive", "90", "a:q", "1", "m:a:q", "2:A"),
                "written (merged), not skipped");
        assertEquals("90", redis.command("HGET", RECORD, "maxInactive"));
    }
}
