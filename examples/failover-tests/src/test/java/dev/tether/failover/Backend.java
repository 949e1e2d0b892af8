package dev.tether.failover;

import dev.tether.testkit.ServerNode;
import java.util.List;

/**
 * Two application server nodes behind the balancers, with the example shop deployed on both; a
 * node's route (jvmRoute / workerName) is its name.
 */
interface Backend extends AutoCloseable {

    String label();

    List<ServerNode> nodes();

    /** kill -9 of every node (best effort: a node may be dead already). */
    @Override
    default void close() {
        ServerNode.killAll(nodes().toArray(ServerNode[]::new));
    }
}
