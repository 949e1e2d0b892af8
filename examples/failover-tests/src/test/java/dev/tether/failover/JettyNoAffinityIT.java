package dev.tether.failover;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

@DisplayName("Balancers without affinity: two Jetty 12.1 nodes (ee10) in shared mode with the shop WAR")
class JettyNoAffinityIT extends NoAffinityScenarios {

    @Override
    Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts, String mode) throws Exception {
        return new JettyBackend(work, redisUri, accounts, mode);
    }

    @Override
    String tag() {
        return "jetty";
    }
}
