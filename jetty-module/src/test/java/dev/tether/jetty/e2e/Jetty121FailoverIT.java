package dev.tether.jetty.e2e;

/** The failover scenarios on the Jetty 12.1 distribution ({@code jetty121.version}). */
class Jetty121FailoverIT extends JettyFailoverScenarios {
    Jetty121FailoverIT() {
        super("jetty-12.1", "tether.jetty121.home", "12.1.");
    }
}
