package dev.tether.store;

/**
 * A validated session id, split into the base (the Redis record's identity) and the route suffix
 * (the node that served it last, which balancers route on).
 *
 * <p>Balancers (httpd, mod_jk, HAProxy {@code field(2,.)}) split at the first dot, so neither part
 * may contain one. Anything that is not {@code [A-Za-z0-9_-]} within the length limits is refused
 * before a Redis key is ever built from it.
 *
 * <p>There is no minimum length beyond one character. An id is a credential whose strength is its
 * generator's: a short id that no container issued finds no record, and refusing the short ids a
 * container did issue (a custom id manager, Jetty's own store suite) only lost those sessions. What
 * this class guards is the key: the character set (no hash-tag braces, no {@code :}, no whitespace)
 * and the maximum length.
 */
public final class SessionId {

    /** Longest base accepted; Tomcat's default is 32 hex characters, Jetty's about 24. */
    public static final int MAX_BASE_LENGTH = 128;
    /** Shortest base accepted: any non-empty one (see the class comment). */
    public static final int MIN_BASE_LENGTH = 1;
    public static final int MAX_ROUTE_LENGTH = 64;

    private final String base;
    private final String route;

    private SessionId(String base, String route) {
        this.base = base;
        this.route = route;
    }

    /**
     * Parses an id as it arrives from a request ({@code base} or {@code base.route}).
     *
     * @return the id, or {@code null} when it is malformed; a malformed id means "no session".
     */
    public static SessionId parse(String raw) {
        if (raw == null) {
            return null;
        }
        int len = raw.length();
        if (len < MIN_BASE_LENGTH || len > MAX_BASE_LENGTH + 1 + MAX_ROUTE_LENGTH) {
            return null;
        }
        int dot = -1;
        for (int i = 0; i < len; i++) {
            char c = raw.charAt(i);
            if (c == '.') {
                if (dot >= 0) {
                    return null; // more than one dot
                }
                dot = i;
            } else if (!isIdChar(c)) {
                return null;
            }
        }
        if (dot < 0) {
            return len <= MAX_BASE_LENGTH ? new SessionId(raw, null) : null;
        }
        int routeLength = len - dot - 1;
        if (dot < MIN_BASE_LENGTH || dot > MAX_BASE_LENGTH || routeLength == 0 || routeLength > MAX_ROUTE_LENGTH) {
            return null;
        }
        return new SessionId(raw.substring(0, dot), raw.substring(dot + 1));
    }

    /** Whether {@code route} may be used as a node's route (jvmRoute, workerName). */
    public static boolean isValidRoute(String route) {
        if (route == null || route.isEmpty() || route.length() > MAX_ROUTE_LENGTH) {
            return false;
        }
        for (int i = 0; i < route.length(); i++) {
            if (!isIdChar(route.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isIdChar(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }

    public String base() {
        return base;
    }

    /** The route suffix, or {@code null} when the id has none. */
    public String route() {
        return route;
    }

    /** This id's base with {@code newRoute} as suffix ({@code null} for none). */
    public String withRoute(String newRoute) {
        return newRoute == null || newRoute.isEmpty() ? base : base + '.' + newRoute;
    }

    /**
     * A shortened form for log lines; full ids are credentials and never logged.
     */
    public static String redact(String id) {
        if (id == null) {
            return "null";
        }
        int keep = Math.min(6, id.length() / 4);
        return id.substring(0, keep) + "…(" + id.length() + " chars)";
    }

    @Override
    public String toString() {
        return redact(withRoute(route));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionId other && base.equals(other.base) && java.util.Objects.equals(route, other.route);
    }

    @Override
    public int hashCode() {
        return base.hashCode() * 31 + (route == null ? 0 : route.hashCode());
    }
}
