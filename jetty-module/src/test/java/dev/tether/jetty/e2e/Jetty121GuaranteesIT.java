package dev.tether.jetty.e2e;

/** The guarantees on the Jetty 12.1 distribution ({@code jetty121.version}), with the ee10 application. */
class Jetty121GuaranteesIT extends JettyGuaranteesScenarios {
    Jetty121GuaranteesIT() {
        super("guarantees-jetty-12.1", "tether.jetty121.home", "app10");
    }
}
