package dev.tether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Redis launcher, its RESP client and the MONITOR reader, against a real redis-server. */
class RedisProcessTest {

    @Test
    void runsCommandsRestartsAndNeverUsesTheDefaultPort() throws Exception {
        try (RedisProcess redis = RedisProcess.start()) {
            assertNotEquals(6379, redis.port());
            assertEquals("OK", redis.command("SET", "k", "v"));
            assertEquals("v", redis.command("GET", "k"));
            assertNull(redis.command("GET", "missing"));
            assertEquals(List.of("k"), redis.keys("*"));
            redis.command("HSET", "h", "f", "x");
            assertEquals("x", new String(redis.hgetall("h").get("f")));
            assertTrue(redis.commandCalls("set") >= 1);
            redis.restartWithData();
            assertEquals("v", redis.command("GET", "k"));
            redis.restartEmpty();
            assertNull(redis.command("GET", "k"));
            redis.kill();
            assertThrows(IllegalStateException.class, () -> redis.command("PING"));
        }
    }

    @Test
    void authenticatesOnceAPasswordIsSet() {
        try (RedisProcess redis = RedisProcess.start()) {
            redis.command("CONFIG", "SET", "requirepass", "pw-1");
            assertThrows(IllegalStateException.class, () -> redis.command("PING"));
            redis.password("pw-1");
            assertEquals("PONG", redis.command("PING"));
        }
    }

    @Test
    void monitorTellsClientCommandsFromScriptCommands() throws Exception {
        try (RedisProcess redis = RedisProcess.start()) {
            try (RedisMonitor monitor = redis.monitor()) {
                redis.command("SET", "a", "1");
                redis.command("EVAL", "redis.call('GET', KEYS[1]); return redis.call('INCR', KEYS[1])", "1", "a");
                redis.command("INFO", "commandstats");
                monitor.close();
                assertEquals(Map.of("eval", 1L, "set", 1L), monitor.clientCommandsByName(), String.join("\n", monitor.lines()));
                assertEquals(2, monitor.scriptCommandCount());
            }
        }
    }
}
