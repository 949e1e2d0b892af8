package dev.tether.store.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The record format on its own: keys, arguments, parsing and announcements. */
class RecordFormatTest {

    private final RecordFormat format = new RecordFormat("tether:tomcat:localhost/shop:");

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void keysCarryTheHashTagAroundTheBaseId() {
        assertEquals("tether:tomcat:localhost/shop:{ABCDEF0123}", format.key("ABCDEF0123"));
        assertEquals("tether:tomcat:localhost/shop:{ABCDEF0123}", text(format.recordKey("ABCDEF0123")));
        byte[][] both = format.recordAndTombstone("ABCDEF0123");
        assertEquals("tether:tomcat:localhost/shop:{ABCDEF0123}:gone", text(both[1]));
        assertEquals("ABCDEF0123", format.baseOfKey("tether:tomcat:localhost/shop:{ABCDEF0123}"));
        assertEquals(null, format.baseOfKey("tether:tomcat:localhost/shop:{ABCDEF0123}:gone"), "a tombstone is no record");
        assertEquals(null, format.baseOfKey("tether:tomcat:localhost/other:{ABCDEF0123}"));
        assertEquals("tether:tomcat:localhost/shop:{*}", format.keyPattern());
        assertEquals("tether:tomcat:localhost/shop:expiry:{7}", text(format.expiryKey(7)));
    }

    @Test
    void operatorPatternsCoverEveryApplicationBelowAPrefix() {
        RecordFormat tether = new RecordFormat("tether:");
        assertEquals("tether:*{*}", tether.applicationsKeyPattern());
        assertEquals("tether:*{ABCDEF0123}", tether.applicationsKeyPattern("ABCDEF0123"));
        String digest = RecordFormat.userDigest("alice");
        assertEquals("tether:*user:{" + digest + "}", tether.applicationsUserKeyPattern("alice"));
        assertEquals("a\\*b\\?\\[c\\]\\\\:*{*}", new RecordFormat("a*b?[c]\\:").applicationsKeyPattern(), "glob characters match literally");

        assertEquals("tether:tomcat:localhost/shop:", RecordFormat.prefixOfKey(format.key("ABCDEF0123")));
        assertNull(RecordFormat.prefixOfKey(text(format.recordAndTombstone("ABCDEF0123")[1])), "a tombstone is no record");
        assertEquals("tether:tomcat:localhost/shop:", RecordFormat.prefixOfUserKey(text(format.userKey("alice"))));
        assertNull(RecordFormat.prefixOfUserKey(format.key("ABCDEF0123")));
    }

    @Test
    void saveArgumentsFollowTheScriptsHeader() {
        List<byte[]> sets = new ArrayList<>();
        sets.add(format.attributeField("cart"));
        sets.add(new byte[] {'J', 1});
        RecordFormat.meta(sets, 5, 6, null, null, null);
        byte[][] args = format.saveArgs(RecordFormat.bytes("node1"), 3, RecordFormat.WriteMode.DELTA, 0, sets,
                List.of(format.noteField("principal")));
        List<String> all = new ArrayList<>();
        for (byte[] a : args) {
            all.add(text(a));
        }
        // Ready for a write on version 3: the record becomes 4, each data field written or removed is
        // stamped with 4 and the writer.
        assertEquals(List.of("node1", "3", "d", "0", "6", "1",
                "ver", "4", "a:cart", text(new byte[] {'J', 1}), "m:a:cart", "4:node1", "lastAccessed", "5", "lastSaved", "6",
                "m:n:principal", "4:node1", "n:principal"), all);
        assertEquals("f", text(format.saveArgs(RecordFormat.bytes("n"), 1, RecordFormat.WriteMode.FULL, -1, List.of(), List.of())[2]));
        assertEquals("c", text(format.saveArgs(RecordFormat.bytes("n"), 0, RecordFormat.WriteMode.CREATE, -1, List.of(), List.of())[2]));
    }

    @Test
    void aRecordIsReadBackWithAttributesStillEncoded() {
        List<Object> fields = new ArrayList<>();
        for (String[] kv : new String[][] {{"created", "100"}, {"lastAccessed", "200"}, {"maxInactive", "1800"}, {"lastSaved", "250"},
                {"owner", "node2"}, {"ver", "7"}, {"a:user", "Salice"}, {"m:a:user", "7:node2/x"}, {"n:principal", "alice"},
                {"x:expiry", "9"}}) {
            fields.add(RecordFormat.bytes(kv[0]));
            fields.add(RecordFormat.bytes(kv[1]));
        }
        RecordFormat.StoredRecord r = RecordFormat.parseLoad(List.of(RecordFormat.bytes("node1"), fields), 999);
        assertEquals("node1", r.previousOwner());
        assertEquals(7, r.version());
        assertEquals(100, r.created());
        assertEquals(200, r.lastAccessed());
        assertEquals(1800, r.maxInactive());
        assertEquals(250, r.lastSaved());
        assertEquals("Salice", text(r.attributes().get("user")));
        assertEquals(Map.of("principal", "alice"), r.notes());
        assertEquals(Map.of("expiry", "9"), r.extras());
        assertEquals(1, r.attributes().size(), "stamps are no attributes");
        assertNull(RecordFormat.parseLoad(null, 999), "no record");
    }

    @Test
    void repliesAreReadBack() {
        RecordFormat.Reply ok = RecordFormat.Reply.of(List.of(RecordFormat.bytes("OK"), 8L));
        assertEquals(RecordFormat.Reply.Kind.OK, ok.kind());
        assertEquals(8, ok.version());
        RecordFormat.Reply conflict = RecordFormat.Reply.of(List.of(RecordFormat.bytes("CONFLICT"), 9L, RecordFormat.bytes("a:cart")));
        assertEquals(RecordFormat.Reply.Kind.CONFLICT, conflict.kind());
        assertEquals("a:cart", conflict.field());
        assertEquals(RecordFormat.Reply.Kind.OK, RecordFormat.Reply.of(RecordFormat.bytes("OK")).kind());
    }

    @Test
    void scriptsAreLoadedOnceAndKnownByTheirHash() {
        for (Script s : Script.values()) {
            assertEquals(40, s.sha().length());
            assertTrue(s.text().contains("redis.call"), s.name());
        }
    }
}
