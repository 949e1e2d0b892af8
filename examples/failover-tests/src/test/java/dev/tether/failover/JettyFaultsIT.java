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
     * What this suite still finds with the CI seed (2026-11-28, after the RefusalHandler and the fix
     * of a delayed drop that deleted live records): the first run failed on a 500, the second passed
     * with one user logged out. Runs on demand until both are gone.
     */
    @Override
    String knownDefects() {
        return String.join(" | ",
                "500 'Invalid for read: not resident' when this node drops its copy (the session went to the other node)"
                        + " while a request enters it: the drop checks the copy is idle, then deletes it from Jetty's cache,"
                        + " not atomically",
                "a user logged out during a balancer flap (a request with node1's cookie answered the login page by node2,"
                        + " shortly after node1's restart); cause not established");
    }
}
