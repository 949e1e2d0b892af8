package dev.tether.failover;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What one failover scenario measured; printed as one row of the report table. */
final class ScenarioResult {

    String backend;
    String balancer;
    Balancer kind;
    int users;
    int loggedIn;
    String victim;
    String survivor;
    int usersOnVictim;
    long requests;
    long acked;
    int failedBefore;
    int failedSwitch;
    int failedAfter;
    int lostItems;
    int missingSeen;
    int loggedOut;
    int duplicates;
    int idChanges;
    int misroutes;
    /** Users the killed node served when it died whom the survivor served afterwards. */
    int moved;
    /** Users whose final cookie route is the survivor. */
    int onSurvivorAtEnd;
    Map<String, Integer> finalRoutes = new TreeMap<>();
    Map<String, Integer> finalServerIds = new TreeMap<>();
    long maxSwitchLatencyMs;
    double trafficSeconds;
    double restartSeconds;
    final List<String> samples = new ArrayList<>();

    int failed() {
        return failedBefore + failedSwitch + failedAfter;
    }

    static String header() {
        return String.format("| %-11s | %-25s | %5s | %-14s | %8s | %6s | %-26s | %4s | %10s | %3s | %5s | %5s | %-19s | %9s |",
                "back end", "balancer", "users", "killed (users)", "requests", "acked",
                "failed before/switch/after", "lost", "logged out", "dup", "moved", "misr.", "final routes", "switch ms");
    }

    static String rule() {
        return header().replaceAll("[^|]", "-");
    }

    String row() {
        return String.format("| %-11s | %-25s | %5d | %-14s | %8d | %6d | %-26s | %4d | %10d | %3d | %5d | %5s | %-19s | %9d |",
                backend, balancer, users, victim + " (" + usersOnVictim + ")", requests, acked,
                failedBefore + " / " + failedSwitch + " / " + failedAfter + " = " + failed(), lostItems, loggedOut, duplicates,
                moved,
                kind.affinity == Balancer.Affinity.CLIENT_IP ? "n/a" : Integer.toString(misroutes),
                routes(), maxSwitchLatencyMs);
    }

    private String routes() {
        StringBuilder sb = new StringBuilder();
        finalRoutes.forEach((k, v) -> sb.append(sb.length() > 0 ? " " : "").append('.').append(k).append(':').append(v));
        return sb.toString();
    }
}
