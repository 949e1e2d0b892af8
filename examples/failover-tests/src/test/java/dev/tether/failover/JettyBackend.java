package dev.tether.failover;

import dev.tether.testkit.Dirs;
import dev.tether.testkit.JettyNode;
import dev.tether.testkit.ServerNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
    private final List<ServerNode> nodes = new ArrayList<>();

    JettyBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws IOException {
        this(work, redisUri, accounts, null);
    }

    /** With {@code jetty.session.redis.mode} set ({@code sticky} or {@code shared}; null: the default). */
    JettyBackend(Path work, String redisUri, List<ShopUser.Account> accounts, String mode) throws IOException {
        Path home = Dirs.fromProperty("tether.jetty.home");
        Path archive = Dirs.fromProperty("tether.jetty.module.archive");
        Path war = Dirs.fromProperty("tether.shop.war");
        StringBuilder realm = new StringBuilder();
        for (ShopUser.Account a : accounts) {
            realm.append(a.name()).append(": ").append(a.password()).append(",shopper\n");
        }
        for (String name : List.of("node1", "node2")) {
            // Shared mode: every node the same workerName, so that Jetty's ids carry one suffix whichever node
            // serves them and Jetty never re-suffixes a cookie (it does when the suffix names another node).
            String worker = "shared".equals(mode) ? "shared" : name;
            JettyNode node = JettyNode.create(name, home, work.resolve(name), worker);
            node.addJvmOptions("-DjvmRoute=" + name); // the shop names the node in its answers (Jetty's ids name the workerName)
            Map<String, String> values = Map.of("WORKER_NAME", worker, "REDIS_URI", redisUri, "HTTP_PORT", Integer.toString(node.port()));
            node.unpack(archive);
            copyTemplates(node, values, false); // the shop-realm module must exist before --add-modules
            node.addModules("http", "ee10-deploy", "session-store-redis", "shop-realm");
            node.useRedis(redisUri);
            copyTemplates(node, values, true);
            if (mode != null) {
                node.setIni("session-store-redis.ini", "jetty.session.redis.mode", mode);
            }
            Files.writeString(node.base().resolve("etc/shop-realm.properties"), realm.toString(), StandardOpenOption.APPEND);
            Files.createDirectories(node.base().resolve("webapps"));
            Files.copy(war, node.base().resolve("webapps/shop.war"), StandardCopyOption.REPLACE_EXISTING);
            // an existing $JETTY_BASE/work is where Jetty unpacks the WAR (not /tmp)
            Files.createDirectories(node.base().resolve("work"));
            node.readyWhen("/shop/login.html", null);
            node.readyWhenLogged("Tether: connected to Redis at", 1);
            nodes.add(node);
        }
        ServerNode.startAll(nodes.toArray(ServerNode[]::new));
    }

    /**
     * Renders the files of {@code examples/balancers/jetty/jetty-base/} into the base. Before
     * {@code --add-modules}: everything but {@code start.d/}. After it: the {@code start.d/*.ini}
     * snippets, set key by key the way an administrator edits those files.
     */
    private static void copyTemplates(JettyNode node, Map<String, String> values, boolean startD) {
        Path root = Templates.dir().resolve(BASE_TEMPLATES);
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String rel = root.relativize(f).toString().replace('\\', '/');
                if (rel.startsWith("start.d/") != startD || rel.endsWith("README.md")) {
                    continue;
                }
                String rendered = Templates.render(BASE_TEMPLATES + "/" + rel, values);
                if (startD) {
                    for (String line : rendered.split("\\R")) {
                        String t = line.trim();
                        if (!t.isEmpty() && !t.startsWith("#") && !t.startsWith("--") && t.contains("=")) {
                            node.setIni(rel.substring("start.d/".length()), t.substring(0, t.indexOf('=')).trim(),
                                    t.substring(t.indexOf('=') + 1));
                        }
                    }
                } else {
                    Path target = node.base().resolve(rel);
                    Files.createDirectories(target.getParent());
                    Files.writeString(target, rendered);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String label() {
        return "Jetty 12.1";
    }

    @Override
    public List<ServerNode> nodes() {
        return nodes;
    }
}
