package dev.tether.failover;

import dev.tether.jetty.e2e.JettyNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * Two nodes of the real Jetty 12.1 distribution, each with its own {@code $JETTY_BASE}: the Tether
 * module archive unpacked, {@code --add-modules=http,ee10-deploy,session-store-redis,shop-realm},
 * and the files of {@code examples/balancers/jetty/jetty-base/} rendered into it (workerName
 * node1 / node2, the Redis URI, the shop's login realm), the shop WAR as {@code webapps/shop.war}
 * in the ee10 environment.
 */
final class JettyBackend implements Backend {

    private static final String BASE_TEMPLATES = "jetty/jetty-base";
    private final List<Node> nodes = new ArrayList<>();

    JettyBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws Exception {
        Path home = FailoverTraffic.requiredPath("tether.jetty.home");
        Path archive = FailoverTraffic.requiredPath("tether.jetty.module.archive");
        Path war = FailoverTraffic.requiredPath("tether.shop.war");
        StringBuilder realm = new StringBuilder();
        for (ShopUser.Account a : accounts) {
            realm.append(a.name()).append(": ").append(a.password()).append(",shopper\n");
        }
        for (String name : List.of("node1", "node2")) {
            int port = FailoverTraffic.freePort();
            Map<String, String> values = Map.of("WORKER_NAME", name, "REDIS_URI", redisUri, "HTTP_PORT", Integer.toString(port));
            JettyNode.Setup setup = new JettyNode.Setup(
                    List.of("http", "ee10-deploy", "session-store-redis", "shop-realm"),
                    base -> copyTemplates(base, values, false),
                    base -> {
                        copyTemplates(base, values, true);
                        Files.writeString(base.resolve("etc/shop-realm.properties"), realm.toString(), StandardOpenOption.APPEND);
                        Files.createDirectories(base.resolve("webapps"));
                        Files.copy(war, base.resolve("webapps/shop.war"), StandardCopyOption.REPLACE_EXISTING);
                        // an existing $JETTY_BASE/work is where Jetty unpacks the WAR (not /tmp)
                        Files.createDirectories(base.resolve("work"));
                    },
                    List.of("/shop/login.html"), 1);
            nodes.add(new JettyAdapter(JettyNode.create(name, home, work.resolve(name), port, name, redisUri, archive, setup)));
        }
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

    /**
     * Renders the files of {@code examples/balancers/jetty/jetty-base/} into the base. Before
     * {@code --add-modules}: everything but {@code start.d/} (the shop-realm module must exist by
     * then). After it: the {@code start.d/*.ini} snippets, merged the way an administrator edits
     * those files: each {@code key=value} replaces the line setting that key, or is appended.
     */
    private static void copyTemplates(Path base, Map<String, String> values, boolean startD) throws IOException {
        Path root = Templates.dir().resolve(BASE_TEMPLATES);
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String rel = root.relativize(f).toString().replace('\\', '/');
                if (rel.startsWith("start.d/") != startD || rel.endsWith("README.md")) {
                    continue;
                }
                Path target = base.resolve(rel);
                String rendered = Templates.render(BASE_TEMPLATES + "/" + rel, values);
                if (startD && Files.exists(target)) {
                    Files.writeString(target, mergeIni(Files.readString(target), rendered));
                } else {
                    Files.createDirectories(target.getParent());
                    Files.writeString(target, rendered);
                }
            }
        }
    }

    static String mergeIni(String existing, String snippet) {
        List<String> lines = new ArrayList<>(List.of(existing.split("\\R", -1)));
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        for (String line : snippet.split("\\R")) {
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#") || t.startsWith("--") || !t.contains("=")) {
                continue;
            }
            String key = t.substring(0, t.indexOf('=')).trim();
            boolean replaced = false;
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i).trim();
                if (l.startsWith(key + "=") || l.startsWith(key + "?=")) {
                    lines.set(i, replaced ? "" : t);
                    replaced = true;
                }
            }
            if (!replaced) {
                lines.add(t);
            }
        }
        return String.join("\n", lines) + "\n";
    }

    @Override
    public String label() {
        return "Jetty 12.1";
    }

    @Override
    public List<Node> nodes() {
        return nodes;
    }

    private record JettyAdapter(JettyNode node) implements Node {
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
        public void kill9() throws InterruptedException {
            node.kill();
        }

        @Override
        public void start() throws Exception {
            node.start();
        }

        @Override
        public String tail(int lines) {
            return node.logTail(lines);
        }
    }
}
