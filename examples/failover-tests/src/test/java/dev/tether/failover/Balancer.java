package dev.tether.failover;

import dev.tether.testkit.Processes;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The balancer configurations in {@code examples/balancers/} that the failover tests run, and how
 * to run each one in the foreground with its configuration and writable files under
 * {@code target/}.
 */
enum Balancer {

    HTTPD("httpd mod_proxy_balancer", "httpd/httpd.conf", Affinity.ROUTE_SUFFIX, false,
            List.of("apache2", "httpd"), "apt-get install apache2"),
    HAPROXY_ROUTE("HAProxy route", "haproxy/haproxy.cfg", Affinity.ROUTE_SUFFIX, true,
            List.of("haproxy"), "apt-get install haproxy"),
    NGINX_MAP("nginx map by suffix", "nginx/nginx.conf", Affinity.ROUTE_SUFFIX, true,
            List.of("nginx"), "apt-get install nginx-light"),
    NGINX_IP_HASH("nginx ip_hash", "nginx/nginx-ip-hash.conf", Affinity.CLIENT_IP, true,
            List.of("nginx"), "apt-get install nginx-light"),
    HAPROXY_COOKIE("HAProxy SERVERID insert", "haproxy/haproxy-cookie-insert.cfg", Affinity.SERVERID_COOKIE, true,
            List.of("haproxy"), "apt-get install haproxy"),
    // Without affinity to the session (NoAffinityScenarios): nodes run in shared mode behind them.
    NGINX_ROUND_ROBIN("nginx round robin", "nginx/nginx-round-robin.conf", Affinity.NONE, true,
            List.of("nginx"), "apt-get install nginx-light"),
    HAPROXY_ROUND_ROBIN("HAProxy roundrobin", "haproxy/haproxy-round-robin.cfg", Affinity.NONE, true,
            List.of("haproxy"), "apt-get install haproxy"),
    NODE_STICKY_SERVER("Node.js sticky_server", "node/sticky-server.js", Affinity.SERVER_INDEX_COOKIE, false,
            List.of("node", "nodejs"), "apt-get install nodejs");

    /** The configurations with an affinity that follows the session or the client (BalancerFailoverScenarios). */
    static final Set<Balancer> WITH_AFFINITY = EnumSet.range(HTTPD, HAPROXY_COOKIE);
    /** The ones that send one session's requests to several nodes, or pin a client to a server index (NoAffinityScenarios). */
    static final Set<Balancer> WITHOUT_AFFINITY = EnumSet.range(NGINX_ROUND_ROBIN, NODE_STICKY_SERVER);

    /** What the balancer's affinity follows. */
    enum Affinity {
        /** The route after the first dot of the session id: the id's suffix must move on failover. */
        ROUTE_SUFFIX,
        /** A cookie the balancer inserts (HAProxy SERVERID): names the node, not the session id. */
        SERVERID_COOKIE,
        /** The client address: every test user comes from 127.0.0.1, so all share one node. */
        CLIENT_IP,
        /** None: every request may go to another node (round robin). */
        NONE,
        /** A cookie the balancer sets to a server index (sticky_server=0): names a node, not the session. */
        SERVER_INDEX_COOKIE
    }

    private static final List<String> SBIN = List.of("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin");

    final String label;
    final String template;
    final Affinity affinity;
    /** Whether the configuration replays a request that was in flight on a node killed with kill -9. */
    final boolean replaysInFlight;
    private final List<String> binaryNames;
    final String installHint;

    Balancer(String label, String template, Affinity affinity, boolean replaysInFlight, List<String> binaryNames,
            String installHint) {
        this.label = label;
        this.template = template;
        this.affinity = affinity;
        this.replaysInFlight = replaysInFlight;
        this.binaryNames = binaryNames;
        this.installHint = installHint;
    }

    /** The daemon's binary: on the PATH or in the usual sbin directories (often not on a user's PATH). */
    Optional<Path> binary() {
        List<String> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(List.of(path.split(File.pathSeparator)));
        }
        dirs.addAll(SBIN);
        for (String name : binaryNames) {
            for (String dir : dirs) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path candidate = Path.of(dir, name);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    /** Why the scenario cannot run here (binary or httpd modules missing), or empty. */
    Optional<String> missing() {
        Optional<Path> bin = binary();
        if (bin.isEmpty()) {
            return Optional.of(binaryNames.get(0) + " not installed (" + installHint + ")");
        }
        if (this == HTTPD && httpdModulesDir().isEmpty()) {
            return Optional.of("httpd's mod_proxy_balancer.so not found in " + HTTPD_MODULE_DIRS + " (" + installHint + ")");
        }
        return Optional.empty();
    }

    private static final List<String> HTTPD_MODULE_DIRS = List.of("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules",
            "/usr/lib/httpd/modules", "/usr/local/apache2/modules");

    static Optional<Path> httpdModulesDir() {
        return HTTPD_MODULE_DIRS.stream().map(Path::of)
                .filter(d -> Files.isRegularFile(d.resolve("mod_proxy_balancer.so")))
                .findFirst();
    }

    /** The template's values for one run. */
    Map<String, String> values(int listenPort, int node1Port, int node2Port, Path runDir) throws IOException {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("LISTEN_PORT", Integer.toString(listenPort));
        v.put("NODE1_PORT", Integer.toString(node1Port));
        v.put("NODE2_PORT", Integer.toString(node2Port));
        v.put("RUN_DIR", runDir.toString());
        if (this == HTTPD) {
            v.put("MODULES_DIR", httpdModulesDir().orElseThrow().toString());
            String[] userGroup = httpdUserGroup();
            v.put("RUN_USER", userGroup[0]);
            v.put("RUN_GROUP", userGroup[1]);
        }
        return v;
    }

    /** The command that runs the daemon in the foreground (as a child of the test JVM). */
    List<String> command(Path config, Path runDir, int listenPort, int node1Port, int node2Port) {
        String bin = binary().orElseThrow().toString();
        return switch (this) {
            case HTTPD -> List.of(bin, "-f", config.toString(), "-DFOREGROUND");
            case HAPROXY_ROUTE, HAPROXY_COOKIE -> List.of(bin, "-db", "-f", config.toString());
            case NGINX_MAP, NGINX_IP_HASH, NGINX_ROUND_ROBIN -> List.of(bin, "-p", runDir.toString() + "/", "-c",
                    config.toString(), "-g", "daemon off;");
            case HAPROXY_ROUND_ROBIN -> List.of(bin, "-db", "-f", config.toString());
            // the script takes its settings as arguments: listen port, then host:port of each server
            case NODE_STICKY_SERVER -> List.of(bin, config.toString(), Integer.toString(listenPort),
                    "127.0.0.1:" + node1Port, "127.0.0.1:" + node2Port);
        };
    }

    /**
     * httpd switches its workers to User/Group when started as root (and refuses to run them as
     * root); otherwise the directives have no effect, so the current user is as good as any.
     */
    private static String[] httpdUserGroup() throws IOException {
        String user = Processes.run(null, Duration.ofSeconds(10), "id", "-un").trim();
        String group = Processes.run(null, Duration.ofSeconds(10), "id", "-gn").trim();
        if (!"root".equals(user)) {
            return new String[] {user, group};
        }
        for (String[] candidate : new String[][] {{"www-data", "www-data"}, {"apache", "apache"}, {"daemon", "daemon"},
                {"nobody", "nogroup"}}) {
            if (lineStartsWith(Path.of("/etc/passwd"), candidate[0] + ":") && lineStartsWith(Path.of("/etc/group"), candidate[1] + ":")) {
                return candidate;
            }
        }
        return new String[] {"nobody", "nobody"};
    }

    private static boolean lineStartsWith(Path file, String prefix) throws IOException {
        return Files.exists(file) && Files.readAllLines(file).stream().anyMatch(l -> l.startsWith(prefix));
    }
}
