package dev.tether.failover;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

@DisplayName("Randomized faults: two Tomcat 10.1 nodes behind HAProxy, Redis behind the fault proxy")
class TomcatFaultsIT extends FaultSuite {

    @Override
    Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts) {
        return TomcatBackend.tomcat10(work, redisUri, accounts);
    }

    @Override
    String tag() {
        return "tomcat";
    }

    /** The CI schedule (seed 20261127, 75 s) on Tomcat 10.1 in every build. */
    @Override
    boolean inEveryBuild() {
        return true;
    }
}
