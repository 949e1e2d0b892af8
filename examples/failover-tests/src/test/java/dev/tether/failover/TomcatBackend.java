package dev.tether.failover;

import dev.tether.tomcat.e2e.TomcatNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Two Apache Tomcat 10.1 nodes (the real distribution), each with the shaded Tether jar in
 * {@code lib/}, {@code conf/server.xml} rendered from {@code examples/balancers/tomcat/server.xml}
 * (jvmRoute node1 / node2), the shop WAR as {@code webapps/shop.war} and
 * {@code conf/Catalina/localhost/shop.xml} rendered from {@code examples/balancers/tomcat/shop.xml}.
 */
final class TomcatBackend implements Backend {

    private final List<Node> nodes = new ArrayList<>();

    TomcatBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws Exception {
        Path home = FailoverTraffic.requiredPath("tether.tomcat.home");
        Path jar = FailoverTraffic.requiredPath("tether.tomcat.jar");
        Path war = FailoverTraffic.requiredPath("tether.shop.war");
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
        String contextXml = Templates.render("tomcat/shop.xml", Map.of("REDIS_URI", redisUri));
        TomcatNode.Webapp shop = new TomcatNode.Webapp("shop", war, contextXml, "/shop/login.html", "j_security_check");
        for (String name : List.of("node1", "node2")) {
            TomcatNode node = TomcatNode.create(work, name, home, jar, users.toString(),
                    (port, route) -> Templates.render("tomcat/server.xml",
                            Map.of("HTTP_PORT", Integer.toString(port), "JVM_ROUTE", route)),
                    shop);
            nodes.add(new TomcatAdapter(node));
        }
        // Start both nodes in parallel: start-up dominates this test's run time.
        CompletableFuture<?>[] starts = nodes.stream().map(n -> CompletableFuture.runAsync(() -> {
            try {
                n.start();
            } catch (Exception e) {
                throw new IllegalStateException(n.name() + " did not start: " + e.getMessage(), e);
            }
        })).toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(starts).join();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public String label() {
        return "Tomcat 10.1";
    }

    @Override
    public List<Node> nodes() {
        return nodes;
    }

    private record TomcatAdapter(TomcatNode node) implements Node {
        @Override
        public String name() {
            return node.name();
        }

        @Override
        public int port() {
            return node.port();
        }

        @Override
        public boolean isAlive() {
            return node.isAlive();
        }

        @Override
        public void kill9() {
            node.kill9();
        }

        @Override
        public void start() throws Exception {
            node.start();
        }

        @Override
        public String tail(int lines) {
            return node.tail(lines);
        }
    }
}
