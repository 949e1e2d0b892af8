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
}
