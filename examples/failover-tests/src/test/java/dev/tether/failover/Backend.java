package dev.tether.failover;

import java.util.List;

/** Two application server nodes behind the balancers, with the example shop deployed on both. */
interface Backend extends AutoCloseable {

    /** One node: its route (jvmRoute / workerName) is its name. */
    interface Node {
        String name();

        int port();

        boolean isAlive();

        /** kill -9 of the node's JVM. */
        void kill9() throws Exception;

        /** Starts the node again (same port and configuration, empty memory) and waits until it serves the shop. */
        void start() throws Exception;

        /** The end of the node's log, for failure reports. */
        String tail(int lines);
    }

    String label();

    List<Node> nodes();

    default Node node(String name) {
        return nodes().stream().filter(n -> n.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no node " + name));
    }

    default Node byPort(int port) {
        return nodes().stream().filter(n -> n.port() == port).findFirst().orElse(null);
    }

    /** kill -9 of every node (best effort: a node may be dead already). */
    @Override
    default void close() {
        for (Node n : nodes()) {
            try {
                n.kill9();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }
}
