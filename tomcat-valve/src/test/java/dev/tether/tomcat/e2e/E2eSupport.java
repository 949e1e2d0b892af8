package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.testkit.Dirs;
import java.util.Map;
import java.net.URI;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.Http;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the end-to-end tests on real Tomcat share: the distributions and the shaded jars Maven built
 * (failsafe names them), and nodes running the test application. Tomcat 9 (javax.servlet) gets
 * the jar and the test application that tomcat9-valve generated from this module's sources; 10.1
 * and 11 get this module's own.
 */
final class E2eSupport {

    /** Tether's default key prefix for the context /app on host localhost. */
    static final String KEY_PREFIX = "tether:tomcat:localhost/app:";
    /** The user for FORM login. */
    static final String USER = "alice";
    static final String PASSWORD = "s3cret-Pw";
    static final String ROLE = "tester";

    private E2eSupport() {
    }

    static Path jar() {
        return Dirs.fromProperty("tether.tomcat.jar");
    }

    static Path testClasses() {
        return Dirs.fromProperty("tether.test.classes");
    }

    /** Whether a distribution is Tomcat 9, whose Servlet API is javax.servlet. */
    static boolean isJavax(Path tomcatHome) {
        return tomcatHome.getFileName().toString().startsWith("apache-tomcat-9.");
    }

    /** The Tether jar for a distribution: tether-tomcat9 for Tomcat 9, tether-tomcat otherwise. */
    static Path jar(Path tomcatHome) {
        return isJavax(tomcatHome) ? Dirs.fromProperty("tether.tomcat9.jar") : jar();
    }

    /** Where the test application for a distribution lies: {@code e2e-webapp/} and the classes of its package. */
    static Path appBuild(Path tomcatHome) {
        return isJavax(tomcatHome) ? Dirs.fromProperty("tether.tomcat9.test.classes") : testClasses();
    }

    /**
     * A work directory under target/e2e for one test class, named after the JDK the nodes run on too
     * (the same class runs once per JDK).
     */
    static Path workDir(String name) {
        String jdk = System.getProperty(ServerNode.JAVA_HOME_PROPERTY, "");
        String suffix = jdk.isBlank() ? "" : "-" + Path.of(jdk.trim()).getFileName();
        return testClasses().getParent().resolve("e2e").resolve(name + suffix);
    }

    /** The unpacked distribution of a Tomcat version ("9.0", "10.1", "11.0") from tether.tomcat.homes. */
    static Path tomcatHome(String version) {
        String homes = System.getProperty("tether.tomcat.homes", "");
        for (String h : homes.split(",")) {
            Path p = Path.of(h.trim());
            if (p.getFileName().toString().startsWith("apache-tomcat-" + version + ".")) {
                assertTrue(Files.isRegularFile(p.resolve("bin/catalina.sh")), "not a Tomcat distribution: " + p);
                return p;
            }
        }
        throw new AssertionError("no Tomcat " + version + " in tether.tomcat.homes=" + homes
                + " (run through mvn verify / failsafe)");
    }

    /**
     * A node {@code work/name} (jvmRoute {@code name}) with the distribution's shaded jar in {@code lib/}, a user
     * for FORM login, and the test application exploded as {@code webapps/app}, its
     * {@code META-INF/context.xml} naming a {@code RedisSessionManager} at {@code redisUri}.
     */
    static TomcatNode node(Path work, String name, Path home, String redisUri) {
        TomcatNode node = TomcatNode.create(name, home, work.resolve(name), name);
        node.addLib(jar(home));
        node.users("""
                <?xml version="1.0" encoding="UTF-8"?>
                <tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">
                  <role rolename="%s"/>
                  <user username="%s" password="%s" roles="%s"/>
                </tomcat-users>
                """.formatted(ROLE, USER, PASSWORD, ROLE));
        Path build = appBuild(home);
        node.deploy("app", build.resolve("e2e-webapp"));
        Path appClasses = Path.of("dev", "tether", "tomcat", "e2e", "app");
        Path app = node.base().resolve("webapps/app");
        Dirs.copy(build.resolve(appClasses), app.resolve("WEB-INF/classes").resolve(appClasses));
        if (!Files.exists(app.resolve("WEB-INF/classes/dev/tether/tomcat/e2e/app/AppServlet.class"))) {
            throw new IllegalStateException("test application classes not found under " + build);
        }
        deployTestApp(node, "app", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <!-- nothing in lib/ or WEB-INF/lib needs scanning; keeps start-up fast -->
                  <JarScanner scanClassPath="false"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s"/>
                </Context>
                """.formatted(redisUri));
        node.readyWhen("/app/ping", "pong=true");
        return node;
    }

    /**
     * Deploys the test application (as laid out in {@code webapps/app}) a second time as
     * {@code webapps/<contextName>}, or only replaces its context.xml when contextName is
     * {@code app}: the {@code META-INF/context.xml} becomes {@code contextXml}. Before start.
     */
    static void deployTestApp(TomcatNode node, String contextName, String contextXml) {
        if (!contextName.equals("app")) {
            node.deploy(contextName, node.base().resolve("webapps/app"));
        }
        try {
            Path file = node.base().resolve("webapps").resolve(contextName).resolve("META-INF/context.xml");
            Files.createDirectories(file.getParent());
            Files.writeString(file, contextXml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> linesContaining(String text, String needle) {
        return text.lines().filter(l -> l.contains(needle)).toList();
    }

    /** Logs in through FORM authentication with no automatic redirects or cookies; returns the final session id. */
    static String formLogin(TomcatNode node, String sessionId) {
        return formLogin(node, "/app", sessionId);
    }

    /** As {@link #formLogin(TomcatNode, String)}, in the test application deployed at {@code context}. */
    static String formLogin(TomcatNode node, String context, String sessionId) {
        Reply page = Http.get(node.port(), context + "/secure/whoami", sessionId);
        assertEquals(200, page.status(), page::toString);
        assertTrue(page.body().contains(FailoverScenario.LOGIN_PAGE_MARKER), "expected the login page: " + page);
        String id = page.sessionCookie() == null ? sessionId : page.sessionCookie().value();

        Reply post = Http.postForm(node.port(), context + "/j_security_check",
                Map.of("j_username", E2eSupport.USER, "j_password", E2eSupport.PASSWORD), id);
        assertTrue(post.status() == 303 || post.status() == 302, "expected a redirect after j_security_check: " + post);
        assertNotNull(post.location(), post::toString);
        if (post.sessionCookie() != null) {
            id = post.sessionCookie().value();
        }
        String target = URI.create(post.location()).getRawPath();
        assertEquals(context + "/secure/whoami", target, post::toString);

        Reply back = Http.get(node.port(), target, id);
        assertEquals(200, back.status(), back::toString);
        assertEquals(E2eSupport.USER, back.value("user"), back::toString);
        if (back.sessionCookie() != null) {
            id = back.sessionCookie().value();
        }
        assertEquals(id, back.value("id"), back::toString);
        return id;
    }


    /** Opens remote JMX (no authentication, loopback) on a node from its next start; returns the port. */
    static int remoteJmx(TomcatNode node) {
        int port = dev.tether.testkit.Ports.free();
        node.addJvmOptions("-Dcom.sun.management.jmxremote.port=" + port
                + " -Dcom.sun.management.jmxremote.rmi.port=" + port
                + " -Dcom.sun.management.jmxremote.host=127.0.0.1"
                + " -Dcom.sun.management.jmxremote.authenticate=false"
                + " -Dcom.sun.management.jmxremote.ssl=false"
                + " -Djava.rmi.server.hostname=127.0.0.1");
        return port;
    }
}
