package dev.tether.failover;

import dev.tether.testkit.Dirs;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Two Apache Tomcat nodes (the real distribution), each with the shaded Tether jar for that Tomcat
 * in {@code lib/}, {@code conf/server.xml} rendered from {@code examples/balancers/tomcat/server.xml}
 * (jvmRoute node1 / node2), the shop WAR as {@code webapps/shop.war} and
 * {@code conf/Catalina/localhost/shop.xml} rendered from {@code examples/balancers/tomcat/shop.xml}.
 * Tomcat 10.1 runs tether-tomcat and the jakarta shop, Tomcat 9 tether-tomcat9 and the javax shop.
 */
final class TomcatBackend implements Backend {

    private final String label;
    private final List<ServerNode> nodes = new ArrayList<>();

    /** Tomcat 10.1 (jakarta.servlet). */
    static TomcatBackend tomcat10(Path work, String redisUri, List<ShopUser.Account> accounts) {
        return tomcat10(work, redisUri, accounts, "");
    }

    /** Tomcat 10.1 with more attributes on the shop's {@code <Manager>} (such as {@code asyncWrites="true"}). */
    static TomcatBackend tomcat10(Path work, String redisUri, List<ShopUser.Account> accounts, String managerAttributes) {
        return new TomcatBackend("10.1", work, redisUri, accounts, Dirs.fromProperty("tether.tomcat.home"),
                Dirs.fromProperty("tether.tomcat.jar"), Dirs.fromProperty("tether.shop.war"), managerAttributes);
    }

    /** Tomcat 9 (javax.servlet): the jar and the WAR generated for it. */
    static TomcatBackend tomcat9(Path work, String redisUri, List<ShopUser.Account> accounts) {
        return new TomcatBackend("9.0", work, redisUri, accounts, Dirs.fromProperty("tether.tomcat9.home"),
                Dirs.fromProperty("tether.tomcat9.jar"), Dirs.fromProperty("tether.shop.javax.war"), "");
    }

    private TomcatBackend(String version, Path work, String redisUri, List<ShopUser.Account> accounts, Path home, Path jar, Path war,
            String managerAttributes) {
        this.label = "Tomcat " + version;
        StringBuilder users = new StringBuilder("""
                <?xml version="1.0" encoding="UTF-8"?>
                <tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">
                  <role rolename="shopper"/>
                """);
        for (ShopUser.Account a : accounts) {
            users.append("  <user username=\"").append(a.name()).append("\" password=\"").append(a.password())
                    .append("\" roles=\"shopper\"/>\n");
        }
        users.append("</tomcat-users>\n");
        for (String name : List.of("node1", "node2")) {
            TomcatNode node = TomcatNode.create(name, home, work.resolve(name), name);
            node.serverXml(Templates.render("tomcat/server.xml",
                    Map.of("HTTP_PORT", Integer.toString(node.port()), "JVM_ROUTE", node.jvmRoute())));
            node.users(users.toString());
            node.addLib(jar);
            node.deploy("shop", war);
            String shopXml = Templates.render("tomcat/shop.xml", Map.of("REDIS_URI", redisUri));
            if (!managerAttributes.isBlank()) {
                shopXml = shopXml.replace("redisUri=\"" + redisUri + "\"", "redisUri=\"" + redisUri + "\" " + managerAttributes.trim());
            }
            node.contextXml("shop", shopXml);
            node.readyWhen("/shop/login.html", "j_security_check");
            nodes.add(node);
        }
        ServerNode.startAll(nodes.toArray(ServerNode[]::new));
        for (ServerNode n : nodes) {
            if (!n.logContains("Apache Tomcat/" + version + ".")) {
                close();
                throw new IllegalStateException(n.name() + " does not run Tomcat " + version + ":\n" + n.tail(40));
            }
        }
    }

    @Override
    public String label() {
        return label;
    }

    @Override
    public List<ServerNode> nodes() {
        return nodes;
    }
}
