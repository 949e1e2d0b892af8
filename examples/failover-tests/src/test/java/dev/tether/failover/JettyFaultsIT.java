package dev.tether.failover;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

@DisplayName("Randomized faults: two Jetty 12.1 nodes behind HAProxy, Redis behind the fault proxy")
class JettyFaultsIT extends FaultSuite {

    @Override
    Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws Exception {
        return new JettyBackend(work, redisUri, accounts);
    }

    @Override
    String tag() {
        return "jetty";
    }

    /**
     * What this suite still finds with the CI seed (2026-11-28): after the fix of a delayed drop
     * that deleted live records and the drop made atomic with Jetty's session lock (a 500 "Invalid
     * for read: not resident" in one run before it), two runs passed, each with one user logged
     * out during a balancer flap. Runs on demand until that is understood.
     */
    @Override
    String knownDefects() {
        return "a user logged out during a balancer flap: a request with a cookie of node1 (a session made there after node1's"
                + " restart) sent straight to node2 is answered the login page (the same moment in two runs); cause not established";
    }
}
