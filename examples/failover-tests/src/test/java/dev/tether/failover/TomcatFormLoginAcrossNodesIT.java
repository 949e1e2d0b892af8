package dev.tether.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Http;
import dev.tether.testkit.ServerNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Tomcat's FORM login when its two steps reach different nodes, as they do behind a balancer
 * without affinity: the protected page (which shows the login form and saves the request) on node1,
 * the {@code j_security_check} POST on node2. Two Tomcat 10.1 nodes in shared mode, no balancer: the
 * test picks the node of each request. Tomcat keeps a login in progress in session notes; Tether
 * carries them in the record (answered 408 before it did).
 */
class TomcatFormLoginAcrossNodesIT {

    @Test
    void loginFormOnOneNodeCredentialsOnTheOther() throws Exception {
        ShopUser.Account alice = new ShopUser.Account("u01", "pw-u01");
        Path work = Path.of(System.getProperty("tether.work", "target/failover")).toAbsolutePath().resolve("form-login-across-nodes");
        try (Backend backend = TomcatBackend.tomcat10(work, SharedRedis.get().uri(), List.of(alice), "mode=\"shared\"")) {
            ServerNode node1 = backend.nodes().get(0);
            ServerNode node2 = backend.nodes().get(1);

            Http.Reply form = Http.get(node1.port(), "/shop/shop/cart?format=text", null);
            assertTrue(form.body().contains("j_security_check"), "node1 shows the login form: " + form);
            String session = form.sessionId();
            assertNotNull(session, "node1 started a session for the login");

            Http.Reply login = Http.postForm(node2.port(), "/shop/j_security_check",
                    Map.of("j_username", alice.name(), "j_password", alice.password()), session);
            assertTrue(login.status() == 302 || login.status() == 303,
                    "node2 accepts the credentials for the form node1 showed (a redirect to the saved page), got " + login.status());
            String after = login.sessionId() != null ? login.sessionId() : session;
            Http.Reply page = Http.get(node1.port(), "/shop/shop/cart?format=text", after);
            assertEquals(alice.name(), page.value("user"), "logged in on every node: " + page);
        }
    }
}
