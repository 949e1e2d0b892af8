package dev.tether.failover;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

@DisplayName("Failover through real balancers: two Tomcat 10.1 nodes with the shop WAR")
class TomcatBehindBalancersIT extends BalancerFailoverScenarios {

    @Override
    Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws Exception {
        return TomcatBackend.tomcat10(work, redisUri, accounts);
    }

    @Override
    String tag() {
        return "tomcat";
    }
}
