package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tether in contexts configured in other ways than the usual: Tomcat's SingleSignOn valve on the
 * Host (a logout in one application ends the user's sessions of the others; when Redis refuses
 * those invalidations, the logout is not acknowledged), an authenticator declared before the
 * Manager.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(DumpLogsOnFailure.class)
@DisplayName("Contexts configured otherwise on Apache Tomcat 10.1 (real distribution)")
class Tomcat10ContextConfigurationsIT implements DumpLogsOnFailure.WithNodes {

    private static final String SSO_COOKIE = "JSESSIONIDSSO";

    RedisProcess redis;
    TomcatNode node;

    @BeforeAll
    void start() {
        redis = RedisProcess.start();
        node = E2eSupport.node(E2eSupport.workDir("contexts-tomcat-10.1"), "node1", E2eSupport.tomcatHome("10.1"), redis.uri());
        E2eSupport.deployTestApp(node, "b", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s"/>
                </Context>
                """.formatted(redis.uri()));
        // A third application whose context.xml declares its authenticator before the Manager.
        E2eSupport.deployTestApp(node, "c", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false"/>
                  <Valve className="org.apache.catalina.authenticator.FormAuthenticator"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s"/>
                </Context>
                """.formatted(redis.uri()));
        node.editServerXml(xml -> xml.replace("autoDeploy=\"false\"/>",
                "autoDeploy=\"false\"><Valve className=\"org.apache.catalina.authenticator.SingleSignOn\"/></Host>"));
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

    private Reply get(String target, String sessionId, String sso) {
        StringBuilder cookie = new StringBuilder();
        if (sessionId != null) {
            cookie.append(Http.SESSION_COOKIE).append('=').append(sessionId);
        }
        if (sso != null) {
            cookie.append(cookie.length() > 0 ? "; " : "").append(SSO_COOKIE).append('=').append(sso);
        }
        try (Http.Connection c = Http.keepAlive("127.0.0.1", node.port())) {
            return c.send("GET", target, cookie.length() == 0 ? Map.of() : Map.of("Cookie", cookie.toString()), null);
        }
    }

    private static String cookie(Reply r, String name, String fallback) {
        return r.setCookies().stream().filter(c -> c.name().equals(name)).map(Http.SetCookie::value).findFirst().orElse(fallback);
    }

    @Test
    @DisplayName("an authenticator declared before the Manager in context.xml is named in one line at start")
    void anAuthenticatorBeforeTheManagerIsNamed() {
        List<String> lines = E2eSupport.linesContaining(node.log(), "comes before the <Manager>");
        assertEquals(1, lines.size(), () -> "one line, for /c only: " + lines);
        assertTrue(lines.get(0).contains("/c") && lines.get(0).contains("FormAuthenticator"), lines.get(0));
    }

    @Test
    @DisplayName("a single sign-on logout that Redis refuses, for either application, is answered 503")
    void aSingleSignOnLogoutRedisRefusesIsNotAcknowledged() {
        // Logged in on /app (FORM): Tomcat sets the single sign-on cookie.
        Reply page = get("/app/secure/whoami", null, null);
        String app = cookie(page, Http.SESSION_COOKIE, null);
        Reply post;
        try (Http.Connection c = Http.keepAlive("127.0.0.1", node.port())) {
            post = c.send("POST", "/app/j_security_check", Map.of("Cookie", Http.SESSION_COOKIE + "=" + app,
                    "Content-Type", "application/x-www-form-urlencoded"),
                    "j_username=" + E2eSupport.USER + "&j_password=" + E2eSupport.PASSWORD);
        }
        app = cookie(post, Http.SESSION_COOKIE, app);
        String sso = cookie(post, SSO_COOKIE, null);
        assertNotNull(sso, () -> "no single sign-on cookie: " + post);
        assertEquals(E2eSupport.USER, get("/app/secure/whoami", app, sso).value("user"));
        // /b's session, signed on through the same cookie: Tomcat ties it to the sign-on.
        String b = cookie(get("/b/g/add?v=x", null, null), Http.SESSION_COOKIE, null);
        Reply atB = get("/b/secure/whoami", b, sso);
        assertEquals(E2eSupport.USER, atB.value("user"), atB::toString);
        b = cookie(atB, Http.SESSION_COOKIE, b);
        String bKey = "tether:tomcat:localhost/b:{" + Http.base(b) + "}";
        String appKey = E2eSupport.KEY_PREFIX + "{" + Http.base(app) + "}";
        assertEquals("1", redis.command("EXISTS", bKey));

        redis.command("CONFIG", "SET", "min-replicas-to-write", "1"); // no replica: every write refused (NOREPLICAS)
        try {
            Reply out = get("/app/g/logout", app, sso);
            assertEquals(503, out.status(), () -> "a logout Redis refused (both applications' sessions live on) must not look done: " + out);
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
        assertEquals("1", redis.command("EXISTS", appKey), "the refused logout left /app's record");
        assertEquals("1", redis.command("EXISTS", bKey), "and /b's");
    }
}
