package dev.tether.tomcat.e2e;

import org.junit.jupiter.api.DisplayName;

@DisplayName("Failover end to end on Apache Tomcat 10.1 (real distribution)")
class Tomcat10FailoverIT extends FailoverScenario {

    @Override
    String tomcatVersion() {
        return "10.1";
    }
}
