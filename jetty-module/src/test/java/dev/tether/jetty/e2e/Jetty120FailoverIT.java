package dev.tether.jetty.e2e;

/** The failover scenarios on the Jetty 12.0 distribution ({@code jetty120.version}). */
class Jetty120FailoverIT extends JettyFailoverScenarios {
    Jetty120FailoverIT() {
        super("jetty-12.0", "tether.jetty120.home", "12.0.");
    }
}
