package dev.tether.store.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        assertEquals("tether:tomcat:localhost/shop:ownership", format.channel());
        assertEquals("tether:tomcat:localhost/shop:{*}", format.keyPattern());
    }

    @Test
    void saveArgumentsFollowTheScriptsHeader() {
        List<byte[]> sets = new ArrayList<>();
        sets.add(format.attributeField("cart"));
        sets.add(new byte[] {'J', 1});
        RecordFormat.meta(sets, 5, 6, null, null, null, null);
        byte[][] args = format.saveArgs(RecordFormat.bytes("node1"), 3, false, 0, sets, List.of(format.noteField("principal")));
        assertEquals(List.of("node1", "3", "d", "0", "3", "1", "a:cart"),
                List.of(text(args[0]), text(args[1]), text(args[2]), text(args[3]), text(args[4]), text(args[5]), text(args[6])));
        assertEquals("lastAccessed", text(args[8]));
        assertEquals("n:principal", text(args[args.length - 1]));
        assertEquals("f", text(format.saveArgs(RecordFormat.bytes("n"), 1, true, -1, List.of(), List.of())[2]));
    }

    @Test
    void aRecordIsReadBackWithAttributesStillEncoded() {
        List<Object> fields = new ArrayList<>();
        for (String[] kv : new String[][] {{"created", "100"}, {"lastAccessed", "200"}, {"maxInactive", "1800"}, {"lastSaved", "250"},
                {"owner", "node2"}, {"epoch", "7"}, {"a:user", "Salice"}, {"n:principal", "alice"}}) {
            fields.add(RecordFormat.bytes(kv[0]));
            fields.add(RecordFormat.bytes(kv[1]));
        }
        RecordFormat.StoredRecord r = RecordFormat.parseTakeOver(List.of(RecordFormat.bytes("node1"), fields), 999);
        assertEquals("node1", r.previousOwner());
        assertEquals(7, r.epoch());
        assertEquals(100, r.created());
        assertEquals(200, r.lastAccessed());
        assertEquals(1800, r.maxInactive());
        assertEquals(250, r.lastSaved());
        assertEquals("Salice", text(r.attributes().get("user")));
        assertEquals(Map.of("principal", "alice"), r.notes());
        assertNull(RecordFormat.parseTakeOver(null, 999), "no record");
    }

    @Test
    void announcementsAreReadBack() {
        RecordFormat.Announcement taken = RecordFormat.parseAnnouncement("ABCDEF0123 8 node2");
        assertFalse(taken.gone());
        assertEquals(8, taken.epoch());
        assertEquals("node2", taken.owner());
        RecordFormat.Announcement gone = RecordFormat.parseAnnouncement("ABCDEF0123 gone node1");
        assertTrue(gone.gone());
        assertNull(RecordFormat.parseAnnouncement("garbage"));
        assertNull(RecordFormat.parseAnnouncement("a b c".replace("b", "x")));
    }

    @Test
    void scriptsAreLoadedOnceAndKnownByTheirHash() {
        for (Script s : Script.values()) {
            assertEquals(40, s.sha().length());
            assertTrue(s.text().contains("redis.call"), s.name());
        }
    }
}
