package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Await;
import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Sessions by user and the Manager's own numbers, on two real Tomcat 10.1 nodes: "log out
 * everywhere" over JMX, maxSessionsPerUser across nodes, the cluster-wide counts, and Tomcat's
 * Manager metrics side by side with StandardManager's for the same traffic.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(DumpLogsOnFailure.class)
@DisplayName("Sessions by user and Manager metrics on Apache Tomcat 10.1 (real distribution)")
class Tomcat10SessionsByUserIT implements DumpLogsOnFailure.WithNodes {

    RedisProcess redis;
    TomcatNode node1;
    TomcatNode node2;
    int jmxPort;

    @BeforeAll
    void startNodes() {
        redis = RedisProcess.start();
        var work = E2eSupport.workDir("sessions-by-user-tomcat-10.1");
        var home = E2eSupport.tomcatHome("10.1");
        node1 = E2eSupport.node(work, "node1", home, redis.uri());
        node2 = E2eSupport.node(work, "node2", home, redis.uri());
        for (TomcatNode n : List.of(node1, node2)) {
            E2eSupport.deployTestApp(n, "limited", context("""
                    <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s" maxSessionsPerUser="1"/>"""
                    .formatted(redis.uri())));
        }
        // The same application and traffic under Tomcat's StandardManager and under Tether; sessions
        // expire within a second or two of their time.
        E2eSupport.deployTestApp(node1, "plain", context("""
                <Manager className="org.apache.catalina.session.StandardManager" pathname="" maxActiveSessions="4"
                         processExpiresFrequency="1"/>"""));
        E2eSupport.deployTestApp(node1, "metered", context("""
                <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s" maxActiveSessions="4"
                         processExpiresFrequency="1"/>""".formatted(redis.uri())));
        jmxPort = E2eSupport.remoteJmx(node1);
        ServerNode.startAll(node1, node2);
    }

    private static String context(String manager) {
        return """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context backgroundProcessorDelay="1">
                  <JarScanner scanClassPath="false"/>
                  %s
                </Context>
                """.formatted(manager);
    }

    @AfterAll
    void stopNodes() {
        ServerNode.killAll(node1, node2);
        if (redis != null) {
            redis.close();
        }
    }

    @Override
    public List<TomcatNode> nodes() {
        return Arrays.asList(node1, node2);
    }

    private <T> T jmx(JmxCall<T> call) throws Exception {
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi");
        try (JMXConnector connector = JMXConnectorFactory.connect(url, Map.of())) {
            return call.on(connector.getMBeanServerConnection());
        }
    }

    interface JmxCall<T> {
        T on(MBeanServerConnection mbs) throws Exception;
    }

    private static boolean loggedIn(TomcatNode node, String context, String id) {
        Reply r = Http.get(node.port(), context + "/secure/whoami", id);
        return r.status() == 200 && E2eSupport.USER.equals(r.value("user"));
    }

    @Test
    @DisplayName("invalidateSessionsOf over JMX on one node ends the user's sessions on every node, and no one else's")
    void logOutEverywhere() throws Exception {
        String onNode1 = E2eSupport.formLogin(node1, null);
        String onNode2 = E2eSupport.formLogin(node2, null);
        Reply anonymous = Http.get(node1.port(), "/app/set?k=cart&v=apples", null);
        String other = anonymous.sessionCookie().value();

        ObjectName tether = new ObjectName("Catalina:type=Tether,host=localhost,context=/app");
        Await.await("the cluster-wide count covers both nodes", Duration.ofSeconds(40), () -> {
            try {
                return jmx(mbs -> (Long) mbs.getAttribute(tether, "ClusterSessions")) >= 3
                        && jmx(mbs -> (String) mbs.getAttribute(tether, "ClusterSessionsByRoute")).matches("node1=\\d+,node2=\\d+");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        int ended = jmx(mbs -> (Integer) mbs.invoke(tether, "invalidateSessionsOf", new Object[] {E2eSupport.USER},
                new String[] {String.class.getName()}));

        assertEquals(2, ended, "alice's sessions on node1 and node2");
        assertTrue(!loggedIn(node1, "/app", onNode1), "node1 no longer lets the session in");
        assertTrue(!loggedIn(node2, "/app", onNode2), "node2 no longer lets the session in, with no request in between");
        Reply kept = Http.get(node1.port(), "/app/get", other);
        assertEquals(Map.of("cart", "apples"), kept.attributes(), kept::toString);
        System.out.println("[e2e] Tomcat 10.1 invalidateSessionsOf(alice) over JMX on node1 ended " + ended
                + " sessions (node1, node2); another user's session kept");
    }

    @Test
    @DisplayName("maxSessionsPerUser=1: a login on node2 ends the same user's session on node1")
    void oneSessionPerUser() {
        String first = E2eSupport.formLogin(node1, "/limited", null);
        assertTrue(loggedIn(node1, "/limited", first));
        String second = E2eSupport.formLogin(node2, "/limited", null);
        assertTrue(loggedIn(node2, "/limited", second), "the new login stands");
        assertTrue(!loggedIn(node1, "/limited", first), "the older session ended at the login on the other node");
    }

    @Test
    @DisplayName("Tomcat's Manager metrics mean what StandardManager's mean for the same traffic")
    void managerMetricsMatchStandardManager() throws Exception {
        Map<String, Object> plain = traffic("/plain");
        Map<String, Object> tether = traffic("/metered");
        System.out.println("[e2e] Tomcat 10.1 Manager metrics for the same traffic: StandardManager " + plain + ", Tether " + tether);
        for (String a : List.of("activeSessions", "sessionCounter", "expiredSessions", "rejectedSessions", "maxActive")) {
            assertEquals(plain.get(a), tether.get(a), a + ": StandardManager " + plain + " vs Tether " + tether);
        }
        int plainAlive = (Integer) plain.get("sessionMaxAliveTime");
        int tetherAlive = (Integer) tether.get("sessionMaxAliveTime");
        assertTrue(tetherAlive >= 1 && Math.abs(tetherAlive - plainAlive) <= 2, "sessionMaxAliveTime " + plainAlive + " vs " + tetherAlive);
    }

    /**
     * Four sessions (the most allowed), a fifth refused, one invalidated, one left to expire; then
     * the Manager's numbers.
     */
    private Map<String, Object> traffic(String context) throws Exception {
        String[] ids = new String[4];
        for (int i = 0; i < 4; i++) {
            Reply r = Http.get(node1.port(), context + "/set?k=n&v=" + i, null);
            assertEquals(200, r.status(), r::toString);
            ids[i] = r.sessionCookie().value();
        }
        Reply refused = Http.get(node1.port(), context + "/set?k=n&v=5", null);
        assertTrue(refused.status() >= 500, "a fifth session is refused: " + refused);
        assertEquals(200, Http.get(node1.port(), context + "/g/logout", ids[0]).status());
        assertEquals(200, Http.get(node1.port(), context + "/g/expire-in?s=1", ids[1]).status());
        ObjectName manager = new ObjectName("Catalina:type=Manager,host=localhost,context=" + context);
        Await.await(context + ": the idle session expires", Duration.ofSeconds(20), () -> {
            try {
                return jmx(mbs -> (Integer) mbs.getAttribute(manager, "activeSessions")) == 2;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return jmx(mbs -> {
            Map<String, Object> out = new LinkedHashMap<>();
            for (String a : List.of("activeSessions", "sessionCounter", "expiredSessions", "rejectedSessions", "maxActive",
                    "sessionMaxAliveTime")) {
                out.put(a, mbs.getAttribute(manager, a));
            }
            return out;
        });
    }
}
