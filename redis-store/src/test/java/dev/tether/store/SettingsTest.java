package dev.tether.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** Settings refused as an administrator writes them: the reason, never a secret. */
class SettingsTest {

    private static String refusal(String name, String value) {
        Settings s = new Settings();
        s.set(name, value);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.toOptions("tether:"), value);
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace)); // what a container logs: the message and every cause
        return trace.toString();
    }

    @Test
    void aMistypedRedisUriNeverShowsItsPassword() {
        for (String uri : new String[] {"rediss//:s3cret-pw@h:6379", "redis://:p%zzs3cret-pw@h:6379", "redis://u:s3cret-pw@h:99999",
                "redis-cluster://:s3cret-pw@h:1,h:99999"}) {
            String logged = refusal("redisUri", uri);
            assertFalse(logged.contains("s3cret-pw"), () -> "the password is in what a container logs: " + logged);
            assertTrue(logged.contains("redisUri"), logged);
        }
    }

    @Test
    void aRefusedSigningKeyIsNeverShown() {
        String logged = refusal("signingKeys", "a-long-enough-key-000,shortkey");
        assertFalse(logged.contains("shortkey") || logged.contains("a-long-enough-key-000"), logged);
        assertTrue(logged.contains("at least 16 characters"), logged);
    }

    @Test
    void anOrdinarySettingIsQuotedWithItsReason() {
        String logged = refusal("maxDepth", "zero");
        assertTrue(logged.contains("maxDepth=zero: not a whole number"), logged);
    }

    @Test
    void aNumberBeyondItsRangeIsRefusedNotCut() {
        assertTrue(refusal("maxAttributeBytes", "5368709120").contains("must be at most 2147483647"));
        assertTrue(refusal("waitTimeoutMillis", "0").contains("waitTimeoutMillis"), "0 is refused, not raised to 1 ms");
        assertTrue(refusal("waitTimeoutMillis", "-5").contains("waitTimeoutMillis"));
    }

    @Test
    void anUnknownSettingIsRefusedAndNamesTheNearestOne() {
        Settings s = new Settings();
        assertFalse(s.set("maxDeph", "5"));
        assertNull(s.get("maxDeph"));
        assertEquals(" (did you mean 'maxDepth'?)", Settings.didYouMean("maxDeph"));
    }
}
