package dev.tether.store.record;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one owner of how a session looks in Redis: key names, field names, the scripts' arguments
 * and replies, reading a record back, and the ownership announcement. Nothing else in Tether spells
 * a key or a field.
 *
 * <p>A session is one hash, {@code <prefix>{<base id>}}; the hash tag keeps all of a session's
 * keys in one Redis Cluster slot. Its tombstone {@code <prefix>{<base id>}:gone} marks a session
 * invalidated on purpose. Fields:
 * <table>
 * <tr><td>{@code ver}</td><td>the record's version: every write that changes data raises it</td></tr>
 * <tr><td>{@code created}, {@code lastAccessed}, {@code lastSaved}</td><td>epoch milliseconds</td></tr>
 * <tr><td>{@code maxInactive}</td><td>seconds; 0 or less: never expires</td></tr>
 * <tr><td>{@code owner}</td><td>sticky mode: the route of the node that serves it</td></tr>
 * <tr><td>{@code user}</td><td>the authenticated user's name, as plain text (absent before login)</td></tr>
 * <tr><td>{@code a:<name>}</td><td>one attribute, encoded by {@code AttributeCodec}</td></tr>
 * <tr><td>{@code n:<name>}</td><td>container data, such as the authenticated principal</td></tr>
 * <tr><td>{@code m:<a: or n: field>}</td><td>{@code <version>:<node>}: who changed that field last, and when</td></tr>
 * <tr><td>{@code x:<name>}</td><td>container metadata that rides along with writes (Jetty's access times)</td></tr>
 * <tr><td>{@code h:<a: or n: field>}</td><td>with signingKeys: that field's HMAC ({@code RecordSigner})</td></tr>
 * </table>
 * Nodes learn of other nodes' writes from Redis itself (client-side caching: Redis tells each node
 * when a record it read changes), never from a channel of Tether's.
 */
public final class RecordFormat {

    public static final String ATTRIBUTE_PREFIX = "a:";
    public static final String NOTE_PREFIX = "n:";
    public static final String EXTRA_PREFIX = "x:";
    public static final String STAMP_PREFIX = "m:";
    public static final String SIGNATURE_PREFIX = "h:";
    public static final String VERSION = "ver";
    public static final String CREATED = "created";
    public static final String LAST_ACCESSED = "lastAccessed";
    public static final String LAST_SAVED = "lastSaved";
    public static final String MAX_INACTIVE = "maxInactive";
    public static final String OWNER = "owner";
    public static final String USER = "user";
    /** The score of a session that never expires, in the expiry and user indexes (year 2255). */
    public static final long NEVER = 9_000_000_000_000_000L;

    static final byte[] CREATED_FIELD = bytes(CREATED);
    static final byte[] LAST_ACCESSED_FIELD = bytes(LAST_ACCESSED);
    static final byte[] LAST_SAVED_FIELD = bytes(LAST_SAVED);
    static final byte[] MAX_INACTIVE_FIELD = bytes(MAX_INACTIVE);
    static final byte[] OWNER_FIELD = bytes(OWNER);
    private static final byte[] VERSION_FIELD = bytes(VERSION);
    private static final byte[] STAMP = bytes(STAMP_PREFIX);
    private static final byte[] COLON = {':'};
    private static final byte[] TOMBSTONE_SUFFIX = bytes(":gone");
    private static final String USER_INDEX = "user:";
    private static final byte[] FULL = {'f'};
    private static final byte[] DELTA = {'d'};
    private static final byte[] CREATE = {'c'};
    private static final byte[][] SMALL_NUMBERS = new byte[256][];
    private static final int FIELD_CACHE_LIMIT = 1024;

    static {
        for (int i = 0; i < SMALL_NUMBERS.length; i++) {
            SMALL_NUMBERS[i] = bytes(Integer.toString(i));
        }
    }

    private final String prefix;
    private final byte[] prefixBytes;
    private final Map<String, byte[]> attributeFields = new ConcurrentHashMap<>();
    private final Map<String, byte[]> noteFields = new ConcurrentHashMap<>();
    private final Map<String, byte[]> extraFields = new ConcurrentHashMap<>();
    private final Map<String, byte[]> signatureFields = new ConcurrentHashMap<>();

    public RecordFormat(String keyPrefix) {
        this.prefix = keyPrefix;
        this.prefixBytes = bytes(keyPrefix);
    }

    // ---------------------------------------------------------------- keys

    /** The record's key, as text (for operators and tests). */
    public String key(String baseId) {
        return prefix + "{" + baseId + "}";
    }

    /** The pattern that matches every record key under this prefix (for SCAN). */
    public String keyPattern() {
        return prefix + "{*}";
    }

    public byte[] recordKey(String baseId) {
        return key(baseId, false);
    }

    /**
     * The pattern that matches the record keys of every application whose key prefix starts with
     * this one (for an operator's SCAN: the default prefixes {@code tether:<container>:<host><path>:}
     * all start with {@code tether:}).
     */
    public String applicationsKeyPattern() {
        return glob(prefix) + "*{*}";
    }

    /** The pattern that matches the record of one base id under every such application. */
    public String applicationsKeyPattern(String baseId) {
        return glob(prefix) + "*{" + glob(baseId) + "}";
    }

    /** The pattern that matches one user's index under every such application (see {@link #userKey}). */
    public String applicationsUserKeyPattern(String userName) {
        return glob(prefix) + "*" + USER_INDEX + "{" + userDigest(userName) + "}";
    }

    /** The key prefix of a record key, or {@code null} when it is none (no hash tag at its end). */
    public static String prefixOfKey(String key) {
        int open = key.indexOf('{');
        return open < 0 || !key.endsWith("}") ? null : key.substring(0, open);
    }

    /** The key prefix of a user index key, or {@code null} when it is none. */
    public static String prefixOfUserKey(String key) {
        String before = prefixOfKey(key);
        return before == null || !before.endsWith(USER_INDEX) ? null : before.substring(0, before.length() - USER_INDEX.length());
    }

    /** Text matched literally by a SCAN pattern. */
    private static String glob(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    /**
     * One bucket of the expiry index: a sorted set of base ids by expiry time (epoch ms). Sixteen of
     * them, each with its own hash tag, so that they spread over a Redis Cluster.
     */
    public byte[] expiryKey(int bucket) {
        return bytes(prefix + "expiry:{" + bucket + "}");
    }

    /**
     * The sessions of one user: a sorted set of base ids by expiry time (epoch ms). The key holds a
     * digest of the name, never the name: any text may be a user name, and none becomes a key.
     */
    public byte[] userKey(String userName) {
        return bytes(prefix + USER_INDEX + "{" + userDigest(userName) + "}");
    }

    /** 128 bits of SHA-256 over the UTF-8 name, in hex. */
    public static String userDigest(String userName) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(userName.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d, 0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JVM has SHA-256
        }
    }

    /** The hash in which each node reports how many sessions it holds: route -> "count epoch-ms". */
    public byte[] nodesKey() {
        return bytes(prefix + "nodes");
    }

    /** Record and tombstone: the keys of the save and delete scripts. */
    public byte[][] recordAndTombstone(String baseId) {
        return new byte[][] {key(baseId, false), key(baseId, true)};
    }

    /** {@code <prefix>{<base>}} (+ {@code :gone}) as bytes, with one copy of each part. */
    private byte[] key(String baseId, boolean tombstone) {
        byte[] base = bytes(baseId);
        byte[] out = new byte[prefixBytes.length + base.length + 2 + (tombstone ? TOMBSTONE_SUFFIX.length : 0)];
        System.arraycopy(prefixBytes, 0, out, 0, prefixBytes.length);
        int at = prefixBytes.length;
        out[at++] = '{';
        System.arraycopy(base, 0, out, at, base.length);
        at += base.length;
        out[at++] = '}';
        if (tombstone) {
            System.arraycopy(TOMBSTONE_SUFFIX, 0, out, at, TOMBSTONE_SUFFIX.length);
        }
        return out;
    }

    /**
     * The base id of a record key, from an invalidation; {@code null} for any other key (a
     * tombstone, another prefix).
     */
    public String baseOfKey(String key) {
        if (key == null || !key.startsWith(prefix) || key.length() < prefix.length() + 3 || key.charAt(prefix.length()) != '{'
                || key.charAt(key.length() - 1) != '}') {
            return null;
        }
        return key.substring(prefix.length() + 1, key.length() - 1);
    }

    // ---------------------------------------------------------------- fields

    /**
     * The bytes of an {@code a:} field name. Applications use a handful of attribute names over and
     * over, so they are made once; the cache stops growing at a bound, past which (an application
     * inventing names per request) they are made on each use.
     */
    public byte[] attributeField(String name) {
        return field(attributeFields, ATTRIBUTE_PREFIX, name);
    }

    public byte[] noteField(String name) {
        return field(noteFields, NOTE_PREFIX, name);
    }

    public byte[] extraField(String name) {
        return field(extraFields, EXTRA_PREFIX, name);
    }

    /** The field holding the signature of a data field ({@code a:cart} -> {@code h:a:cart}). */
    public byte[] signatureField(String dataField) {
        return field(signatureFields, SIGNATURE_PREFIX, dataField);
    }

    private static byte[] field(Map<String, byte[]> cache, String prefix, String name) {
        byte[] b = cache.get(name);
        if (b == null) {
            b = bytes(prefix + name);
            if (cache.size() < FIELD_CACHE_LIMIT) {
                cache.put(name, b);
            }
        }
        return b;
    }

    // ---------------------------------------------------------------- script arguments

    /** How a write meets the record. */
    public enum WriteMode {
        /** Change the fields named, on the version this node knows (or merge). */
        DELTA('d'),
        /** Replace the record with this node's full state. */
        FULL('f'),
        /** Make a new record; it must not exist (the new id of an id change). */
        CREATE('c');

        final byte[] code;

        WriteMode(char code) {
            this.code = new byte[] {(byte) code};
        }
    }

    /**
     * The arguments of {@link Script#SAVE}.
     *
     * @param node this writer's identity, for the field stamps
     * @param base the record version this node's copy reflects
     * @param sets field/value pairs, metadata included ({@link #meta})
     * @param ttl seconds; 0 keeps the record's TTL, -1 removes it
     */
    public byte[][] saveArgs(byte[] node, long base, WriteMode mode, long ttl, List<byte[]> sets, List<byte[]> dels) {
        // The version and stamps of the usual case, a write on the version Redis holds (base + 1),
        // are made here rather than in the script: Lua's string work costs Redis more than the bytes.
        int data = 0;
        for (int i = 0; i < sets.size(); i += 2) {
            if (isData(sets.get(i))) {
                data++;
            }
        }
        for (byte[] field : dels) {
            if (isData(field)) {
                data++;
            }
        }
        byte[] next = ascii(base + 1);
        byte[] stamp = concat(next, COLON, node);
        int pairs = sets.size() / 2 + 1 + data;
        byte[][] args = new byte[6 + 2 * pairs + dels.size()][];
        args[0] = node;
        args[1] = ascii(base);
        args[2] = mode.code;
        args[3] = ascii(ttl);
        args[4] = ascii(pairs);
        args[5] = ascii(dels.size());
        int i = 6;
        args[i++] = VERSION_FIELD;
        args[i++] = next;
        for (int s = 0; s < sets.size(); s += 2) {
            byte[] field = sets.get(s);
            args[i++] = field;
            args[i++] = sets.get(s + 1);
            if (isData(field)) {
                args[i++] = concat(STAMP, field);
                args[i++] = stamp;
            }
        }
        for (byte[] field : dels) {
            if (isData(field)) { // a removal is a change too: stamped, so that a merge sees it
                args[i++] = concat(STAMP, field);
                args[i++] = stamp;
            }
        }
        for (byte[] field : dels) {
            args[i++] = field;
        }
        return args;
    }

    /** An attribute or container note: the fields whose changes are stamped and merged. */
    private static boolean isData(byte[] field) {
        return field.length > 2 && field[1] == ':' && (field[0] == 'a' || field[0] == 'n');
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** Appends the metadata fields a write carries; {@code created} only in a full write. */
    public static void meta(List<byte[]> sets, long accessed, long saved, Integer maxInactive, Long created, byte[] owner) {
        pair(sets, LAST_ACCESSED_FIELD, ascii(accessed));
        pair(sets, LAST_SAVED_FIELD, ascii(saved));
        if (maxInactive != null) {
            pair(sets, MAX_INACTIVE_FIELD, ascii(maxInactive));
        }
        if (created != null) {
            pair(sets, CREATED_FIELD, ascii(created));
            if (owner != null) {
                pair(sets, OWNER_FIELD, owner);
            }
        }
    }

    private static void pair(List<byte[]> sets, byte[] field, byte[] value) {
        sets.add(field);
        sets.add(value);
    }

    /** The arguments of {@link Script#LOAD}: the owner to name, or none. */
    public byte[][] loadArgs(String owner) {
        return new byte[][] {bytes(owner == null ? "" : owner)};
    }

    /** The arguments of {@link Script#DELETE}. */
    public byte[][] deleteArgs(long tombstoneSeconds) {
        return new byte[][] {ascii(tombstoneSeconds), bytes("invalidated")};
    }

    /** The arguments of {@link Script#MOVE}. */
    public byte[][] moveArgs(long base, long tombstoneSeconds) {
        return new byte[][] {ascii(base), ascii(tombstoneSeconds)};
    }

    /** The arguments of {@link Script#EXPIRE}. */
    public byte[][] expireArgs(long now, long slackMillis, String ownerWithoutSlack, long tombstoneSeconds) {
        return new byte[][] {ascii(now), ascii(slackMillis), bytes(ownerWithoutSlack == null ? "" : ownerWithoutSlack),
                ascii(tombstoneSeconds)};
    }

    /** What a script answered: its first element, and the rest as they came. */
    public record Reply(Kind kind, long version, String field, List<Object> rest) {

        public enum Kind { OK, CONFLICT, GONE, MISSING, STALE, EXPIRED, ALIVE }

        /** Reads a multi-bulk reply ({@code {'OK', 7}}) or a status reply ({@code 'OK'}). */
        @SuppressWarnings("unchecked")
        public static Reply of(Object reply) {
            if (reply instanceof byte[] b) {
                return new Reply(Kind.valueOf(string(b)), 0, null, List.of());
            }
            List<Object> parts = (List<Object>) reply;
            Kind kind = Kind.valueOf(string((byte[]) parts.get(0)));
            long version = parts.size() > 1 && parts.get(1) instanceof Long l ? l : 0;
            String field = parts.size() > 2 && parts.get(2) instanceof byte[] f ? string(f) : null;
            return new Reply(kind, version, field, parts.subList(1, parts.size()));
        }
    }

    // ---------------------------------------------------------------- reading a record

    /**
     * A record as stored, attributes still encoded.
     *
     * @param previousOwner the owner before this read (a sticky load names the reader as the new one)
     */
    public record StoredRecord(String previousOwner, long version, long created, long lastAccessed, int maxInactive,
            long lastSaved, Map<String, byte[]> attributes, Map<String, String> notes, Map<String, String> extras,
            Map<String, byte[]> signatures, String user) {
    }

    /**
     * Reads {@link Script#LOAD}'s reply.
     *
     * @return the record, or {@code null} when there is none
     */
    public static StoredRecord parseLoad(List<Object> reply, long now) {
        if (reply == null || reply.size() < 2) {
            return null;
        }
        String previousOwner = reply.get(0) == null ? "" : string((byte[]) reply.get(0));
        @SuppressWarnings("unchecked")
        List<Object> fields = (List<Object>) reply.get(1);
        return parse(previousOwner, fields, now);
    }

    /** Reads an {@code HGETALL} reply (field, value, field, value, ...). */
    public static StoredRecord parse(String previousOwner, List<Object> fields, long now) {
        Map<String, byte[]> attributes = new HashMap<>();
        Map<String, String> notes = new HashMap<>();
        Map<String, String> extras = new HashMap<>();
        Map<String, byte[]> signatures = new HashMap<>();
        Map<String, byte[]> meta = new HashMap<>();
        for (int i = 0; i + 1 < fields.size(); i += 2) {
            String field = string((byte[]) fields.get(i));
            byte[] value = (byte[]) fields.get(i + 1);
            if (field.startsWith(ATTRIBUTE_PREFIX)) {
                attributes.put(field.substring(ATTRIBUTE_PREFIX.length()), value);
            } else if (field.startsWith(NOTE_PREFIX)) {
                notes.put(field.substring(NOTE_PREFIX.length()), string(value));
            } else if (field.startsWith(EXTRA_PREFIX)) {
                extras.put(field.substring(EXTRA_PREFIX.length()), string(value));
            } else if (field.startsWith(SIGNATURE_PREFIX)) {
                signatures.put(field.substring(SIGNATURE_PREFIX.length()), value);
            } else if (!field.startsWith(STAMP_PREFIX)) {
                meta.put(field, value);
            }
        }
        return new StoredRecord(previousOwner, number(meta.get(VERSION), 0, VERSION), number(meta.get(CREATED), now, CREATED),
                number(meta.get(LAST_ACCESSED), now, LAST_ACCESSED), (int) number(meta.get(MAX_INACTIVE), -1, MAX_INACTIVE),
                number(meta.get(LAST_SAVED), 0, LAST_SAVED),
                attributes, notes, extras, signatures, meta.containsKey(USER) ? string(meta.get(USER)) : null);
    }

    // ---------------------------------------------------------------- bytes

    public static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    public static String string(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /** A number as Redis reads it; the small ones (counts, epochs, modes) made once. */
    public static byte[] ascii(long v) {
        if (v >= 0 && v < SMALL_NUMBERS.length) {
            return SMALL_NUMBERS[(int) v];
        }
        return Long.toString(v).getBytes(StandardCharsets.ISO_8859_1); // Long.toString is the JDK's fastest path to digits
    }

    private static long number(byte[] b, long fallback, String field) {
        if (b == null) {
            return fallback;
        }
        try {
            return Long.parseLong(string(b));
        } catch (NumberFormatException e) {
            throw new DamagedRecordException(field);
        }
    }

    /**
     * A record whose metadata is not what Tether writes (a number that is not one): never guessed
     * at, since a guess such as "never expires" would keep a session alive for good.
     */
    public static final class DamagedRecordException extends RuntimeException {
        public final String field;

        DamagedRecordException(String field) {
            super("field '" + field + "' is not a number", null, false, false);
            this.field = field;
        }
    }
}
