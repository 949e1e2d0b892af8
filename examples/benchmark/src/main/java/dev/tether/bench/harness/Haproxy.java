package dev.tether.bench.harness;

import dev.tether.testkit.Await;
import dev.tether.testkit.Ports;
import dev.tether.testkit.Processes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A real HAProxy in front of a two-node variant, in the foreground as a child of the harness. Sticky:
 * the route after the first dot of JSESSIONID names the server (as in examples/balancers/haproxy);
 * round-robin: {@code balance roundrobin} and nothing else, so a session's requests alternate.
 */
final class Haproxy implements AutoCloseable {

    private final Process process;
    final int port;
    final Path config;

    private Haproxy(Process process, int port, Path config) {
        this.process = process;
        this.port = port;
        this.config = config;
    }

    static Haproxy start(Path binary, Variant.Balance balance, int node1Port, int node2Port, Path dir) throws IOException {
        Files.createDirectories(dir);
        int port = Ports.free();
        Path config = dir.resolve("haproxy.cfg");
        Files.writeString(config, config(balance, port, node1Port, node2Port));
        Process p = Processes.start(new ProcessBuilder(binary.toString(), "-db", "-f", config.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("haproxy.log").toFile()));
        Haproxy h = new Haproxy(p, port, config);
        if (!Await.within(Duration.ofSeconds(10), () -> !p.isAlive() || Ports.isOpen(port)) || !p.isAlive()) {
            h.close();
            throw new IllegalStateException("haproxy did not start; see " + dir.resolve("haproxy.log"));
        }
        return h;
    }

    /** One thread (a fair share of 2 cores next to wrk, Redis and two servers); keep-alive both sides. */
    static String config(Variant.Balance balance, int port, int node1Port, int node2Port) {
        String sticky = balance == Variant.Balance.STICKY ? """
                    http-request set-var(txn.route) req.cook(JSESSIONID),field(2,.) if { req.cook(JSESSIONID) -m found }
                    use-server %[var(txn.route)] if { var(txn.route) -m found }
                """ : "";
        return """
                global
                    maxconn 2000
                    nbthread 1
                defaults
                    mode http
                    timeout connect 2s
                    timeout client 60s
                    timeout server 60s
                frontend bench
                    bind 127.0.0.1:%d
                    default_backend nodes
                backend nodes
                    balance roundrobin
                %s    server node1 127.0.0.1:%d
                    server node2 127.0.0.1:%d
                """.formatted(port, sticky, node1Port, node2Port);
    }

    @Override
    public void close() {
        Processes.kill9(process);
    }
}
