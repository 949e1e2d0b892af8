package dev.tether.store.redis;

import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Where Redis is, read from one URI, in the same form for Tomcat's Manager attribute and Jetty's
 * ini property:
 * <ul>
 * <li>{@code redis://[user:password@]host:port[/db]}, {@code rediss://} for TLS: one server;</li>
 * <li>{@code redis-sentinel://[user:password@]host:port[,host:port...][/db]#masterName}, or
 * {@code rediss-sentinel://}: the master that Sentinel names, followed across fail-overs;</li>
 * <li>{@code redis-cluster://[user:password@]host:port[,host:port...]}, or {@code rediss-cluster://}:
 * Redis Cluster through any of these seed nodes.</li>
 * </ul>
 * Lettuce's query options ({@code ?verifyPeer=NONE}, {@code ?clientName=...}) pass through.
 */
public final class RedisTopology {

    private static final String CLUSTER = "redis-cluster://";
    private static final String CLUSTER_TLS = "rediss-cluster://";

    private final List<RedisURI> uris;
    private final boolean cluster;
    private final Duration timeout;

    private RedisTopology(List<RedisURI> uris, boolean cluster, Duration timeout) {
        this.uris = uris;
        this.cluster = cluster;
        this.timeout = timeout;
    }

    /** Whether a URI has one of the accepted schemes (checked when options are built). */
    public static boolean isSupported(String uri) {
        String lower = uri.trim().toLowerCase(Locale.ROOT);
        return lower.startsWith("redis://") || lower.startsWith("rediss://") || lower.startsWith("redis-sentinel://")
                || lower.startsWith("rediss-sentinel://") || lower.startsWith(CLUSTER) || lower.startsWith(CLUSTER_TLS);
    }

    public static RedisTopology parse(String uri, Duration timeout) {
        String trimmed = uri.trim();
        String lower = trimmed.toLowerCase(Locale.ROOT);
        try {
            if (lower.startsWith(CLUSTER) || lower.startsWith(CLUSTER_TLS)) {
                boolean tls = lower.startsWith(CLUSTER_TLS);
                String rest = trimmed.substring(tls ? CLUSTER_TLS.length() : CLUSTER.length());
                String credentials = "";
                int at = rest.lastIndexOf('@');
                if (at >= 0) {
                    credentials = rest.substring(0, at + 1);
                    rest = rest.substring(at + 1);
                }
                String query = "";
                int q = rest.indexOf('?');
                if (q >= 0) {
                    query = rest.substring(q);
                    rest = rest.substring(0, q);
                }
                if (rest.endsWith("/")) {
                    rest = rest.substring(0, rest.length() - 1);
                }
                List<RedisURI> seeds = new ArrayList<>();
                for (String hostPort : rest.split(",")) {
                    if (!hostPort.isBlank()) {
                        seeds.add(withTimeout(RedisURI.create((tls ? "rediss://" : "redis://") + credentials + hostPort.trim() + query), timeout));
                    }
                }
                if (seeds.isEmpty()) {
                    throw new IllegalArgumentException("no seed nodes");
                }
                return new RedisTopology(List.copyOf(seeds), true, timeout);
            }
            return new RedisTopology(List.of(withTimeout(RedisURI.create(trimmed), timeout)), false, timeout);
        } catch (IllegalArgumentException e) {
            // Not chained: the parser's own message and stack trace may quote the URI, password included.
            throw new IllegalArgumentException("redisUri is not a usable Redis URI (" + withoutSecrets(reason(e), trimmed) + ")");
        }
    }

    private static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.URISyntaxException u) {
                return u.getReason() + " at index " + u.getIndex();
            }
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** {@code text} with the URI's user info (password) and query (which may carry one) masked. */
    static String withoutSecrets(String text, String uri) {
        int scheme = uri.indexOf("://");
        int at = uri.lastIndexOf('@');
        String out = text;
        if (scheme >= 0 && at > scheme + 3) {
            out = out.replace(uri.substring(scheme + 3, at), "***");
        }
        int query = uri.indexOf('?');
        if (query >= 0 && query + 1 < uri.length()) {
            out = out.replace(uri.substring(query + 1), "***");
        }
        return out;
    }

    private static RedisURI withTimeout(RedisURI uri, Duration timeout) {
        uri.setTimeout(timeout);
        return uri;
    }

    /** The one URI (standalone, Sentinel), or the cluster's seed nodes. */
    public List<RedisURI> uris() {
        return uris;
    }

    public boolean isCluster() {
        return cluster;
    }

    Duration timeout() {
        return timeout;
    }

    /** For log lines: scheme and hosts, never credentials. */
    public String describe() {
        RedisURI first = uris.get(0);
        boolean tls = first.isSsl();
        if (cluster) {
            return (tls ? "rediss-cluster://" : "redis-cluster://")
                    + uris.stream().map(u -> u.getHost() + ":" + u.getPort()).collect(Collectors.joining(","));
        }
        if (!first.getSentinels().isEmpty()) {
            return (tls ? "rediss-sentinel://" : "redis-sentinel://")
                    + first.getSentinels().stream().map(u -> u.getHost() + ":" + u.getPort()).collect(Collectors.joining(","))
                    + "#" + first.getSentinelMasterId();
        }
        return (tls ? "rediss://" : "redis://") + first.getHost() + ":" + first.getPort();
    }
}
