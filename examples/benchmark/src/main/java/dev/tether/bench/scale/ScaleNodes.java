package dev.tether.bench.scale;

import dev.tether.testkit.TomcatNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tomcat 10.1 nodes with Tether, bench.war at {@value #CONTEXT}, and a MemoryRealm of users
 * {@code u0..u<n-1>} (password = name) so that ScaleServlet can log each session in.
 */
final class ScaleNodes {

    static final String CONTEXT = "/bench";

    private ScaleNodes() {
    }

    static TomcatNode tomcat(ScaleOptions o, String route, Path dir, String redisUri, String jvmOpts, int users) throws IOException {
        String name = "scale-" + route;
        TomcatNode node = TomcatNode.create(name, o.tomcatHome, dir.resolve(name), route);
        node.serverXml("""
                <?xml version="1.0" encoding="UTF-8"?>
                <Server port="-1" shutdown="SHUTDOWN">
                  <Service name="Catalina">
                    <Connector port="%d" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"/>
                    <Engine name="Catalina" defaultHost="localhost" jvmRoute="%s">
                      <Realm className="org.apache.catalina.realm.MemoryRealm" pathname="conf/scale-users.xml"/>
                      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
                    </Engine>
                  </Service>
                </Server>
                """.formatted(node.port(), route));
        writeUsers(node.base().resolve("conf/scale-users.xml"), users);
        node.deploy("bench", o.war);
        node.jvmOptions(jvmOpts);
        node.addLib(o.tetherJar);
        node.contextXml("bench", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s"/>
                </Context>
                """.formatted(redisUri));
        node.readyWhen(CONTEXT + "/b/ping", null);
        return node;
    }

    static String user(int i) {
        return "u" + i;
    }

    private static void writeUsers(Path file, int users) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file)) {
            w.write("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tomcat-users>\n");
            for (int i = 0; i < users; i++) {
                w.write("  <user username=\"" + user(i) + "\" password=\"" + user(i) + "\" roles=\"user\"/>\n");
            }
            w.write("</tomcat-users>\n");
        }
    }
}
