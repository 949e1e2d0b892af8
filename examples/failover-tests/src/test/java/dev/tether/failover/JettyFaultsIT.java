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

    // On demand (-Dfaults.jetty=true): the defect it found last (a login on a copy ended on another
    // node was acknowledged and never stored, users logged out in a balancer flap) is fixed, and three
    // runs of the CI seed passed after it (2026-11-28); not yet enough runs to let it gate every build.
}
