package dev.tether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP client against the JDK's own small server: what it sends, what it reads, its cookie jar. */
class HttpTest {

    private HttpServer server;
    /** Per request: the client's port (one per connection) and the Cookie header it sent. */
    private final List<String> seen = new ArrayList<>();

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", Ports.free()), 0);
        server.createContext("/", this::answer);
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    private void answer(HttpExchange x) throws IOException {
        String cookie = x.getRequestHeaders().getFirst("Cookie");
        synchronized (seen) {
            seen.add(x.getRemoteAddress().getPort() + " " + cookie);
        }
        String query = String.valueOf(x.getRequestURI().getQuery());
        if (query.startsWith("set=")) {
            x.getResponseHeaders().add("Set-Cookie", query.substring(4) + "; Path=/; HttpOnly");
        }
        byte[] body = ("id=" + cookie + "\nattr.a=1\nattr.b=two\n").getBytes(StandardCharsets.UTF_8);
        // length 0 makes the JDK server send the body chunked
        x.sendResponseHeaders(200, query.contains("chunked") ? 0 : body.length);
        x.getResponseBody().write(body);
        x.close();
    }

    private int port() {
        return server.getAddress().getPort();
    }

    @Test
    void oneShotRequestSendsTheSessionCookieAndParsesTheAnswer() {
        Http.Reply r = Http.get(port(), "/x?set=JSESSIONID=abc.node1", "old.node2");
        assertEquals(200, r.status());
        assertEquals("JSESSIONID=old.node2", r.value("id"));
        assertEquals(Map.of("a", "1", "b", "two"), r.attributes());
        assertEquals("abc.node1", r.sessionId());
        assertEquals("/", r.sessionCookie().path());
        assertTrue(r.sessionCookie().httpOnly());
        assertEquals("two", Http.get(port(), "/x?chunked", null).attribute("b"));
    }

    @Test
    void keptAliveConnectionWithACookieJarSendsBackWhatTheServerSet() {
        try (Http.Connection c = Http.browser("127.0.0.1", port())) {
            c.get("/x?set=JSESSIONID=abc.node1");
            c.get("/x?set=SERVERID=s1");
            c.get("/x?set=SERVERID=; Max-Age=0");
            Http.Reply last = c.get("/x?chunked");
            assertEquals("JSESSIONID=abc.node1", last.value("id"));
            assertNull(c.cookie("SERVERID"), "a cookie the server deleted");
        }
        synchronized (seen) {
            assertEquals(1, seen.stream().map(s -> s.split(" ")[0]).distinct().count(), "one connection: " + seen);
        }
    }

    @Test
    void aRequestToAStoppedServerSaysSo() {
        int port = port();
        server.stop(0);
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> Http.get(port, "/x", null));
        assertTrue(e.getMessage().contains("nothing listens on 127.0.0.1:" + port), e.getMessage());
        assertEquals(-1, Http.sendRaw(port, Http.rawGet(Http.ascii("/x"), null)).status());
    }

    @Test
    void sessionIdParts() {
        assertEquals("abc", Http.base("abc.node1"));
        assertEquals("node1", Http.route("abc.node1"));
        assertEquals("abc", Http.base("abc"));
        assertNull(Http.route("abc"));
        assertNull(Http.base(null));
    }
}
