package dev.tether.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SessionIdTest {

    private static String repeat(char c, int n) {
        char[] a = new char[n];
        Arrays.fill(a, c);
        return new String(a);
    }

    @Test
    void tomcatIdWithRoute() {
        SessionId id = SessionId.parse("0123456789ABCDEF0123456789ABCDEF.node1");
        assertNotNull(id);
        assertEquals("0123456789ABCDEF0123456789ABCDEF", id.base());
        assertEquals("node1", id.route());
        assertEquals("0123456789ABCDEF0123456789ABCDEF.node2", id.withRoute("node2"));
        assertEquals("0123456789ABCDEF0123456789ABCDEF", id.withRoute(null));
        assertEquals("0123456789ABCDEF0123456789ABCDEF", id.withRoute(""));
    }

    @Test
    void jettyLikeIdWithRoute() {
        SessionId id = SessionId.parse("node0abc123xyz.node2");
        assertNotNull(id);
        assertEquals("node0abc123xyz", id.base());
        assertEquals("node2", id.route());
    }

    @Test
    void idWithoutRoute() {
        SessionId id = SessionId.parse("0123456789abcdef0123456789abcdef");
        assertNotNull(id);
        assertEquals("0123456789abcdef0123456789abcdef", id.base());
        assertNull(id.route());
        assertEquals(id, SessionId.parse("0123456789abcdef0123456789abcdef"));
        assertFalse(id.equals(SessionId.parse("0123456789abcdef0123456789abcdef.n1")));
    }

    @Test
    void lengthLimitsAreInclusive() {
        assertNotNull(SessionId.parse(repeat('a', SessionId.MIN_BASE_LENGTH)));
        assertNotNull(SessionId.parse(repeat('a', SessionId.MAX_BASE_LENGTH)));
        assertNotNull(SessionId.parse(repeat('a', SessionId.MAX_BASE_LENGTH) + "." + repeat('r', SessionId.MAX_ROUTE_LENGTH)));
        assertNotNull(SessionId.parse(repeat('a', SessionId.MIN_BASE_LENGTH) + ".r"));
        assertNotNull(SessionId.parse("Ab_-0123.n_-1"));
    }

    /** Containers may name short ids (Jetty's store suite uses "a", "001", "aaa21"): accepted, only the characters are checked. */
    @Test
    void shortIdsAreAccepted() {
        assertEquals("a", SessionId.parse("a").base());
        assertEquals("001", SessionId.parse("001").base());
        assertEquals("aaa21", SessionId.parse("aaa21").base());
        SessionId routed = SessionId.parse("a.node1");
        assertEquals("a", routed.base());
        assertEquals("node1", routed.route());
        assertNull(SessionId.parse("{a}"));
        assertNull(SessionId.parse("a:"));
        assertNull(SessionId.parse(".a"));
    }

    static Stream<String> invalid() {
        String base = "0123456789ABCDEF0123456789ABCDEF";
        return Stream.of(
                "",
                ".node1",                                                // empty base
                repeat('a', SessionId.MAX_BASE_LENGTH + 1),
                repeat('a', SessionId.MAX_BASE_LENGTH + 1) + ".node1",
                base + "." + repeat('r', SessionId.MAX_ROUTE_LENGTH + 1),
                repeat('a', 100_000),
                base + ".node1.node2",
                base + "..node1",
                "abc.",
                base + ".",
                ".node1" + base,
                "." + base,
                "../" + base,
                base + "/../x",
                base + "\u0000",
                base.substring(0, 16) + "\u0000" + base.substring(16),
                base + "\n",
                base + "\r\nSet-Cookie: x",
                base + "\t",
                base + "\u007f",
                base + "é",
                base + "\uFF10",            // fullwidth digit zero
                base + "\uD83D\uDE00",      // emoji (surrogate pair)
                " " + base,
                base + " ",
                base.substring(0, 16) + " " + base.substring(16),
                base + ":x",
                base + "*",
                "{" + base + "}",
                base + ";node1",
                base + "%2e",
                base + ".no de");
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void malformedIdsAreRefused(String raw) {
        assertNull(SessionId.parse(raw), () -> "accepted " + SessionId.redact(raw));
    }

    @Test
    void nullIsRefused() {
        assertNull(SessionId.parse(null));
    }

    @Test
    void routes() {
        assertTrue(SessionId.isValidRoute("node1"));
        assertTrue(SessionId.isValidRoute("a"));
        assertTrue(SessionId.isValidRoute("worker_1-b"));
        assertTrue(SessionId.isValidRoute(repeat('r', SessionId.MAX_ROUTE_LENGTH)));
        assertFalse(SessionId.isValidRoute(null));
        assertFalse(SessionId.isValidRoute(""));
        assertFalse(SessionId.isValidRoute(repeat('r', SessionId.MAX_ROUTE_LENGTH + 1)));
        assertFalse(SessionId.isValidRoute("node.1"));
        assertFalse(SessionId.isValidRoute("node 1"));
        assertFalse(SessionId.isValidRoute("node1\u0000"));
        assertFalse(SessionId.isValidRoute("nöde"));
        assertFalse(SessionId.isValidRoute("../x"));
    }

    @Test
    void redactNeverRevealsTheId() {
        for (String id : new String[] {"0123456789ABCDEF0123456789ABCDEF.node1", "0123456789ABCDEF0123456789ABCDEF",
                "node0abc123xyz.node2", "abcdefgh", "Q", "QZ", "QZ7", repeat('x', 300)}) {
            String r = SessionId.redact(id);
            assertFalse(r.contains(id), () -> "redact revealed " + id + ": " + r);
            int kept = r.indexOf('…');
            assertTrue(kept >= 0 && kept <= 6, r);
            assertTrue(r.endsWith("(" + id.length() + " chars)"), r);
        }
        assertEquals("null", SessionId.redact(null));
        SessionId id = SessionId.parse("0123456789ABCDEF0123456789ABCDEF.node1");
        assertFalse(id.toString().contains(id.base()), id.toString());
        assertFalse(id.toString().contains("89ABCDEF0123"), id.toString());
    }
}
