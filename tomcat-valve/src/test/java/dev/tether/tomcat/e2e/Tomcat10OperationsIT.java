package dev.tether.tomcat.e2e;

import org.junit.jupiter.api.DisplayName;

@DisplayName("Wrong Redis password and JMX on Apache Tomcat 10.1 (real distribution)")
class Tomcat10OperationsIT extends OperationsScenario {

    @Override
    String tomcatVersion() {
        return "10.1";
    }
}
