package dev.tether.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real Tomcat from the unpacked distribution ({@code CATALINA_HOME}) with a CATALINA_BASE of its
 * own: the home's {@code conf/}, a server.xml with a free port, no shutdown port and
 * {@code jvmRoute=<name>}, {@code bench.war} in {@code webapps/}, and the variant's session
 * manager in {@code conf/Catalina/localhost/bench.xml}. Run as {@code catalina.sh run}, which
 * {@code exec}s the JVM.
 */
final class TomcatNode extends Node {

    private final Path home;
    private final String jvmOpts;

    private TomcatNode(String name, Path home, Path base, int port, String jvmOpts) {
        super(name, base, port, base.resolve("logs/console.log"));
        this.home = home;
        this.jvmOpts = jvmOpts;
    }

    static TomcatNode create(Options o, Variant variant, String route, Path workDir, String redisUri) throws IOException {
        Path base = workDir.resolve(variant.id + "-" + route);
        deleteTree(base);
        for (String d : List.of("conf/Catalina/localhost", "lib", "logs", "temp", "work", "webapps")) {
            Files.createDirectories(base.resolve(d));
        }
        copyDirFiles(o.tomcatHome.resolve("conf"), base.resolve("conf"));
        int port = Ports.free();
        Files.writeString(base.resolve("conf/server.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <Server port="-1" shutdown="SHUTDOWN">
                  <Service name="Catalina">
                    <Connector port="%d" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"/>
                    <Engine name="Catalina" defaultHost="localhost" jvmRoute="%s">
                      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
                    </Engine>
                  </Service>
                </Server>
                """.formatted(port, route));
        Files.copy(o.war, base.resolve("webapps/bench.war"));
        String manager;
        String jvmOpts = o.jvmOpts;
        switch (variant.impl) {
            case MEMORY -> manager = "<!-- StandardManager, Tomcat's default -->";
            case FLOOR_LETTUCE, FLOOR_SOCKET -> {
                manager = "<!-- StandardManager; the bench servlet makes one Redis round trip per write -->";
                jvmOpts += " -Dbench.floor=" + variant.floorKind()
                        + " -Dbench.floor.redis=" + redisUri.replaceFirst("^redis://", "");
            }
            case TETHER -> {
                Files.copy(o.tetherJar, base.resolve("lib").resolve(o.tetherJar.getFileName()));
                manager = "<Manager className=\"dev.tether.tomcat.RedisSessionManager\" redisUri=\"" + redisUri + "\"/>";
            }
            case REDISSON -> {
                for (Path jar : o.redissonJars) {
                    Files.copy(jar, base.resolve("lib").resolve(jar.getFileName()));
                }
                Path yaml = base.resolve("conf/redisson.yaml");
                Files.writeString(yaml, """
                        singleServerConfig:
                          address: "%s"
                        """.formatted(redisUri));
                manager = "<Manager className=\"org.redisson.tomcat.RedissonSessionManager\" configPath=\"" + yaml
                        + "\" readMode=\"MEMORY\" updateMode=\"AFTER_REQUEST\"/>";
            }
            default -> throw new IllegalStateException();
        }
        Files.writeString(base.resolve("conf/Catalina/localhost/bench.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false"/>
                  %s
                </Context>
                """.formatted(manager));
        return new TomcatNode(variant.id + "-" + route, o.tomcatHome, base, port, jvmOpts);
    }

    /** The Manager line of a variant, as the report shows it. */
    static String managerFor(Variant v) {
        return switch (v.impl) {
            case MEMORY -> "(none: StandardManager, the default)";
            case FLOOR_LETTUCE, FLOOR_SOCKET -> "(none: StandardManager) + -Dbench.floor=" + v.floorKind()
                    + " -Dbench.floor.redis=127.0.0.1:PORT: the bench servlet SETs the counter in Redis on each write and waits for the answer";
            case TETHER -> "<Manager className=\"dev.tether.tomcat.RedisSessionManager\" redisUri=\"redis://127.0.0.1:PORT\"/>";
            case REDISSON -> "<Manager className=\"org.redisson.tomcat.RedissonSessionManager\" configPath=\".../redisson.yaml\""
                    + " readMode=\"MEMORY\" updateMode=\"AFTER_REQUEST\"/> + redisson.yaml singleServerConfig.address";
        };
    }

    @Override
    protected ProcessBuilder command() {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", home.resolve("bin/catalina.sh").toString(), "run").directory(base.toFile());
        pb.environment().put("CATALINA_HOME", home.toString());
        pb.environment().put("CATALINA_BASE", base.toString());
        pb.environment().put("CATALINA_TMPDIR", base.resolve("temp").toString());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("CATALINA_OPTS", jvmOpts);
        return pb;
    }
}
