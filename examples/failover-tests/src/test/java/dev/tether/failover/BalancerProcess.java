package dev.tether.failover;

import dev.tether.testkit.Await;
import dev.tether.testkit.Dirs;
import dev.tether.testkit.Ports;
import dev.tether.testkit.Processes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A balancer daemon run in the foreground as a child of the test JVM: its configuration rendered
 * from {@code examples/balancers/} into {@code runDir}, where it also keeps its pid file, logs and
 * temporary files. {@link #close()} stops it (SIGTERM, then SIGKILL); should the test JVM stop
 * early, it is killed with the JVM's other children, and the next start kills a daemon a killed
 * test JVM left behind (its pid is kept in {@code runDir/daemon.pid}).
 */
final class BalancerProcess implements AutoCloseable {

    final Balancer balancer;
    final Path runDir;
    final Path config;
    final int port;
    private final Path log;
    private Process process;

    private final int node1Port;
    private final int node2Port;

    private BalancerProcess(Balancer balancer, Path runDir, Path config, int port, Path log, int node1Port, int node2Port) {
        this.node1Port = node1Port;
        this.node2Port = node2Port;
        this.balancer = balancer;
        this.runDir = runDir;
        this.config = config;
        this.port = port;
        this.log = log;
    }

    /** Renders the configuration for these node ports and starts the daemon on a free port. */
    static BalancerProcess start(Balancer balancer, Path runDir, int node1Port, int node2Port) throws IOException {
        killLeftover(runDir);
        IOException last = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            Dirs.delete(runDir);
            Files.createDirectories(runDir);
            int port = Ports.free();
            Map<String, String> values = balancer.values(port, node1Port, node2Port, runDir);
            String name = Path.of(balancer.template).getFileName().toString();
            Path config = Templates.renderTo(balancer.template, values, runDir.resolve(name));
            BalancerProcess p = new BalancerProcess(balancer, runDir, config, port, runDir.resolve("console.log"), node1Port,
                    node2Port);
            try {
                p.launch();
                return p;
            } catch (IOException e) {
                p.close();
                last = e;
                if (!p.output().contains("in use")) {
                    throw e;
                }
                // another program took the port meanwhile: try another one
            }
        }
        throw last;
    }

    private void launch() throws IOException {
        List<String> command = balancer.command(config, runDir, port, node1Port, node2Port);
        Files.writeString(log, "$ " + String.join(" ", command) + "\n");
        process = Processes.start(new ProcessBuilder(command).directory(runDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())));
        Files.writeString(runDir.resolve("daemon.pid"), Long.toString(process.pid()));
        Process p = process;
        boolean listening = Await.within(Duration.ofSeconds(20), () -> !p.isAlive() || Ports.isOpen(port));
        if (!p.isAlive()) {
            throw new IOException(balancer.label + " exited at start (exit " + p.exitValue() + "):\n" + output());
        }
        if (!listening) {
            throw new IOException(balancer.label + " did not listen on port " + port + " within 20 s:\n" + output());
        }
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** The daemon's console output and error log (where the configuration puts one). */
    String output() {
        StringBuilder out = new StringBuilder();
        for (String file : List.of("console.log", "error.log")) {
            Path f = runDir.resolve(file);
            try {
                if (Files.exists(f)) {
                    List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                    out.append("--- ").append(f).append(" (last 40 lines)\n");
                    lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(l -> out.append(l).append('\n'));
                }
            } catch (IOException | RuntimeException e) {
                out.append("(cannot read ").append(f).append(": ").append(e).append(")\n");
            }
        }
        return out.toString();
    }

    @Override
    public synchronized void close() {
        Process p = process;
        if (p == null) {
            return;
        }
        process = null;
        Processes.stop(p, Duration.ofSeconds(10));
        try {
            Files.deleteIfExists(runDir.resolve("daemon.pid"));
            Files.writeString(log, "==== stopped by the test\n", StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // diagnostics only
        }
    }

    /** A daemon a previous, killed test JVM left running in this directory. */
    private static void killLeftover(Path runDir) {
        Path pidFile = runDir.resolve("daemon.pid");
        try {
            if (!Files.exists(pidFile)) {
                return;
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            ProcessHandle.of(pid).ifPresent(h -> {
                String cmd = h.info().commandLine().orElse("");
                if (cmd.contains(runDir.toString())) {
                    h.descendants().forEach(ProcessHandle::destroyForcibly);
                    h.destroyForcibly();
                }
            });
        } catch (IOException | RuntimeException ignored) {
            // best effort
        }
    }

    @Override
    public String toString() {
        return balancer.label + " on " + baseUrl() + " (config " + config + ")";
    }
}
