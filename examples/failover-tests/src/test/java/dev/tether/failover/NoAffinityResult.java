package dev.tether.failover;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What one run of {@link NoAffinityTraffic} saw: one row of the no-affinity report. */
final class NoAffinityResult {

    String backend;
    String balancer;
    String mode;
    String killed = "-";
    int users;
    int loggedIn;
    /** HTTP requests the users sent (replays by the balancer not counted). */
    long requests;
    long acked;
    /** Commands clients sent to Redis (MONITOR, without INFO and the nodes' census reports). */
    long roundTrips;
    /** INFO commandstats delta: every command Redis ran, those inside Lua scripts included, without INFO and the census. */
    long commands;
    long cookieRewrites;
    /** Login attempts refused and tried again (Tomcat's FORM login across two nodes: see results/no-affinity.md). */
    long loginRetries;
    long refused;
    /** Failures other than 503: I/O errors, 502, 500... */
    long failures;
    long failuresBeforeKill;
    long lost;
    /** Users whose final cart read failed every time: their items are neither counted lost nor verified. */
    long unverified;
    long missingSeen;
    long loggedOut;
    long duplicates;
    double seconds;
    final List<String> samples = new ArrayList<>();

    static String header() {
        return "| Container | Balancer | Mode | kill -9 | Users | Requests | Acked adds | Round trips/req | Commands/req "
                + "| Cookie rewrites | 503 | Other failures | Lost | Logged out | Login retries |";
    }

    static String rule() {
        return "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|";
    }

    String row() {
        return String.format(Locale.ROOT, "| %s | %s | %s | %s | %d/%d | %d | %d | %.2f | %.2f | %d | %d | %d | %d | %d | %d |", backend, balancer,
                mode, killed, loggedIn, users, requests, acked, perRequest(roundTrips), perRequest(commands), cookieRewrites,
                refused, failures, lost, loggedOut, loginRetries);
    }

    private double perRequest(long n) {
        return requests == 0 ? 0 : (double) n / requests;
    }
}
