package dev.tether.example.balancer;

import java.net.URI;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * One back end of the balancer: a name that is also the route suffix of the session ids it issues
 * ({@code <base>.node1}), its address, and whether it is reachable.
 */
final class Member {

    /** Route names: what Tomcat's jvmRoute and Jetty's workerName allow, and never a dot. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final String name;
    private final String proxyTo;
    private final URI uri;
    private final AtomicLong served = new AtomicLong();
    private volatile boolean up = true;
    private volatile String downSince;
    private volatile String downReason;

    private Member(String name, String proxyTo, URI uri) {
        this.name = name;
        this.proxyTo = proxyTo;
        this.uri = uri;
    }

    /** Parses {@code name=http://host:port}. */
    static Member parse(String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--member wants name=http://host:port, not '" + spec + "'");
        }
        String name = spec.substring(0, eq).trim();
        String address = spec.substring(eq + 1).trim();
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("member name '" + name
                    + "' must be the node's route: letters, digits, '_' or '-' (no dots)");
        }
        while (address.endsWith("/")) {
            address = address.substring(0, address.length() - 1);
        }
        URI uri;
        try {
            uri = URI.create(address);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("member " + name + ": '" + address + "' is not a URI", e);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("member " + name + ": '" + address + "' is not http://host:port");
        }
        if (uri.getRawPath() != null && !uri.getRawPath().isEmpty() || uri.getRawQuery() != null) {
            throw new IllegalArgumentException("member " + name + ": '" + address
                    + "' has a path; give only http://host:port (request paths are passed through unchanged)");
        }
        return new Member(name, address, uri);
    }

    String name() {
        return name;
    }

    /** {@code http://host:port}, without a trailing slash. */
    String proxyTo() {
        return proxyTo;
    }

    String host() {
        return uri.getHost();
    }

    int port() {
        return uri.getPort() > 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
    }

    boolean matches(URI target) {
        return uri.getScheme().equalsIgnoreCase(target.getScheme()) && host().equalsIgnoreCase(target.getHost())
                && port() == (target.getPort() > 0 ? target.getPort() : "https".equals(target.getScheme()) ? 443 : 80);
    }

    boolean isUp() {
        return up;
    }

    /** @return true if this call changed the state (the caller logs it, once) */
    synchronized boolean markDown(String reason) {
        if (!up) {
            return false;
        }
        up = false;
        downSince = LocalTime.now().format(TIME);
        downReason = reason;
        return true;
    }

    /** @return true if this call changed the state */
    synchronized boolean markUp() {
        if (up) {
            return false;
        }
        up = true;
        downSince = null;
        downReason = null;
        return true;
    }

    void countServed() {
        served.incrementAndGet();
    }

    /** Why the member is DOWN (null while it is UP). */
    String downReason() {
        return downReason;
    }

    /** One line of the status page. */
    String status() {
        String since = downSince;
        String reason = downReason;
        return String.format("%-8s %-28s %-4s served=%d", name, proxyTo, up ? "UP" : "DOWN", served.get())
                + (up || since == null ? "" : "   since " + since + ": " + reason);
    }

    @Override
    public String toString() {
        return name + "=" + proxyTo;
    }
}
