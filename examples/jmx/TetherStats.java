import java.util.Set;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * Prints Tether's counters of every context on a Tomcat or Jetty node with remote JMX enabled.
 * Run with the JDK alone: {@code java examples/jmx/TetherStats.java 127.0.0.1:9010}
 */
public class TetherStats {
    public static void main(String[] args) throws Exception {
        String hostPort = args.length > 0 ? args[0] : "127.0.0.1:9010";
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + hostPort + "/jmxrmi");
        try (JMXConnector connector = JMXConnectorFactory.connect(url)) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            Set<ObjectName> names = server.queryNames(new ObjectName("Catalina:type=Manager,*"), null);
            names.addAll(server.queryNames(new ObjectName("dev.tether.jetty:*"), null));
            for (ObjectName name : names) {
                System.out.println(name);
                for (MBeanAttributeInfo a : server.getMBeanInfo(name).getAttributes()) {
                    String n = a.getName();
                    if (n.startsWith("tether") || n.equals("activeSessions") || n.equals("redisAvailable")
                            || name.getDomain().equals("dev.tether.jetty")) {
                        try {
                            System.out.println("  " + n + " = " + server.getAttribute(name, n));
                        } catch (Exception e) {
                            // an attribute that cannot be read remotely (not a Tether counter)
                        }
                    }
                }
            }
        }
    }
}
