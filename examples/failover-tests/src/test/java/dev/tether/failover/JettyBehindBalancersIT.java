package dev.tether.failover;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

@DisplayName("Failover through real balancers: two Jetty 12.1 nodes (ee10) with the shop WAR")
class JettyBehindBalancersIT extends BalancerFailoverScenarios {

    @Override
    Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws Exception {
        return new JettyBackend(work, redisUri, accounts);
    }

    @Override
    String tag() {
        return "jetty";
    }
}

