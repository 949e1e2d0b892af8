package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.Ports;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/** examples/prometheus: the JMX exporter agent with Tether's rules on a real Tomcat 10.1, scraped. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
@DisplayName("The Prometheus JMX exporter example on Apache Tomcat 10.1 (real distribution)")
class Tomcat10PrometheusIT implements DumpLogsOnFailure.WithNodes {

    RedisProcess redis;
    TomcatNode node;
    int metricsPort;

    @BeforeAll
    void start() {
        Path agent = Path.of(System.getProperty("tether.prometheus.agent"));
        Path rules = Path.of(System.getProperty("tether.examples"), "prometheus", "tether-jmx-exporter.yml");
        assertTrue(Files.isRegularFile(agent), "the exporter agent is fetched by Maven: " + agent);
        redis = RedisProcess.start();
        node = E2eSupport.node(E2eSupport.workDir("prometheus-tomcat-10.1"), "node1", E2eSupport.tomcatHome("10.1"), redis.uri());
        metricsPort = Ports.free();
        node.addJvmOptions("-javaagent:" + agent + "=127.0.0.1:" + metricsPort + ":" + rules.toAbsolutePath());
        ServerNode.startAll(node);
    }

    @AfterAll
    void stop() {
        ServerNode.killAll(node);
        if (redis != null) {
            redis.close();
        }
    }

    @Override
    public List<TomcatNode> nodes() {
        return List.of(node);
    }

    @Test
    @Order(1)
    @DisplayName("a scrape shows Tether's counters and Tomcat's session numbers, labelled by context")
    void scrape() throws Exception {
        for (int i = 0; i < 3; i++) {
            Reply r = Http.get(node.port(), "/app/set?k=n&v=" + i, null);
            assertEquals(200, r.status(), r::toString);
            assertEquals(200, Http.get(node.port(), "/app/set?k=m&v=" + i, r.sessionCookie().value()).status());
        }
        Map<String, Double> app = scrapeApp();
        System.out.println("[e2e] Tomcat 10.1 Prometheus scrape, context /app: " + app);
        assertEquals(3.0, app.get("tether_sessionscreated"), app::toString);
        assertEquals(6.0, app.get("tether_writes"), app::toString);
        assertEquals(1.0, app.get("tether_redisavailable"), app::toString);
        assertEquals(0.0, app.get("tether_refusedrequests"), app::toString);
        assertEquals(0.0, app.get("tether_unreadablerequests"), app::toString);
        assertEquals(3.0, app.get("tomcat_session_activesessions"), app::toString);
        assertEquals(3.0, app.get("tomcat_session_sessioncounter"), app::toString);
        assertTrue(app.containsKey("tether_clustersessions"), app::toString);
    }

    @Test
    @Order(2)
    @DisplayName("a request whose session cannot be read while Redis is away is answered 503 and counted")
    void anUnreadableSessionIsCounted() throws Exception {
        redis.kill();
        try {
            // A session of another node, which this node must read from Redis.
            Reply r = Http.get(node.port(), "/app/get?k=n", "0123456789ABCDEF0123456789ABCDEF.node2");
            assertEquals(503, r.status(), r::toString);
            assertEquals(1.0, scrapeApp().get("tether_unreadablerequests"), "the outage users meet shows on the dashboard");
        } finally {
            redis.relaunch();
        }
    }

    /** One scrape: the values labelled with context /app, by metric name. */
    private Map<String, Double> scrapeApp() throws Exception {
        HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, res.statusCode());
        Map<String, Double> app = new TreeMap<>();
        for (String line : res.body().lines().toList()) {
            if (!line.startsWith("#") && line.contains("context=\"/app\"")) {
                String name = line.substring(0, line.indexOf('{'));
                app.put(name, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
            }
        }
        return app;
    }
}
