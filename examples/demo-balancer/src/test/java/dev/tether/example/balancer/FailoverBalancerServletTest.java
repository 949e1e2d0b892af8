package dev.tether.example.balancer;

import static dev.tether.testkit.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The balancer in front of two tiny back ends that answer with their name: sticky routing on the
 * route suffix (as BalancerServlet does), and the failover this example adds to it.
 */
class FailoverBalancerServletTest {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Server> servers = new ArrayList<>();
    private Server node1;
    private Server node2;
    private int port1;
    private int port2;
    private String balancer;

    @AfterEach
    void stop() throws Exception {
        for (Server s : servers) {
            s.stop();
        }
    }

    private void start(long checkIntervalMillis) throws Exception {
        node1 = backend("node1", 0);
        node2 = backend("node2", 0);
        port1 = port(node1);
        port2 = port(node2);
        Server lb = Main.start("127.0.0.1", 0,
                List.of(Member.parse("node1=http://127.0.0.1:" + port1), Member.parse("node2=http://127.0.0.1:" + port2)),
                checkIntervalMillis);
        servers.add(lb);
        balancer = "http://127.0.0.1:" + port(lb);
    }

    private Server backend(String name, int port) throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(port);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                String body = Content.Source.asString(request);
                String text = name + " " + request.getMethod() + " " + request.getHttpURI().getPathQuery() + " body=" + body
                        + " host=" + request.getHeaders().get("Host");
                response.getHeaders().put("Content-Type", "text/plain");
                Content.Sink.write(response, true, text, callback);
                return true;
            }
        });
        server.start();
        servers.add(server);
        return server;
    }

    private static int port(Server server) {
        return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    private HttpResponse<String> get(String path, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(balancer + path)).timeout(Duration.ofSeconds(10));
        if (cookie != null) {
            b.header("Cookie", "JSESSIONID=" + cookie);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String cookie, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(balancer + path)).timeout(Duration.ofSeconds(10))
                .header("Cookie", "JSESSIONID=" + cookie).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private String status() {
        try {
            return get("/balancer-status", null).body();
        } catch (Exception e) {
            throw new IllegalStateException("GET /balancer-status failed", e);
        }
    }

    @Test
    void routesOnTheRouteSuffixOfCookieAndPathParameter() throws Exception {
        start(1000);
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = get("/shop/cart?x=1", "ABC.node1");
            assertTrue(r.body().startsWith("node1 GET /shop/cart?x=1 "), r.body());
            assertEquals("node1", r.headers().firstValue(FailoverBalancerServlet.MEMBER_HEADER).orElse(null));
            assertTrue(get("/shop/cart", "ABC.node2").body().startsWith("node2 "));
        }
        assertTrue(get("/shop/cart;jsessionid=ABC.node2", null).body().startsWith("node2 GET /shop/cart;jsessionid=ABC.node2"));
        // The node sees the balancer's Host, so that its absolute redirects point back at the balancer.
        assertTrue(get("/x", "ABC.node1").body().endsWith("host=" + URI.create(balancer).getAuthority()));
        // No session: round-robin over both.
        String a = get("/new", null).body().substring(0, 5);
        String b = get("/new", null).body().substring(0, 5);
        assertTrue(!a.equals(b), a + " then " + b);
    }

    @Test
    void aRefusedRequestIsSentToTheOtherMemberBodyAndAll() throws Exception {
        start(0); // no health check: the failed request itself must find out
        assertTrue(get("/a", "ABC.node1").body().startsWith("node1 "));
        node1.stop();
        HttpResponse<String> r = post("/shop/add?format=text", "ABC.node1", "item=fig");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("node2 POST /shop/add?format=text body=item=fig host=" + URI.create(balancer).getAuthority(), r.body());
        assertEquals("node2", r.headers().firstValue(FailoverBalancerServlet.MEMBER_HEADER).orElse(null));
        assertTrue(status().contains("node1") && status().matches("(?s).*node1 +\\S+ +DOWN.*"), status());
        // Every later request of that session, too.
        assertTrue(get("/b", "ABC.node1").body().startsWith("node2 "));
        // Without a health check a DOWN member is still tried, so its return is noticed.
        node1 = backend("node1", port1);
        assertTrue(get("/c", "ABC.node1").body().startsWith("node1 "));
        assertTrue(status().matches("(?s).*node1 +\\S+ +UP.*"), status());
    }

    @Test
    void theHealthCheckNoticesADeadMemberAndItsReturn() throws Exception {
        start(100);
        node2.stop();
        await("node2 DOWN", Duration.ofSeconds(10), () -> status().matches("(?s).*node2 +\\S+ +DOWN.*"));
        for (int i = 0; i < 3; i++) {
            assertTrue(get("/x", "XYZ.node2").body().startsWith("node1 "));
            assertTrue(get("/new", null).body().startsWith("node1 "), "round-robin skips the DOWN member");
        }
        node2 = backend("node2", port2);
        await("node2 UP", Duration.ofSeconds(10), () -> status().matches("(?s).*node2 +\\S+ +UP.*"));
        assertTrue(get("/x", "XYZ.node2").body().startsWith("node2 "));
    }

    @Test
    void withEveryMemberDownTheAnswerIs502() throws Exception {
        start(0);
        node1.stop();
        node2.stop();
        assertEquals(502, get("/x", "ABC.node1").statusCode());
    }
}
