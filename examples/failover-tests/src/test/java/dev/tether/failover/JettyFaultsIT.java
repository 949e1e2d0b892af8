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
     * Found by this suite with the CI seed (2026-11-27), before the RefusalHandler landed. Its
     * Jetty121GuaranteesIT shows the 503 with Retry-After for refused writes and logouts now; the
     * suite has not been run on Jetty since, so the list stands until it is, and each item breaks a
     * promise: the suite runs only on demand.
     */
    @Override
    String knownDefects() {
        return String.join(" | ",
                "a logout acknowledged (302) on a node right after its Redis connection was reset stays undone: at the end of"
                        + " the run the logged-out cookie authenticates on both nodes and Redis holds the record (no user field)",
                "a logout acknowledged on a node while Redis recovered from a restart: the same node lets the cookie in 30 ms"
                        + " later although Redis holds the tombstone (its in-memory copy survived)",
                "Tether's 503 refusals on Jetty carry no Retry-After",
                "a refused write (NotStored) thrown at completion makes Jetty close the connection with no answer"
                        + " ('onError not handled due to invalid requestState') instead of a 503",
                "500 'Create session failed' / 'Invalid for read: not resident' when a copy is dropped (invalidated or"
                        + " re-keyed on the other node) while a request on this node uses it");
    }
}
