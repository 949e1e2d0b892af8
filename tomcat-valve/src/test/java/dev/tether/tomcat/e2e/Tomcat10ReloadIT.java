package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Reloading and undeploying web applications on a running Tomcat 10.1 with Tether in lib/: through
 * Tomcat's own manager application, three reloads keep the sessions (values of the application's
 * own classes read through the new class loader), and neither they nor an undeploy leave a class
 * loader or a thread behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
@DisplayName("Reload and undeploy on Apache Tomcat 10.1 (real distribution): no leak, sessions kept")
class Tomcat10ReloadIT implements DumpLogsOnFailure.WithNodes {

    static final String DEPLOYER = "deployer";
    static final String DEPLOYER_PASSWORD = "deploy-Pw-1";

    RedisProcess redis;
    TomcatNode node;

    @BeforeAll
    void start() {
        redis = RedisProcess.start();
        Path home = E2eSupport.tomcatHome("10.1");
        node = E2eSupport.node(E2eSupport.workDir("reload-tomcat-10.1"), "node1", home, redis.uri());
        node.users("""
                <?xml version="1.0" encoding="UTF-8"?>
                <tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">
                  <role rolename="%s"/>
                  <user username="%s" password="%s" roles="%s"/>
                  <user username="%s" password="%s" roles="manager-script"/>
                </tomcat-users>
                """.formatted(E2eSupport.ROLE, E2eSupport.USER, E2eSupport.PASSWORD, E2eSupport.ROLE, DEPLOYER, DEPLOYER_PASSWORD));
        node.deploy("manager", home.resolve("webapps/manager"));
        E2eSupport.deployTestApp(node, "second", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s"/>
                </Context>
                """.formatted(redis.uri()));
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

    /** One command of the manager application's text interface. */
    private String manager(String command) throws Exception {
        String auth = Base64.getEncoder().encodeToString((DEPLOYER + ":" + DEPLOYER_PASSWORD).getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + node.port() + "/manager/text/" + command))
                .header("Authorization", "Basic " + auth).timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), command + ": " + r.body());
        return r.body();
    }

    @Test
    @org.junit.jupiter.api.Order(1)
    @DisplayName("three reloads keep the session; reloads and an undeploy leave no class loader and no thread behind")
    void reloadsAndUndeploy() throws Exception {
        Reply created = Http.get(node.port(), "/app/set?k=user&v=alice", null);
        String id = created.sessionCookie().value();
        assertEquals(200, Http.get(node.port(), "/app/list-add?v=x", id).status());
        assertEquals(200, Http.get(node.port(), "/app/probe?label=p", id).status()); // a value of the application's own class
        Reply secondApp = Http.get(node.port(), "/second/set?k=n&v=1", null);
        assertEquals(200, secondApp.status(), secondApp::toString);
        long logBefore = node.logSize();

        for (int i = 1; i <= 3; i++) {
            String out = manager("reload?path=/app");
            assertTrue(out.startsWith("OK"), "reload " + i + ": " + out);
            Reply r = Http.get(node.port(), "/app/get", id);
            assertEquals(200, r.status(), r::toString);
            assertEquals("alice", r.attribute("user"), "reload " + i + ": " + r);
            assertEquals("[x]", r.attribute("list"), "reload " + i + ": " + r);
            assertTrue(r.attribute("probe").startsWith("probe(p"), "reload " + i + ": " + r);
        }
        String undeployed = manager("undeploy?path=/second");
        assertTrue(undeployed.startsWith("OK"), undeployed);

        String leaks = manager("findleaks?statusLine=true");
        String log = node.logSince(logBefore);
        System.out.println("[e2e] Tomcat 10.1 after 3 reloads of /app and an undeploy of /second: findleaks said "
                + leaks.strip().replace('\n', ' '));
        assertTrue(leaks.startsWith("OK - No memory leaks found"), "Tomcat found a class loader left behind:\n" + leaks + "\n" + log);
        for (String warning : List.of("has failed to stop it", "memory leak", "failed to stop", "SEVERE")) {
            assertEquals(List.of(), E2eSupport.linesContaining(log, warning), "catalina.out lines with '" + warning + "'");
        }
        Map<String, String> kept = Http.get(node.port(), "/app/get", id).attributes();
        assertEquals("alice", kept.get("user"));
    }

    @Test
    @org.junit.jupiter.api.Order(2)
    @DisplayName("a request that outlives its application's stop is answered 503, not 200 with its change unstored")
    void aRequestOutlivingItsApplicationsStopIsRefused() throws Exception {
        String id = Http.get(node.port(), "/app/set?k=user&v=bob", null).sessionCookie().value();
        // Once at full speed first: the page's code is then loaded (a stopped application cannot load classes).
        assertEquals(200, Http.get(node.port(), "/app/g/slow-set?sleepMs=0&k=warm&v=0", id).status());
        java.util.concurrent.CompletableFuture<Reply> slow = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> Http.get(node.port(), "/app/g/slow-set?sleepMs=4000&k=late&v=1", id));
        Thread.sleep(500);
        try {
            assertTrue(manager("stop?path=/app").startsWith("OK")); // waits unloadDelay (2 s) for the request, then stops
            Reply r = slow.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(503, r.status(), () -> "its change never reached Redis: " + r);
            assertEquals(null, redis.command("HGET", E2eSupport.KEY_PREFIX + "{" + Http.base(id) + "}", "a:late"));
        } finally {
            assertTrue(manager("start?path=/app").startsWith("OK"));
        }
        assertEquals("bob", Http.get(node.port(), "/app/get", id).attribute("user"), "the session lives on");
    }
}
