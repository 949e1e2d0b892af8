package dev.tether.tomcat.e2e;

import org.junit.jupiter.api.DisplayName;

@DisplayName("Failover end to end on Apache Tomcat 11.0 (real distribution)")
class Tomcat11FailoverIT extends FailoverScenario {

    @Override
    String tomcatVersion() {
        return "11.0";
    }
}
