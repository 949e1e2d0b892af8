package dev.tether.tomcat.e2e;

import org.junit.jupiter.api.DisplayName;

/** What a Tomcat 9 administrator sees: the same start-up warning and the same JMX beans as on 10.1. */
@DisplayName("Wrong Redis password and JMX on Apache Tomcat 9.0 (real distribution, javax.servlet)")
class Tomcat9OperationsIT extends OperationsScenario {

    @Override
    String tomcatVersion() {
        return "9.0";
    }
}
