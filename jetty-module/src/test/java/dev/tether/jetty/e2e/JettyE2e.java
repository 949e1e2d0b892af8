package dev.tether.jetty.e2e;

import dev.tether.testkit.Dirs;
import dev.tether.testkit.JettyNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Setting up a real Jetty node the way the README tells an administrator, for the e2e tests. */
final class JettyE2e {

    private JettyE2e() {
    }

    /**
     * A node: the Tether archive unpacked, {@code --add-modules=http,ee10-deploy,ee8-deploy,
     * session-store-redis} and {@code extraModules}, the store pointed at {@code redisUri}; the test
     * applications {@code apps} (app10: ee10, app8: ee8) in {@code webapps/}. It is ready when every
     * application answers and has connected to Redis (Tether connects in the background and never
     * holds up a start).
     */
    static JettyNode node(String name, String workerName, Path home, Path work, String redisUri, List<String> apps,
            String... extraModules) {
        Path archive = Dirs.fromProperty("tether.jetty.module.archive");
        Path testClasses = Dirs.fromProperty("tether.test.classes");
        JettyNode node = JettyNode.create(name, home, work.resolve(name), workerName);
        node.unpack(archive);
        List<String> modules = new ArrayList<>(List.of("http", "ee10-deploy", "ee8-deploy", "session-store-redis"));
        modules.addAll(List.of(extraModules));
        node.addModules(modules.toArray(String[]::new));
        node.useRedis(redisUri);
        try {
            for (String app : apps) {
                Path webapp = node.base().resolve("webapps").resolve(app);
                Path classes = webapp.resolve("WEB-INF/classes/dev/tether/jetty/e2e").resolve(app);
                Files.createDirectories(classes);
                Files.copy(testClasses.resolve("e2e").resolve(app).resolve("WEB-INF/web.xml"), webapp.resolve("WEB-INF/web.xml"));
                Dirs.copy(testClasses.resolve("dev/tether/jetty/e2e").resolve(app), classes);
                // Jetty 12 deploys each directory into one environment, chosen by webapps/<name>.properties.
                Files.writeString(node.base().resolve("webapps").resolve(app + ".properties"),
                        "environment=" + (app.equals("app8") ? "ee8" : "ee10") + "\n");
                node.readyWhen("/" + app + "/s?op=ping", null);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        node.readyWhenLogged("Tether: connected to Redis at", apps.size());
        return node;
    }

    /** Where a test class's nodes live: {@code target/e2e-jetty/<label>}. */
    static Path work(String label) {
        return Dirs.fromProperty("tether.test.classes").getParent().resolve("e2e-jetty").resolve(label);
    }
}
