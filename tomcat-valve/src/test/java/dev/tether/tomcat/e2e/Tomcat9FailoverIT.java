package dev.tether.tomcat.e2e;

import org.junit.jupiter.api.DisplayName;

/** The same scenarios with the jar and the test application generated for javax.servlet (tomcat9-valve). */
@DisplayName("Failover end to end on Apache Tomcat 9.0 (real distribution, javax.servlet)")
class Tomcat9FailoverIT extends FailoverScenario {

    @Override
    String tomcatVersion() {
        return "9.0";
    }
}
