package dev.tether.store;

import dev.tether.store.redis.RedisTopology;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Immutable settings of a {@link RedisSessionStore}. Build with {@link #builder(String)}; the
 * defaults and the meaning of each setting are those of {@link Setting}, and nowhere else.
 */
public final class SessionStoreOptions {

    private final String redisUri;
    private final String keyPrefix;
    private final boolean shared;
    private final Duration commandTimeout;
    private final Duration connectTimeout;
    private final SaveMode saveMode;
    private final Duration touchInterval;
    private final int maxPendingSessions;
    private final boolean asyncWrites;
    private final boolean checkVersion;
    private final int maxSessionsPerUser;
    private final int maxAttributeBytes;
    private final List<String> allowClasses;
    private final List<String> denyClasses;
    private final int maxDepth;
    private final int maxArrayLength;
    private final int maxReferences;
    private final int waitReplicas;
    private final Duration waitTimeout;
    private final List<String> signingKeys;

    private SessionStoreOptions(Builder b) {
        this.redisUri = b.redisUri;
        this.keyPrefix = b.keyPrefix;
        this.shared = b.shared;
        this.commandTimeout = b.commandTimeout;
        this.connectTimeout = b.connectTimeout;
        this.saveMode = b.saveMode;
        this.touchInterval = b.touchInterval;
        this.maxPendingSessions = b.maxPendingSessions;
        this.asyncWrites = b.asyncWrites;
        this.checkVersion = b.checkVersion;
        this.maxSessionsPerUser = b.maxSessionsPerUser;
        this.maxAttributeBytes = b.maxAttributeBytes;
        this.allowClasses = List.copyOf(b.allowClasses);
        this.denyClasses = List.copyOf(b.denyClasses);
        this.maxDepth = b.maxDepth;
        this.maxArrayLength = b.maxArrayLength;
        this.maxReferences = b.maxReferences;
        this.waitReplicas = b.waitReplicas;
        this.waitTimeout = b.waitTimeout;
        this.signingKeys = List.copyOf(b.signingKeys);
    }

    /** A builder holding every default of {@link Setting}, with {@code redisUri} set. */
    public static Builder builder(String redisUri) {
        return new Builder().redisUri(redisUri);
    }

    /** @see Setting#REDIS_URI */
    public String redisUri() { return redisUri; }
    /** @see Setting#KEY_PREFIX */
    public String keyPrefix() { return keyPrefix; }
    /** @see Setting#MODE */
    public boolean shared() { return shared; }
    /** @see Setting#COMMAND_TIMEOUT_MILLIS */
    public Duration commandTimeout() { return commandTimeout; }
    /** @see Setting#CONNECT_TIMEOUT_MILLIS */
    public Duration connectTimeout() { return connectTimeout; }
    /** @see Setting#SAVE_MODE */
    public SaveMode saveMode() { return saveMode; }
    /** @see Setting#TOUCH_INTERVAL_SECONDS */
    public Duration touchInterval() { return touchInterval; }
    /** @see Setting#MAX_PENDING_SESSIONS */
    public int maxPendingSessions() { return maxPendingSessions; }

    /** @see Setting#ASYNC_WRITES */
    public boolean asyncWrites() { return asyncWrites; }

    /** @see Setting#CHECK_VERSION */
    public boolean checkVersion() { return checkVersion; }

    /** @see Setting#MAX_SESSIONS_PER_USER */
    public int maxSessionsPerUser() { return maxSessionsPerUser; }
    /** @see Setting#MAX_ATTRIBUTE_BYTES */
    public int maxAttributeBytes() { return maxAttributeBytes; }
    /** @see Setting#ALLOW_CLASSES */
    public List<String> allowClasses() { return allowClasses; }
    /** @see Setting#DENY_CLASSES */
    public List<String> denyClasses() { return denyClasses; }
    /** @see Setting#MAX_DEPTH */
    public int maxDepth() { return maxDepth; }
    /** @see Setting#MAX_ARRAY_LENGTH */
    public int maxArrayLength() { return maxArrayLength; }
    /** @see Setting#MAX_REFERENCES */
    public int maxReferences() { return maxReferences; }
    /** @see Setting#WAIT_REPLICAS */
    public int waitReplicas() { return waitReplicas; }
    /** @see Setting#WAIT_TIMEOUT_MILLIS */
    public Duration waitTimeout() { return waitTimeout; }
    /** @see Setting#SIGNING_KEYS */
    public List<String> signingKeys() { return signingKeys; }

    /** The Redis URI for log lines: scheme and hosts, never a password. */
    public String redactedUri() {
        return RedisTopology.parse(redisUri, commandTimeout).describe();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.redisUri = redisUri;
        b.keyPrefix = keyPrefix;
        b.shared = shared;
        b.commandTimeout = commandTimeout;
        b.connectTimeout = connectTimeout;
        b.saveMode = saveMode;
        b.touchInterval = touchInterval;
        b.maxPendingSessions = maxPendingSessions;
        b.asyncWrites = asyncWrites;
        b.checkVersion = checkVersion;
        b.maxSessionsPerUser = maxSessionsPerUser;
        b.maxAttributeBytes = maxAttributeBytes;
        b.allowClasses = allowClasses;
        b.denyClasses = denyClasses;
        b.maxDepth = maxDepth;
        b.maxArrayLength = maxArrayLength;
        b.maxReferences = maxReferences;
        b.waitReplicas = waitReplicas;
        b.waitTimeout = waitTimeout;
        b.signingKeys = signingKeys;
        return b;
    }

    /** Builder; setters validate eagerly so a bad setting fails at start with a clear message. */
    public static final class Builder {
        private String redisUri;
        private String keyPrefix;
        private boolean shared;
        private Duration commandTimeout;
        private Duration connectTimeout;
        private SaveMode saveMode;
        private Duration touchInterval;
        private int maxPendingSessions;
        private boolean asyncWrites;
        private boolean checkVersion;
        private int maxSessionsPerUser;
        private int maxAttributeBytes;
        private List<String> allowClasses;
        private List<String> denyClasses;
        private int maxDepth;
        private int maxArrayLength;
        private int maxReferences;
        private int waitReplicas;
        private Duration waitTimeout;
        private List<String> signingKeys;

        private Builder() {
            for (Setting s : Setting.values()) {
                set(s, s.defaultValue());
            }
        }

        /**
         * Sets one setting from its text, as an administrator writes it.
         *
         * @throws IllegalArgumentException naming the setting and what is wrong with the value
         */
        public Builder set(Setting setting, String value) {
            String v = value == null ? setting.defaultValue() : value.trim();
            try {
                switch (setting) {
                    case REDIS_URI -> redisUri(v);
                    case KEY_PREFIX -> keyPrefix(v.isEmpty() ? "tether:" : v);
                    case MODE -> shared(mode(v));
                    case SAVE_MODE -> saveMode(SaveMode.parse(v));
                    case COMMAND_TIMEOUT_MILLIS -> commandTimeout(Duration.ofMillis(number(v)));
                    case CONNECT_TIMEOUT_MILLIS -> connectTimeout(Duration.ofMillis(number(v)));
                    case TOUCH_INTERVAL_SECONDS -> touchInterval(Duration.ofSeconds(number(v)));
                    case MAX_PENDING_SESSIONS -> maxPendingSessions(whole(v));
                    case ASYNC_WRITES -> asyncWrites(bool(v, "asyncWrites"));
                    case CHECK_VERSION -> checkVersion(bool(v, "checkVersion"));
                    case MAX_SESSIONS_PER_USER -> maxSessionsPerUser(whole(v));
                    case MAX_ATTRIBUTE_BYTES -> maxAttributeBytes(whole(v));
                    case ALLOW_CLASSES -> allowClasses(splitPatterns(v));
                    case DENY_CLASSES -> denyClasses(splitPatterns(v));
                    case MAX_DEPTH -> maxDepth(whole(v));
                    case MAX_ARRAY_LENGTH -> maxArrayLength(whole(v));
                    case MAX_REFERENCES -> maxReferences(whole(v));
                    case WAIT_REPLICAS -> waitReplicas(whole(v));
                    case WAIT_TIMEOUT_MILLIS -> waitTimeout(Duration.ofMillis(number(v)));
                    case SIGNING_KEYS -> signingKeys(Arrays.stream(v.split(",")).map(String::trim).filter(k -> !k.isEmpty()).toList());
                }
            } catch (IllegalArgumentException e) {
                if (setting.secret()) {
                    // Never the value: it is or may hold a password or a signing key (the message does not quote it).
                    throw new IllegalArgumentException(setting.key() + " (value not shown): " + e.getMessage());
                }
                throw new IllegalArgumentException(setting.key() + "=" + value + ": " + e.getMessage(), e);
            }
            return this;
        }

        private static boolean mode(String v) {
            return switch (v.toLowerCase(java.util.Locale.ROOT)) {
                case "sticky" -> false;
                case "shared" -> true;
                default -> throw new IllegalArgumentException("mode must be sticky or shared");
            };
        }

        private static boolean bool(String v, String name) {
            String t = v.trim().toLowerCase(java.util.Locale.ROOT);
            if (!t.equals("true") && !t.equals("false")) {
                throw new IllegalArgumentException(name + " must be true or false, not '" + v + "'");
            }
            return t.equals("true");
        }

        private static int whole(String v) {
            long n = number(v);
            if (n != (int) n) {
                throw new IllegalArgumentException("must be at most " + Integer.MAX_VALUE);
            }
            return (int) n;
        }

        private static long number(String v) {
            try {
                return Long.parseLong(v.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a whole number");
            }
        }

        public Builder redisUri(String uri) {
            Objects.requireNonNull(uri, "redisUri");
            if (!RedisTopology.isSupported(uri)) {
                throw new IllegalArgumentException("redisUri must start with redis://, rediss://, redis-sentinel://,"
                        + " rediss-sentinel://, redis-cluster:// or rediss-cluster://");
            }
            RedisTopology.parse(uri, Duration.ofSeconds(1)); // fails now, with the reason, rather than at first use
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

        /** {@code true}: shared mode, {@code false}: sticky mode (the default). */
        public Builder shared(boolean shared) { this.shared = shared; return this; }
        public Builder commandTimeout(Duration d) { this.commandTimeout = positive(d, "commandTimeout"); return this; }
        public Builder connectTimeout(Duration d) { this.connectTimeout = positive(d, "connectTimeout"); return this; }
        public Builder saveMode(SaveMode mode) { this.saveMode = Objects.requireNonNull(mode, "saveMode"); return this; }
        public Builder touchInterval(Duration d) { this.touchInterval = positive(d, "touchInterval"); return this; }
        public Builder asyncWrites(boolean on) { this.asyncWrites = on; return this; }

        public Builder checkVersion(boolean on) { this.checkVersion = on; return this; }
        public Builder maxPendingSessions(int n) { this.maxPendingSessions = atLeast(n, 0, "maxPendingSessions"); return this; }
        public Builder maxSessionsPerUser(int n) { this.maxSessionsPerUser = atLeast(n, 0, "maxSessionsPerUser"); return this; }
        public Builder maxAttributeBytes(int n) { this.maxAttributeBytes = atLeast(n, 64, "maxAttributeBytes"); return this; }
        public Builder allowClasses(List<String> patterns) { this.allowClasses = List.copyOf(patterns); return this; }
        public Builder denyClasses(List<String> patterns) { this.denyClasses = List.copyOf(patterns); return this; }
        public Builder maxDepth(int n) { this.maxDepth = atLeast(n, 1, "maxDepth"); return this; }
        public Builder maxArrayLength(int n) { this.maxArrayLength = atLeast(n, 0, "maxArrayLength"); return this; }
        public Builder maxReferences(int n) { this.maxReferences = atLeast(n, 1, "maxReferences"); return this; }
        public Builder waitReplicas(int n) { this.waitReplicas = atLeast(n, 0, "waitReplicas"); return this; }
        public Builder waitTimeout(Duration d) { this.waitTimeout = positive(d, "waitTimeout"); return this; }

        /** The first key signs, every key verifies; empty: records are not signed. */
        public Builder signingKeys(List<String> keys) {
            for (String k : keys) {
                if (k.length() < 16) {
                    throw new IllegalArgumentException("a signing key must have at least 16 characters");
                }
            }
            this.signingKeys = List.copyOf(keys);
            return this;
        }

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
        return Arrays.stream(value.split("[,;\\s]+")).filter(s -> !s.isEmpty()).toList();
    }
}
