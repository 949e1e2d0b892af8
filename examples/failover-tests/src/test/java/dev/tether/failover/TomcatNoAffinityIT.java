package dev.tether.failover;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;

@DisplayName("Balancers without affinity: two Tomcat 10.1 nodes in shared mode with the shop WAR")
class TomcatNoAffinityIT extends NoAffinityScenarios {

    @Override
    Backend startBackend(Path work, String redisUri, List<ShopUser.Account> accounts, String mode) {
        // -Dnoaffinity.checkVersion=true: every request asks Redis for its session's version (the
        // alternative to trusting client-side caching, measured side by side in no-affinity.md).
        String check = Boolean.getBoolean("noaffinity.checkVersion") ? " checkVersion=\"true\"" : "";
        return TomcatBackend.tomcat10(work, redisUri, accounts, (mode == null ? "" : "mode=\"" + mode + "\"") + check);
    }

    @Override
    String tag() {
        return "tomcat";
    }
}
