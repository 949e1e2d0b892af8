package dev.tether.store;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Immutable settings of a {@link RedisSessionStore}. Build with {@link #builder(String)}; every
 * setting below names its default, and both container adapters expose each under the same name.
 */
public final class SessionStoreOptions {

    private final String redisUri;
    private final String keyPrefix;
    private final Duration commandTimeout;
    private final Duration connectTimeout;
    private final SaveMode saveMode;
    private final Duration touchInterval;
    private final int maxPendingSessions;
    private final int maxAttributeBytes;
    private final List<String> allowClasses;
    private final List<String> denyClasses;
    private final int maxDepth;
    private final int maxArrayLength;
    private final int maxReferences;
    private final int waitReplicas;
    private final Duration waitTimeout;

    private SessionStoreOptions(Builder b) {
        this.redisUri = b.redisUri;
        this.keyPrefix = b.keyPrefix;
        this.commandTimeout = b.commandTimeout;
        this.connectTimeout = b.connectTimeout;
        this.saveMode = b.saveMode;
        this.touchInterval = b.touchInterval;
        this.maxPendingSessions = b.maxPendingSessions;
        this.maxAttributeBytes = b.maxAttributeBytes;
        this.allowClasses = List.copyOf(b.allowClasses);
        this.denyClasses = List.copyOf(b.denyClasses);
        this.maxDepth = b.maxDepth;
        this.maxArrayLength = b.maxArrayLength;
        this.maxReferences = b.maxReferences;
        this.waitReplicas = b.waitReplicas;
        this.waitTimeout = b.waitTimeout;
    }

    public static Builder builder(String redisUri) {
        return new Builder(redisUri);
    }

    /**
     * Where Redis is. Required. {@code redis://[user:password@]host:port[/db]} ({@code rediss://} for
     * TLS); {@code redis-sentinel://host:port,host:port[/db]#master}; or
     * {@code redis-cluster://host:port,host:port} (seed nodes). See {@link RedisTopology}.
     */
    public String redisUri() { return redisUri; }
    /** Prefix of every key; the adapters default it to include the container and context. */
    public String keyPrefix() { return keyPrefix; }
    /** Time a Redis command may take before it counts as failed. Default 1 s. */
    public Duration commandTimeout() { return commandTimeout; }
    /** Time a (re)connect may take. Default 2 s. */
    public Duration connectTimeout() { return connectTimeout; }
    /** Which attributes are written back after a request. Default {@link SaveMode#ON_GET_ATTRIBUTE}. */
    public SaveMode saveMode() { return saveMode; }
    /**
     * How stale the last-access time in Redis may get for a session whose requests change nothing.
     * Such requests cost no synchronous command; at most one asynchronous TTL refresh per session per
     * interval. Records live max-inactive-interval plus twice this. Default 60 s.
     */
    public Duration touchInterval() { return touchInterval; }
    /** Sessions whose writes are kept for replay while Redis is unreachable. Default 10000. */
    public int maxPendingSessions() { return maxPendingSessions; }
    /** Largest serialized attribute written or read; a larger one stays local and is logged. Default 1 MiB. */
    public int maxAttributeBytes() { return maxAttributeBytes; }
    /** Class-name patterns allowed when reading attributes ({@code *} = all not denied). Default {@code *}. */
    public List<String> allowClasses() { return allowClasses; }
    /** Class-name patterns always refused, on top of the built-in list of known gadget classes. Default none. */
    public List<String> denyClasses() { return denyClasses; }
    /** Deepest object graph read. Default 100. */
    public int maxDepth() { return maxDepth; }
    /** Longest array read. Default 1,000,000 elements. */
    public int maxArrayLength() { return maxArrayLength; }
    /** Most object references in one attribute. Default 1,000,000. */
    public int maxReferences() { return maxReferences; }

    /**
     * Replicas that must acknowledge each session write before the request completes (Redis
     * {@code WAIT}). 0, the default, does not wait: a master that dies before replicating loses its
     * last writes.
     */
    public int waitReplicas() { return waitReplicas; }
    /** Longest a write waits for {@link #waitReplicas()}; then it counts as written, with a log line. Default 500 ms. */
    public Duration waitTimeout() { return waitTimeout; }

    public Builder toBuilder() {
        Builder b = new Builder(redisUri);
        b.keyPrefix = keyPrefix;
        b.commandTimeout = commandTimeout;
        b.connectTimeout = connectTimeout;
        b.saveMode = saveMode;
        b.touchInterval = touchInterval;
        b.maxPendingSessions = maxPendingSessions;
        b.maxAttributeBytes = maxAttributeBytes;
        b.allowClasses = allowClasses;
        b.denyClasses = denyClasses;
        b.maxDepth = maxDepth;
        b.maxArrayLength = maxArrayLength;
        b.maxReferences = maxReferences;
        b.waitReplicas = waitReplicas;
        b.waitTimeout = waitTimeout;
        return b;
    }

    /** Builder; setters validate eagerly so a bad setting fails at start with a clear message. */
    public static final class Builder {
        private String redisUri;
        private String keyPrefix = "tether:";
        private Duration commandTimeout = Duration.ofSeconds(1);
        private Duration connectTimeout = Duration.ofSeconds(2);
        private SaveMode saveMode = SaveMode.ON_GET_ATTRIBUTE;
        private Duration touchInterval = Duration.ofSeconds(60);
        private int maxPendingSessions = 10_000;
        private int maxAttributeBytes = 1 << 20;
        private List<String> allowClasses = List.of("*");
        private List<String> denyClasses = List.of();
        private int maxDepth = 100;
        private int maxArrayLength = 1_000_000;
        private int maxReferences = 1_000_000;
        private int waitReplicas = 0;
        private Duration waitTimeout = Duration.ofMillis(500);

        private Builder(String redisUri) {
            redisUri(redisUri);
        }

        public Builder redisUri(String uri) {
            Objects.requireNonNull(uri, "redisUri");
            if (!RedisTopology.isSupported(uri)) {
                throw new IllegalArgumentException("redisUri must start with redis://, rediss://, redis-sentinel://,"
                        + " rediss-sentinel://, redis-cluster:// or rediss-cluster://");
            }
            RedisTopology.parse(uri, commandTimeout); // fails now, with the reason, rather than at first use
            this.redisUri = uri.trim();
            return this;
        }

        public Builder keyPrefix(String prefix) {
            Objects.requireNonNull(prefix, "keyPrefix");
            if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
                throw new IllegalArgumentException("keyPrefix must not contain '{' or '}': Tether puts the hash tag around the session id");
            }
            this.keyPrefix = prefix;
            return this;
        }

        public Builder commandTimeout(Duration d) { this.commandTimeout = positive(d, "commandTimeout"); return this; }
        public Builder connectTimeout(Duration d) { this.connectTimeout = positive(d, "connectTimeout"); return this; }
        public Builder saveMode(SaveMode mode) { this.saveMode = Objects.requireNonNull(mode, "saveMode"); return this; }
        public Builder touchInterval(Duration d) { this.touchInterval = positive(d, "touchInterval"); return this; }
        public Builder maxPendingSessions(int n) { this.maxPendingSessions = atLeast(n, 0, "maxPendingSessions"); return this; }
        public Builder maxAttributeBytes(int n) { this.maxAttributeBytes = atLeast(n, 64, "maxAttributeBytes"); return this; }
        public Builder allowClasses(List<String> patterns) { this.allowClasses = List.copyOf(patterns); return this; }
        public Builder denyClasses(List<String> patterns) { this.denyClasses = List.copyOf(patterns); return this; }
        public Builder maxDepth(int n) { this.maxDepth = atLeast(n, 1, "maxDepth"); return this; }
        public Builder maxArrayLength(int n) { this.maxArrayLength = atLeast(n, 0, "maxArrayLength"); return this; }
        public Builder maxReferences(int n) { this.maxReferences = atLeast(n, 1, "maxReferences"); return this; }
        public Builder waitReplicas(int n) { this.waitReplicas = atLeast(n, 0, "waitReplicas"); return this; }
        public Builder waitTimeout(Duration d) { this.waitTimeout = positive(d, "waitTimeout"); return this; }

        public SessionStoreOptions build() {
            if (waitReplicas > 0 && waitTimeout.compareTo(commandTimeout) >= 0) {
                // WAIT holds the connection: a longer wait would time out the commands queued behind it.
                throw new IllegalArgumentException("waitTimeout (" + waitTimeout.toMillis() + " ms) must be shorter than commandTimeout ("
                        + commandTimeout.toMillis() + " ms)");
            }
            return new SessionStoreOptions(this);
        }

        private static Duration positive(Duration d, String name) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be a positive duration");
            }
            return d;
        }

        private static int atLeast(int n, int min, String name) {
            if (n < min) {
                throw new IllegalArgumentException(name + " must be at least " + min + ", not " + n);
            }
            return n;
        }
    }

    /** Splits a comma- or semicolon-separated list of patterns, as written in context.xml or an ini file. */
    public static List<String> splitPatterns(String value) {
        if (value == null || value.isBlank()) {
            return List.of();
        }
        return java.util.Arrays.stream(value.split("[,;\\s]+")).filter(s -> !s.isEmpty()).toList();
    }
}
