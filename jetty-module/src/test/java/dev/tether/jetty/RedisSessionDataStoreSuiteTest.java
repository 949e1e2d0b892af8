package dev.tether.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.record.RecordFormat;
import dev.tether.testkit.RedisProcess;
import java.util.Map;
import org.eclipse.jetty.session.AbstractSessionDataStoreTest;
import org.eclipse.jetty.session.SessionData;
import org.eclipse.jetty.session.SessionDataStoreFactory;
import org.eclipse.jetty.util.Jetty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Jetty's own contract suite for session data stores ({@code AbstractSessionDataStoreTest}, the 24
 * tests of jetty-session's published test-jar) run against {@link RedisSessionDataStore} on a real
 * redis-server. The tests are Jetty's, unchanged; this class supplies what the suite asks of a
 * store's test: its factory, and reading and writing its physical format directly
 * ({@link JettyRecords}).
 *
 * <p>Maven runs it twice: on the Jetty version Tether is compiled against (12.0), and on the 12.1
 * line, whose jars then replace the 12.0 ones on the class path ({@link #runsOnTheJettyAskedFor}
 * checks which one it got).
 */
public class RedisSessionDataStoreSuiteTest extends AbstractSessionDataStoreTest {

    private static RedisProcess redis;
    private static JettyRecords records;

    public RedisSessionDataStoreSuiteTest() throws Exception {
        super();
    }

    @BeforeAll
    static void startRedis() {
        redis = RedisProcess.start();
        records = new JettyRecords(redis);
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    @BeforeEach
    void emptyRedis() {
        redis.command("FLUSHALL");
    }

    @Override
    public SessionDataStoreFactory createSessionDataStoreFactory() {
        return new RedisSessionDataStoreFactory(redis.uri());
    }

    @Override
    public void persistSession(SessionData data) throws Exception {
        records.persist(data);
    }

    /**
     * A record Jetty cannot read as a session: its session fields (Jetty's access times, expiry
     * and max-inactive interval) are not numbers. The record keeps each attribute in a field of
     * its own, and one attribute that cannot be read costs that attribute only, logged and counted
     * (the core's policy for both containers; {@code JettyStoreDecisionsTest} shows it): what the
     * store cannot read at all, and must say so, is the session around the attributes.
     */
    @Override
    public void persistUnreadableSession(SessionData data) throws Exception {
        byte[] garbage = JettyRecords.bytes("\u00ff\u0000not a number");
        records.persist(data, Map.of(
                RecordFormat.NOTE_PREFIX + JettySessionData.NOTE_MAX_INACTIVE_MS, garbage,
                RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_ACCESSED, garbage,
                RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_LAST_ACCESSED, garbage,
                RecordFormat.EXTRA_PREFIX + JettySessionData.EXTRA_EXPIRY, garbage));
    }

    @Override
    public boolean checkSessionExists(SessionData data) throws Exception {
        return records.exists(data);
    }

    @Override
    public boolean checkSessionPersisted(SessionData data) throws Exception {
        records.assertPersisted(data, _contextClassLoader);
        return true;
    }

    /** The class path holds the Jetty this run was asked for: Jetty's own version, and the suite's jar. */
    @Test
    void runsOnTheJettyAskedFor() {
        String expected = System.getProperty("tether.suite.jettyVersion");
        assertNotNull(expected, "surefire sets tether.suite.jettyVersion");
        assertEquals(expected, Jetty.VERSION, "jetty-util on the class path");
        String suiteJar = AbstractSessionDataStoreTest.class.getProtectionDomain().getCodeSource().getLocation().toString();
        assertTrue(suiteJar.endsWith("jetty-session-" + expected + "-tests.jar"), suiteJar);
        String sessionJar = SessionData.class.getProtectionDomain().getCodeSource().getLocation().toString();
        assertTrue(sessionJar.endsWith("jetty-session-" + expected + ".jar"), sessionJar);
        System.out.println("[suite] Jetty " + Jetty.VERSION + ": " + suiteJar);
    }
}
