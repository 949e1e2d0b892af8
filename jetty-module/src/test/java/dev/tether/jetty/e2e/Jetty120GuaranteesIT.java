package dev.tether.jetty.e2e;

/** The guarantees on the Jetty 12.0 distribution ({@code jetty120.version}), with the ee8 (javax) application. */
class Jetty120GuaranteesIT extends JettyGuaranteesScenarios {
    Jetty120GuaranteesIT() {
        super("guarantees-jetty-12.0", "tether.jetty120.home", "app8");
    }
}
