package dev.tether.store;

import java.util.Locale;

/**
 * Every setting of Tether, defined once: its name (the Tomcat {@code <Manager>} attribute, and the
 * Jetty property {@code jetty.session.redis.<name>}), its default and one line for the administrator.
 * The README's settings table, the Jetty ini-template and the Jetty module XML are checked against
 * this list by a test, so a new setting is added here and nowhere else.
 */
public enum Setting {

    REDIS_URI("redisUri", "redis://127.0.0.1:6379",
            "where Redis is: redis://, rediss://, redis-sentinel://h:p,h:p#master or redis-cluster://h:p,h:p"),
    MODE("mode", "sticky",
            "sticky: a node serving another node's session takes it over and re-suffixes the id (new cookie), so affinity holds again; shared: any node serves any request and the id never changes (balancers without affinity)"),
    KEY_PREFIX("keyPrefix", "",
            "prefix of every key; empty means tether:<container>:<host><context path>: so two applications never share sessions"),
    SAVE_MODE("saveMode", "ON_GET_ATTRIBUTE",
            "ON_SET_ATTRIBUTE writes only setAttribute/removeAttribute; ON_GET_ATTRIBUTE also mutable attributes read and changed in place; ALWAYS every attribute"),
    COMMAND_TIMEOUT_MILLIS("commandTimeoutMillis", "1000",
            "a Redis command taking longer counts as failed (Lettuce's own default is 60 s)"),
    CONNECT_TIMEOUT_MILLIS("connectTimeoutMillis", "2000",
            "longest a (re)connect to Redis may take"),
    TOUCH_INTERVAL_SECONDS("touchIntervalSeconds", "60",
            "read-only requests send nothing; at most one asynchronous refresh per session per interval keeps its record alive"),
    ASYNC_WRITES("asyncWrites", "false",
            "true: a request that changed its session is answered without waiting for Redis (writes stay ordered per session); faster, but the changes of requests answered in the last few milliseconds before a node dies are lost. Logouts and id changes always wait"),
    CHECK_VERSION("checkVersion", "false",
            "true: every request that finds its session in this node's memory asks Redis for the session's version (one round trip) instead of trusting client-side caching; closes the window in which a node starved of CPU serves a copy one write behind another node (shared mode)"),
    MAX_PENDING_SESSIONS("maxPendingSessions", "10000",
            "sessions whose latest state is kept for replay while Redis is unreachable; beyond it, requests changing further sessions are answered 503"),
    MAX_SESSIONS_PER_USER("maxSessionsPerUser", "0",
            "most sessions one user name may have at once: a login beyond it invalidates that user's least recently used session; 0: no limit"),
    MAX_ATTRIBUTE_BYTES("maxAttributeBytes", "1048576",
            "larger serialized attributes stay in this node's memory only (logged)"),
    ALLOW_CLASSES("allowClasses", "*",
            "class patterns readable from Redis (a.b.Name, a.b.*, a.b.**, prefix*); with a narrower list java.lang/util/time/math stay allowed"),
    DENY_CLASSES("denyClasses", "",
            "class patterns refused on top of the built-in list of known gadget classes"),
    MAX_DEPTH("maxDepth", "100",
            "deepest object graph read from one attribute"),
    MAX_ARRAY_LENGTH("maxArrayLength", "1000000",
            "longest array read from one attribute"),
    MAX_REFERENCES("maxReferences", "1000000",
            "most object references read from one attribute"),
    SIGNING_KEYS("signingKeys", "",
            "secrets of at least 16 characters, comma-separated: each record's attributes and principal carry an HMAC-SHA256 by the first, any of them verifies (key rotation); a record that fails is treated as missing. Empty: not signed"),
    WAIT_REPLICAS("waitReplicas", "0",
            "replicas that must acknowledge each session write (Redis WAIT); 0 does not wait"),
    WAIT_TIMEOUT_MILLIS("waitTimeoutMillis", "500",
            "longest a write waits for those replicas; a shortfall is counted and logged once, the write stands");

    private final String key;
    private final String defaultValue;
    private final String doc;

    Setting(String key, String defaultValue, String doc) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.doc = doc;
    }

    /** The name an administrator writes: {@code redisUri}, {@code saveMode}, ... */
    /** Whether the value is or may hold a secret (a password in the URI, the signing keys): never shown in a message. */
    public boolean secret() {
        return this == REDIS_URI || this == SIGNING_KEYS;
    }

    public String key() {
        return key;
    }

    public String defaultValue() {
        return defaultValue;
    }

    /** One line of documentation. */
    public String doc() {
        return doc;
    }

    /** The Jetty start property that carries this setting. */
    public String jettyProperty() {
        return "jetty.session.redis." + key;
    }

    /** The setting of this name, case-insensitively; {@code null} when there is none. */
    public static Setting named(String name) {
        if (name == null) {
            return null;
        }
        for (Setting s : values()) {
            if (s.key.toLowerCase(Locale.ROOT).equals(name.trim().toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        return null;
    }

    /** The names of all settings, for an error message. */
    /** The setting whose name is within three typing mistakes of {@code name}, for "did you mean"; {@code null} if none. */
    public static Setting nearest(String name) {
        Setting best = null;
        int bestDistance = 4;
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (Setting s : values()) {
            int d = distance(n, s.key.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                best = s;
                bestDistance = d;
            }
        }
        return best;
    }

    /** Edit distance (insertions, deletions, substitutions). */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    public static String names() {
        StringBuilder out = new StringBuilder();
        for (Setting s : values()) {
            out.append(out.length() == 0 ? "" : ", ").append(s.key);
        }
        return out.toString();
    }
}
