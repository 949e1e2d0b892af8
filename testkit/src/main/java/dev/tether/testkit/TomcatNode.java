package dev.tether.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * One real Tomcat from an unpacked distribution ({@code CATALINA_HOME}) with a {@code CATALINA_BASE}
 * of its own: the home's {@code conf/}, a {@code server.xml} with the node's free port on 127.0.0.1,
 * no shutdown port and its {@code jvmRoute}, and whatever the caller adds before {@link #start()}:
 * jars in {@code lib/} (the shaded Tether jar), users, web applications and context files. It runs
 * on the JDK of {@link #javaHome()}.
 *
 * <p>Run as {@code catalina.sh run}, which {@code exec}s the JVM, so the process held is the
 * Tomcat JVM itself and {@link #kill9()} is a real {@code kill -9}.
 */
public final class TomcatNode extends ServerNode {

    private final Path home;
    private final String jvmRoute;

    private TomcatNode(String name, Path home, Path base, int port, String jvmRoute) {
        super(name, base, port, base.resolve("logs/console.log"));
        this.home = home;
        this.jvmRoute = jvmRoute;
    }

    /**
     * Lays out a fresh {@code CATALINA_BASE} in {@code base}. Its {@code server.xml} has an HTTP
     * connector on 127.0.0.1 and the node's port, {@code jvmRoute}, a realm over
     * {@code conf/tomcat-users.xml}, and a host that deploys {@code webapps/} without unpacking WARs.
     */
    public static TomcatNode create(String name, Path home, Path base, String jvmRoute) {
        if (!Files.isRegularFile(home.resolve("bin/catalina.sh"))) {
            throw new IllegalStateException("not a Tomcat distribution: " + home);
        }
        Dirs.fresh(base);
        try {
            for (String dir : List.of("conf/Catalina/localhost", "lib", "logs", "temp", "work", "webapps")) {
                Files.createDirectories(base.resolve(dir));
            }
            try (Stream<Path> conf = Files.list(home.resolve("conf"))) {
                for (Path f : conf.filter(Files::isRegularFile).toList()) {
                    Files.copy(f, base.resolve("conf").resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        TomcatNode node = new TomcatNode(name, home, base, Ports.free(), jvmRoute);
        node.serverXml("""
                <?xml version="1.0" encoding="UTF-8"?>
                <Server port="-1" shutdown="SHUTDOWN">
                  <Listener className="org.apache.catalina.startup.VersionLoggerListener"/>
                  <GlobalNamingResources>
                    <Resource name="UserDatabase" auth="Container" type="org.apache.catalina.UserDatabase"
                              factory="org.apache.catalina.users.MemoryUserDatabaseFactory"
                              pathname="conf/tomcat-users.xml"/>
                  </GlobalNamingResources>
                  <Service name="Catalina">
                    <Connector port="%d" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"/>
                    <Engine name="Catalina" defaultHost="localhost" jvmRoute="%s">
                      <Realm className="org.apache.catalina.realm.LockOutRealm">
                        <Realm className="org.apache.catalina.realm.UserDatabaseRealm" resourceName="UserDatabase"/>
                      </Realm>
                      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
                    </Engine>
                  </Service>
                </Server>
                """.formatted(node.port(), jvmRoute));
        return node;
    }

    /** The Engine's jvmRoute: the suffix of the session ids this node creates. */
    public String jvmRoute() {
        return jvmRoute;
    }

    /** Replaces {@code conf/server.xml} (which must keep the node's {@link #port()} and {@link #jvmRoute()}). */
    public void serverXml(String xml) {
        write(base().resolve("conf/server.xml"), xml);
    }

    /** Rewrites {@code conf/server.xml} (e.g. connector attributes). */
    public void editServerXml(UnaryOperator<String> edit) {
        Path file = base().resolve("conf/server.xml");
        try {
            write(file, edit.apply(Files.readString(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces {@code conf/tomcat-users.xml}. */
    public void users(String tomcatUsersXml) {
        write(base().resolve("conf/tomcat-users.xml"), tomcatUsersXml);
    }

    /** Copies a jar into {@code lib/}, where Tomcat's common class loader finds it (the shaded Tether jar). */
    public void addLib(Path jar) {
        try {
            Files.copy(jar, base().resolve("lib").resolve(jar.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deploys a {@code .war} file or an exploded directory as {@code webapps/<contextName>}. */
    public void deploy(String contextName, Path source) {
        Path webapps = base().resolve("webapps");
        if (Files.isDirectory(source)) {
            Dirs.copy(source, webapps.resolve(contextName));
        } else if (Files.isRegularFile(source)) {
            try {
                Files.copy(source, webapps.resolve(contextName + ".war"), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else {
            throw new IllegalStateException("no web application at " + source);
        }
    }

    /** Writes the context's descriptor {@code conf/Catalina/localhost/<contextName>.xml} (e.g. its Manager). */
    public void contextXml(String contextName, String xml) {
        write(base().resolve("conf/Catalina/localhost").resolve(contextName + ".xml"), xml);
    }

    /**
     * What Tomcat logged to files other than the console: {@code localhost.*.log} is where exceptions
     * thrown out of servlets and filters go (Tomcat's default logging.properties).
     */
    public String localhostLogs() {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.list(base().resolve("logs"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("localhost.")).sorted().toList()) {
                sb.append(Files.readString(f, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sb.toString();
    }

    @Override
    ProcessBuilder launchCommand() {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", home.resolve("bin/catalina.sh").toString(), "run").directory(base().toFile());
        pb.environment().put("CATALINA_HOME", home.toString());
        pb.environment().put("CATALINA_BASE", base().toString());
        pb.environment().put("CATALINA_TMPDIR", base().resolve("temp").toString());
        pb.environment().put("JAVA_HOME", javaHome().toString());
        pb.environment().put("CATALINA_OPTS", launchJvmOptions());
        return pb;
    }
}
