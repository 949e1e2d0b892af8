import java.util.Set;
import java.util.TreeSet;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * Prints Tether's counters of every web application on a Tomcat or Jetty node with remote JMX
 * enabled: the same bean, with the same attributes, on both containers. Run with the JDK alone:
 * {@code java examples/jmx/TetherStats.java 127.0.0.1:9010}
 */
public class TetherStats {
    public static void main(String[] args) throws Exception {
        String hostPort = args.length > 0 ? args[0] : "127.0.0.1:9010";
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + hostPort + "/jmxrmi");
        try (JMXConnector connector = JMXConnectorFactory.connect(url)) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            Set<ObjectName> names = new TreeSet<>(server.queryNames(new ObjectName("*:type=Tether,*"), null));
            names.addAll(server.queryNames(new ObjectName("dev.tether.store:type=storestats,*"), null));
            for (ObjectName name : names) {
                System.out.println(name);
                for (MBeanAttributeInfo a : server.getMBeanInfo(name).getAttributes()) {
                    System.out.println("  " + a.getName() + " = " + server.getAttribute(name, a.getName()));
                }
            }
        }
    }
}
