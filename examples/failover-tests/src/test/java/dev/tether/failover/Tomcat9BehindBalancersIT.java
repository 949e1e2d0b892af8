package dev.tether.failover;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;

/**
 * The javax build on Tomcat 9 behind the two route-sticky balancers most Tomcat sites use; the
 * nginx and cookie-insert configurations do nothing Tomcat-specific, and Tomcat 10.1 runs them.
 */
@DisplayName("Failover through real balancers: two Tomcat 9 nodes (javax.servlet) with the javax shop WAR")
class Tomcat9BehindBalancersIT extends BalancerFailoverScenarios {

    @Override
    Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts) throws Exception {
        return TomcatBackend.tomcat9(work, redisUri, accounts);
    }

    @Override
    String tag() {
        return "tomcat9";
    }

    @Override
    Set<Balancer> balancers() {
        return EnumSet.of(Balancer.HTTPD, Balancer.HAPROXY_ROUTE);
    }
}
