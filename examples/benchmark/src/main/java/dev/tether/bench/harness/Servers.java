package dev.tether.bench.harness;

import dev.tether.testkit.JettyNode;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The servers a variant runs on: the testkit's real Tomcat or Jetty node with {@code bench.war} at
 * {@value #CONTEXT}, the variant's session manager or store, and the benchmark's JVM flags.
 */
final class Servers {

    static final String CONTEXT = "/bench";

    private Servers() {
    }

    /** A node named {@code <variant>-<route>} in {@code workDir}, not started yet. */
    static ServerNode create(Options o, Variant v, String route, Path workDir, String redisUri) throws IOException {
        ServerNode node = v.server == Variant.Server.JETTY ? jetty(o, v, route, workDir, redisUri) : tomcat(o, v, route, workDir, redisUri);
        node.readyWhen(CONTEXT + "/b/ping", null);
        return node;
    }

    /**
     * Tomcat: a server.xml with the node's port, no shutdown port, {@code jvmRoute=<route>} and a host
     * that unpacks WARs; {@code bench.war}; the variant's Manager in {@code conf/Catalina/localhost/bench.xml}.
     */
    private static TomcatNode tomcat(Options o, Variant v, String route, Path workDir, String redisUri) throws IOException {
        String name = v.id + "-" + route;
        TomcatNode node = TomcatNode.create(name, o.tomcatHome, workDir.resolve(name), route);
        node.serverXml("""
                <?xml version="1.0" encoding="UTF-8"?>
                <Server port="-1" shutdown="SHUTDOWN">
                  <Service name="Catalina">
                    <Connector port="%d" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"/>
                    <Engine name="Catalina" defaultHost="localhost" jvmRoute="%s">
                      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
                    </Engine>
                  </Service>
                </Server>
                """.formatted(node.port(), route));
        node.deploy("bench", o.war);
        node.jvmOptions(o.jvmOpts);
        switch (v.impl) {
            case FLOOR_LETTUCE, FLOOR_SOCKET ->
                node.addJvmOptions("-Dbench.floor=" + v.floorKind() + " -Dbench.floor.redis=" + redisUri.replaceFirst("^redis://", ""));
            case TETHER, TETHER_ASYNC, TETHER_SHARED -> node.addLib(o.tetherJar);
            case REDISSON, REDISSON_REDIS -> {
                o.redissonJars.forEach(node::addLib);
                Files.writeString(node.base().resolve("conf/redisson.yaml"), """
                        singleServerConfig:
                          address: "%s"
                        """.formatted(redisUri));
            }
            case MEMORY -> {
            }
        }
        String manager = manager(v, redisUri, node.base().resolve("conf/redisson.yaml").toString());
        node.contextXml("bench", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false"/>
                  %s
                </Context>
                """.formatted(manager));
        return node;
    }

    /**
     * Jetty: set up as an administrator would ({@code tar xzf} the Tether module archive for the
     * Tether variant, {@code start.jar --add-modules=...}, {@code start.d/*.ini} edits), {@code bench.war}
     * deployed to ee10.
     */
    private static JettyNode jetty(Options o, Variant v, String route, Path workDir, String redisUri) throws IOException {
        String name = v.id + "-" + route;
        JettyNode node = JettyNode.create(name, o.jettyHome, workDir.resolve(name), route);
        if (v.impl == Variant.Impl.TETHER) {
            node.unpack(o.jettyArchive);
            node.addModules("http", "ee10-deploy", "ee10-jsp", "sessions", "session-store-redis");
            node.useRedis(redisUri);
        } else {
            node.addModules("http", "ee10-deploy", "ee10-jsp", "sessions");
        }
        Files.createDirectories(node.base().resolve("webapps"));
        Files.copy(o.war, node.base().resolve("webapps/bench.war"));
        Files.writeString(node.base().resolve("webapps/bench.properties"), "environment=ee10\n");
        node.jvmOptions(o.jvmOpts);
        return node;
    }

    /** Starts the node, waits until bench.war answers, and says how long that took. */
    static void start(ServerNode node) {
        long t0 = System.nanoTime();
        node.start();
        Log.info("  %s up on port %d (pid %d) in %.1f s", node.name(), node.port(), node.pid(), (System.nanoTime() - t0) / 1e9);
    }

    /** The Manager line of a Tomcat variant, as the report shows it. */
    static String managerFor(Variant v) {
        String m = manager(v, "redis://127.0.0.1:PORT", ".../redisson.yaml");
        return switch (v.impl) {
            case MEMORY -> "(none: StandardManager, the default)";
            case FLOOR_LETTUCE, FLOOR_SOCKET -> "(none: StandardManager) + -Dbench.floor=" + v.floorKind()
                    + " -Dbench.floor.redis=127.0.0.1:PORT: the bench servlet SETs the counter in Redis on each write and waits for the answer";
            case REDISSON, REDISSON_REDIS -> m + " + redisson.yaml singleServerConfig.address";
            default -> m;
        } + (v.isBalanced() ? "; two nodes (jvmRoute node1, node2) behind HAProxy, " + v.balance.label : "");
    }

    /** The Manager element of a Tomcat variant's context.xml (a comment where Tomcat's default is kept). */
    private static String manager(Variant v, String redisUri, String redissonYaml) {
        String tether = "<Manager className=\"dev.tether.tomcat.RedisSessionManager\" redisUri=\"" + redisUri + "\"";
        String redisson = "<Manager className=\"org.redisson.tomcat.RedissonSessionManager\" configPath=\"" + redissonYaml + "\"";
        return switch (v.impl) {
            case MEMORY -> "<!-- StandardManager, Tomcat's default -->";
            case FLOOR_LETTUCE, FLOOR_SOCKET -> "<!-- StandardManager; the bench servlet makes one Redis round trip per write -->";
            case TETHER -> tether + "/>";
            case TETHER_ASYNC -> tether + " asyncWrites=\"true\"/>";
            case TETHER_SHARED -> tether + " mode=\"shared\"/>";
            // MEMORY: each node serves from its own copy, which needs a sticky balancer; REDIS: every read goes
            // to Redis, Redisson's mode for balancers without affinity.
            case REDISSON -> redisson + " readMode=\"MEMORY\" updateMode=\"AFTER_REQUEST\"/>";
            case REDISSON_REDIS -> redisson + " readMode=\"REDIS\" updateMode=\"AFTER_REQUEST\"/>";
        };
    }

    /** The set-up of a Jetty variant, as the report shows it. */
    static String setupFor(Variant v) {
        return v.impl == Variant.Impl.TETHER
                ? "tether module archive unpacked; --add-modules=http,ee10-deploy,ee10-jsp,sessions,session-store-redis; jetty.session.redis.redisUri set"
                : "--add-modules=http,ee10-deploy,ee10-jsp,sessions (default in-memory session cache, no store)";
    }
}
