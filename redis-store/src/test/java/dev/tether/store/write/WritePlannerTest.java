package dev.tether.store.write;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.SaveMode;
import dev.tether.store.SessionSnapshot;
import dev.tether.store.SessionStoreOptions;
import dev.tether.store.codec.AttributeCodec;
import dev.tether.store.record.RecordFormat;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The write planner on its own: snapshots and changes in, plans out; no Redis. */
class WritePlannerTest {

    private static final long MINUTE = 60_000;
    private static final byte[] OWNER = RecordFormat.bytes("node1");
    private final RecordFormat format = new RecordFormat("t:");

    private WritePlanner planner(SaveMode mode) {
        SessionStoreOptions options = SessionStoreOptions.builder("redis://127.0.0.1:1").maxAttributeBytes(200).build();
        return new WritePlanner(mode, MINUTE, new AttributeCodec(options), format, null);
    }

    private static SessionSnapshot snapshot(Map<String, Object> attributes, long accessed) {
        return new SessionSnapshot(attributes, 1_000, accessed, 1800, Map.of());
    }

    /** The fields a plan sets, by name, values as text. */
    private static Map<String, String> sets(WritePlan plan) {
        Map<String, String> out = new LinkedHashMap<>();
        List<byte[]> s = plan.sets();
        for (int i = 0; i + 1 < s.size(); i += 2) {
            out.put(new String(s.get(i), StandardCharsets.UTF_8), new String(s.get(i + 1), StandardCharsets.ISO_8859_1));
        }
        return out;
    }

    private static Set<String> dels(WritePlan plan) {
        Set<String> out = new java.util.TreeSet<>();
        plan.dels().forEach(b -> out.add(new String(b, StandardCharsets.UTF_8)));
        return out;
    }

    private static WritePlanner.Input delta(SessionSnapshot snap, Changes.Drained changes, Saved saved, long now) {
        return new WritePlanner.Input("BASE0001", snap, changes, saved, false, true, OWNER, now, false);
    }

    /** A session whose record holds {@code attributes} as this node wrote them at {@code now}. */
    private Saved written(WritePlanner planner, Map<String, Object> attributes, long now) {
        Saved saved = new Saved();
        WritePlan first = planner.plan(new WritePlanner.Input("BASE0001", snapshot(attributes, now), null, saved, true, false, OWNER, now, false));
        saved.apply(first);
        return saved;
    }

    @Test
    void aFullWriteCarriesEveryAttributeAndTheMetadataWithTheToken() {
        Map<String, Object> attrs = new HashMap<>(Map.of("user", "alice", "n", 7));
        WritePlan plan = planner(SaveMode.ON_GET_ATTRIBUTE).plan(
                new WritePlanner.Input("BASE0001", snapshot(attrs, 5_000), null, new Saved(), true, false, OWNER, 6_000, false));
        assertEquals(WritePlan.Kind.WRITE, plan.kind());
        assertTrue(plan.full());
        Map<String, String> sets = sets(plan);
        assertEquals("Salice", sets.get("a:user"));
        assertEquals("I7", sets.get("a:n"));
        assertEquals("1000", sets.get("created"));
        assertEquals("5000", sets.get("lastAccessed"));
        assertEquals("6000", sets.get("lastSaved"));
        assertEquals("1800", sets.get("maxInactive"));
        assertEquals("node1", sets.get("owner"));
        assertEquals(1800 + 4 * 60, plan.ttlSeconds(), "max-inactive plus four touch intervals");
        assertEquals(Set.of("user", "n"), plan.hashesSet().keySet());
    }

    @Test
    void nothingChangedMeansNothingToWriteAndNoPlan() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("user", "alice"));
        Saved saved = written(p, attrs, 10_000);
        SessionSnapshot same = snapshot(attrs, 10_000);
        assertTrue(p.nothingToWrite(new Changes(), saved, same, 20_000));
        assertTrue(p.plan(delta(same, Changes.Drained.NONE, saved, 20_000)).sendsNothing());
    }

    @Test
    void aSetAttributeIsWrittenAsADeltaWithoutTheToken() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("user", "alice", "n", 1));
        Saved saved = written(p, attrs, 10_000);
        attrs.put("n", 2);
        WritePlan plan = p.plan(delta(snapshot(attrs, 11_000), new Changes.Drained(List.of("n"), List.of(), List.of()), saved, 11_000));
        assertEquals(WritePlan.Kind.WRITE, plan.kind());
        assertFalse(plan.full());
        Map<String, String> sets = sets(plan);
        assertEquals(Set.of("a:n", "lastAccessed", "lastSaved"), sets.keySet(), "only what changed, no owner/created");
        assertEquals(0, plan.ttlSeconds(), "the TTL was set within the touch interval");
    }

    @Test
    void aMutableValueReadIsWrittenOnlyWhenItsBytesChanged() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        ArrayList<String> cart = new ArrayList<>(List.of("apple"));
        Map<String, Object> attrs = new HashMap<>(Map.of("cart", cart));
        Saved saved = written(p, attrs, 10_000);
        Changes.Drained readCart = new Changes.Drained(List.of(), List.of("cart"), List.of());
        assertTrue(p.plan(delta(snapshot(attrs, 10_000), readCart, saved, 10_500)).sendsNothing(), "read, unchanged");
        cart.add("pear");
        WritePlan plan = p.plan(delta(snapshot(attrs, 10_000), readCart, saved, 10_500));
        assertEquals(WritePlan.Kind.WRITE, plan.kind());
        assertTrue(sets(plan).containsKey("a:cart"), "changed in place, without setAttribute");
    }

    @Test
    void onSetAttributeIgnoresReads() {
        WritePlanner p = planner(SaveMode.ON_SET_ATTRIBUTE);
        ArrayList<String> cart = new ArrayList<>(List.of("apple"));
        Map<String, Object> attrs = new HashMap<>(Map.of("cart", cart));
        Saved saved = written(p, attrs, 10_000);
        cart.add("pear");
        assertTrue(p.plan(delta(snapshot(attrs, 10_000), new Changes.Drained(List.of(), List.of("cart"), List.of()), saved, 10_500))
                .sendsNothing());
    }

    @Test
    void alwaysRewritesEveryChangedAttribute() {
        WritePlanner p = planner(SaveMode.ALWAYS);
        ArrayList<String> cart = new ArrayList<>(List.of("apple"));
        Map<String, Object> attrs = new HashMap<>(Map.of("cart", cart, "user", "alice"));
        Saved saved = written(p, attrs, 10_000);
        SessionSnapshot snap = snapshot(attrs, 10_000);
        assertFalse(p.nothingToWrite(new Changes(), saved, snap, 10_500), "ALWAYS checks on every request");
        cart.add("pear");
        WritePlan plan = p.plan(delta(snap, Changes.Drained.NONE, saved, 10_500));
        assertEquals(Set.of("a:cart", "lastAccessed", "lastSaved"), sets(plan).keySet());
    }

    @Test
    void aRemovedAttributeIsDeleted() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("user", "alice", "tmp", "x"));
        Saved saved = written(p, attrs, 10_000);
        attrs.remove("tmp");
        WritePlan plan = p.plan(delta(snapshot(attrs, 10_000), new Changes.Drained(List.of(), List.of(), List.of("tmp")), saved, 10_500));
        assertEquals(Set.of("a:tmp"), dels(plan));
        assertEquals(Set.of("tmp"), plan.hashesRemoved());
    }

    @Test
    void aReadOnlyRequestTouchesAtMostOncePerIntervalWithoutWaiting() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("user", "alice"));
        Saved saved = written(p, attrs, 10_000);
        SessionSnapshot later = snapshot(attrs, 40_000);
        assertTrue(p.nothingToWrite(new Changes(), saved, later, 40_000), "within the touch interval");
        SessionSnapshot muchLater = snapshot(attrs, 80_000);
        assertFalse(p.nothingToWrite(new Changes(), saved, muchLater, 80_000));
        WritePlan touch = p.plan(delta(muchLater, Changes.Drained.NONE, saved, 80_000));
        assertEquals(WritePlan.Kind.TOUCH, touch.kind(), "nobody waits for a touch");
        assertEquals(Set.of("lastAccessed", "lastSaved"), sets(touch).keySet());
        assertEquals(1800 + 240, touch.ttlSeconds(), "the TTL moves with it");
    }

    @Test
    void notesAreWrittenWhenTheyChangeAndRemovedOnesDeleted() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>();
        Saved saved = written(p, attrs, 10_000);
        SessionSnapshot login = new SessionSnapshot(attrs, 1_000, 10_000, 1800, Map.of("principal", "alice", "roles", "shopper"));
        WritePlan in = p.plan(delta(login, Changes.Drained.NONE, saved, 10_100));
        assertEquals(WritePlan.Kind.WRITE, in.kind());
        assertEquals("alice", sets(in).get("n:principal"));
        saved.apply(in);
        SessionSnapshot logout = new SessionSnapshot(attrs, 1_000, 10_000, 1800, Map.of());
        WritePlan out = p.plan(delta(logout, Changes.Drained.NONE, saved, 10_200));
        assertEquals(Set.of("n:principal", "n:roles"), dels(out));
    }

    @Test
    void anUnwritableAttributeIsReportedAndItsOldValueDeleted() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("thing", "ok", "big", "small"));
        Saved saved = written(p, attrs, 10_000);
        attrs.put("thing", new Object());           // not serializable
        attrs.put("big", "x".repeat(500));          // over maxAttributeBytes=200
        WritePlan plan = p.plan(delta(snapshot(attrs, 10_000), new Changes.Drained(List.of("thing", "big"), List.of(), List.of()), saved, 10_500));
        assertEquals(Set.of("a:thing", "a:big"), dels(plan), "no older value survives in Redis");
        assertEquals(2, plan.problems().size());
        WritePlan.Problem big = plan.problems().stream().filter(WritePlan.Problem::tooLarge).findFirst().orElseThrow();
        assertEquals("big", big.name());
        assertTrue(big.size() > 200);
    }

    @Test
    void aMaxInactiveChangeIsWrittenWithTheNewTtl() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("user", "alice"));
        Saved saved = written(p, attrs, 10_000);
        SessionSnapshot longer = new SessionSnapshot(attrs, 1_000, 10_000, 7200, Map.of());
        WritePlan plan = p.plan(delta(longer, Changes.Drained.NONE, saved, 10_500));
        assertEquals(WritePlan.Kind.WRITE, plan.kind());
        assertEquals("7200", sets(plan).get("maxInactive"));
        assertEquals(7200 + 240, plan.ttlSeconds());
    }

    @Test
    void extrasRideAlongWithAWriteButNeverCauseOne() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("n", 1));
        Saved saved = written(p, attrs, 10_000);
        SessionSnapshot moved = new SessionSnapshot(attrs, 1_000, 10_000, 1800, Map.of(), Map.of("expiry", "99"));
        assertTrue(p.nothingToWrite(new Changes(), saved, moved, 10_500), "a new expiry alone is no reason to write");
        assertTrue(p.plan(delta(moved, Changes.Drained.NONE, saved, 10_500)).sendsNothing());
        attrs.put("n", 2);
        WritePlan plan = p.plan(delta(moved, new Changes.Drained(List.of("n"), List.of(), List.of()), saved, 10_500));
        assertEquals("99", sets(plan).get("x:expiry"), "but it goes with the next write");
    }

    @Test
    void theInputIsNotChanged() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("user", "alice", "n", 1));
        Saved saved = written(p, attrs, 10_000);
        Map<String, Long> before = saved.hashesCopy();
        attrs.put("n", 2);
        attrs.remove("user");
        p.plan(delta(snapshot(attrs, 99_000), new Changes.Drained(List.of("n"), List.of(), List.of("user")), saved, 99_000));
        assertEquals(before, saved.hashesCopy(), "a plan is applied by the store, never by the planner");
        assertEquals(10_000, saved.accessed());
    }

    @Test
    void aShortSessionIsTouchedAtLeastFourTimesPerMaxInactive() {
        WritePlanner p = planner(SaveMode.ON_GET_ATTRIBUTE);
        Map<String, Object> attrs = new HashMap<>(Map.of("user", "alice"));
        Saved saved = new Saved();
        SessionSnapshot twoMinutes = new SessionSnapshot(attrs, 1_000, 10_000, 120, Map.of());
        saved.apply(p.plan(new WritePlanner.Input("BASE0001", twoMinutes, null, saved, true, false, OWNER, 10_000, false)));
        SessionSnapshot later = new SessionSnapshot(attrs, 1_000, 45_000, 120, Map.of());
        assertFalse(p.nothingToWrite(new Changes(), saved, later, 45_000),
                "30 s is a quarter of 2 minutes: the record's access time may lag no more, whatever the 60 s setting says");
        assertEquals(120 + 4 * 30, p.ttlSeconds(120));
    }
}
