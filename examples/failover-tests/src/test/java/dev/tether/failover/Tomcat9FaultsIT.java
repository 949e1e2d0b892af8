package dev.tether.failover;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

/** The fault suite's short schedule on Tomcat 9: the javax jar generated from the one Tomcat adapter, and the javax shop. */
@DisplayName("Randomized faults: two Tomcat 9 nodes behind HAProxy, Redis behind the fault proxy")
class Tomcat9FaultsIT extends FaultSuite {

    @Override
    Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts) {
        return TomcatBackend.tomcat9(work, redisUri, accounts);
    }

    @Override
    String tag() {
        return "tomcat9";
    }
}
