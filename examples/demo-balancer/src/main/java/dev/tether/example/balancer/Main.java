package dev.tether.example.balancer;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A sticky HTTP balancer for the Tether demo, for machines without HAProxy:
 *
 * <pre>
 * java -jar tether-demo-balancer.jar --port 8080 --member node1=http://127.0.0.1:8081 --member node2=http://127.0.0.1:8082
 * </pre>
 *
 * <p>Each member's name is the route its node appends to session ids (Tomcat's {@code jvmRoute},
 * Jetty's {@code workerName}). See {@link FailoverBalancerServlet}.
 */
public final class Main {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private static final String USAGE = String.join("\n",
            "usage: java -jar tether-demo-balancer.jar --port PORT --member NAME=http://HOST:PORT [--member ...]",
            "                                     [--bind ADDRESS] [--check-interval-ms MS]",
            "",
            "  --port PORT              port to listen on (0: any free port, printed at start)",
            "  --bind ADDRESS           address to listen on (default 127.0.0.1; 0.0.0.0 for all)",
            "  --member NAME=URL        a back end; NAME is its route (jvmRoute / workerName), e.g.",
            "                           --member node1=http://127.0.0.1:8081 (repeat for each node)",
            "  --check-interval-ms MS   health check (TCP connect) interval, default 1000; 0 turns it off",
            "",
            "Requests whose session id (JSESSIONID cookie, else ;jsessionid=) ends in .NAME go to member NAME;",
            "others are spread round-robin. When a member is down its sessions' requests go to another one.",
            "GET /balancer-status shows the members; each response carries X-Tether-Balancer-Member.");

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        int port = -1;
        String bind = "127.0.0.1";
        long checkInterval = 1000;
        List<Member> members = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                String value = null;
                int eq = arg.indexOf('=');
                if (arg.startsWith("--") && eq > 0) {
                    value = arg.substring(eq + 1);
                    arg = arg.substring(0, eq);
                }
                switch (arg) {
                    case "-h", "--help" -> {
                        System.out.println(USAGE);
                        return;
                    }
                    case "--port" -> port = parseInt(arg, value != null ? value : next(args, ++i, arg), 0, 65535);
                    case "--bind" -> bind = value != null ? value : next(args, ++i, arg);
                    case "--member" -> members.add(Member.parse(value != null ? value : next(args, ++i, arg)));
                    case "--check-interval-ms" ->
                            checkInterval = parseInt(arg, value != null ? value : next(args, ++i, arg), 0, 3_600_000);
                    default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
                }
            }
            if (port < 0) {
                throw new IllegalArgumentException("--port is required");
            }
            if (members.isEmpty()) {
                throw new IllegalArgumentException("at least one --member is required");
            }
            Set<String> names = new HashSet<>();
            for (Member m : members) {
                if (!names.add(m.name())) {
                    throw new IllegalArgumentException("member " + m.name() + " is given twice");
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("tether-demo-balancer: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }

        Server server = start(bind, port, members, checkInterval);
        ServerConnector connector = (ServerConnector) server.getConnectors()[0];
        String url = "http://" + (bind.contains(":") ? "[" + bind + "]" : bind) + ":" + connector.getLocalPort() + "/";
        log("listening on " + url + " -> " + members + "; sticky on the JSESSIONID route suffix; status: "
                + url + FailoverBalancerServlet.STATUS_PATH.substring(1));
        server.join();
    }

    /** Starts the balancer; exits the JVM with status 1 if it cannot listen. */
    static Server start(String bind, int port, List<Member> members, long checkIntervalMillis) throws Exception {
        QueuedThreadPool threads = new QueuedThreadPool(200, 8);
        threads.setName("balancer");
        Server server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost(bind);
        connector.setPort(port);
        server.addConnector(connector);

        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        // ProxyServlet runs its HTTP client on the server's thread pool.
        context.setAttribute("org.eclipse.jetty.server.Executor", threads);
        ServletHolder holder = new ServletHolder("balancer", new FailoverBalancerServlet(members, checkIntervalMillis));
        holder.setAsyncSupported(true);
        holder.setInitOrder(0);
        holder.setInitParameter("stickySessions", "true");
        for (Member m : members) {
            holder.setInitParameter("balancerMember." + m.name() + ".proxyTo", m.proxyTo());
        }
        // The nodes see the balancer's Host (their absolute redirects point back at it), and any
        // Location naming a member is rewritten to the balancer anyway.
        holder.setInitParameter("preserveHost", "true");
        holder.setInitParameter("proxyPassReverse", "true");
        context.addServlet(holder, "/*");
        server.setHandler(context);
        server.setStopAtShutdown(true);
        try {
            server.start();
        } catch (Exception e) {
            System.err.println("tether-demo-balancer: cannot listen on " + bind + ":" + port + ": " + e);
            server.stop();
            System.exit(1);
        }
        return server;
    }

    static void log(String message) {
        System.out.println(LocalTime.now().format(TIME) + " tether-demo-balancer: " + message);
        System.out.flush();
    }

    private static String next(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int parseInt(String option, String value, int min, int max) {
        try {
            int n = Integer.parseInt(value.trim());
            if (n < min || n > max) {
                throw new IllegalArgumentException(option + " must be between " + min + " and " + max + ", not " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " wants a number, not '" + value + "'");
        }
    }
}
