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
 * <tr><td>{@code created}, {@code lastAccessed}, {@code lastSaved}</td><td>epoch milliseconds</td></tr>
 * <tr><td>{@code maxInactive}</td><td>seconds; 0 or less: never expires</td></tr>
 * <tr><td>{@code owner}, {@code epoch}</td><td>the fencing token: the owning node's route and its ownership epoch</td></tr>
 * <tr><td>{@code a:<name>}</td><td>one attribute, encoded by {@code AttributeCodec}</td></tr>
 * <tr><td>{@code n:<name>}</td><td>container data, such as the authenticated principal</td></tr>
 * </table>
 * Take-overs and invalidations are announced on {@code <prefix>ownership} as
 * {@code <base> <epoch> <owner>} and {@code <base> gone <owner>}.
 */
public final class RecordFormat {

    public static final String ATTRIBUTE_PREFIX = "a:";
    public static final String NOTE_PREFIX = "n:";
    public static final String CREATED = "created";
    public static final String LAST_ACCESSED = "lastAccessed";
    public static final String LAST_SAVED = "lastSaved";
    public static final String MAX_INACTIVE = "maxInactive";
    public static final String OWNER = "owner";
    public static final String EPOCH = "epoch";

    static final byte[] CREATED_FIELD = bytes(CREATED);
    static final byte[] LAST_ACCESSED_FIELD = bytes(LAST_ACCESSED);
    static final byte[] LAST_SAVED_FIELD = bytes(LAST_SAVED);
    static final byte[] MAX_INACTIVE_FIELD = bytes(MAX_INACTIVE);
    static final byte[] OWNER_FIELD = bytes(OWNER);
    static final byte[] EPOCH_FIELD = bytes(EPOCH);
    private static final byte[] TOMBSTONE_SUFFIX = bytes(":gone");
    private static final String GONE = "gone";
    private static final byte[] FULL = {'f'};
    private static final byte[] DELTA = {'d'};
    private static final byte[][] SMALL_NUMBERS = new byte[256][];
    private static final int FIELD_CACHE_LIMIT = 1024;

    static {
        for (int i = 0; i < SMALL_NUMBERS.length; i++) {
            SMALL_NUMBERS[i] = bytes(Integer.toString(i));
        }
    }

    private final String prefix;
    private final byte[] prefixBytes;
    private final String channel;
    private final byte[] channelBytes;
    private final Map<String, byte[]> attributeFields = new ConcurrentHashMap<>();
    private final Map<String, byte[]> noteFields = new ConcurrentHashMap<>();

    public RecordFormat(String keyPrefix) {
        this.prefix = keyPrefix;
        this.prefixBytes = bytes(keyPrefix);
        this.channel = keyPrefix + "ownership";
        this.channelBytes = bytes(channel);
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

    /** The pub/sub channel of take-over and invalidation announcements. */
    public String channel() {
        return channel;
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

    /**
     * The arguments of {@link Script#SAVE}.
     *
     * @param sets field/value pairs, metadata included ({@link #meta})
     * @param ttl seconds; 0 keeps the record's TTL, -1 removes it
     */
    public byte[][] saveArgs(byte[] owner, long epoch, boolean full, long ttl, List<byte[]> sets, List<byte[]> dels) {
        byte[][] args = new byte[6 + sets.size() + dels.size()][];
        args[0] = owner;
        args[1] = ascii(epoch);
        args[2] = full ? FULL : DELTA;
        args[3] = ascii(ttl);
        args[4] = ascii(sets.size() / 2);
        args[5] = ascii(dels.size());
        int i = 6;
        for (byte[] b : sets) {
            args[i++] = b;
        }
        for (byte[] b : dels) {
            args[i++] = b;
        }
        return args;
    }

    /** Appends the metadata fields a write carries; {@code owner} and {@code epoch} only in a full write. */
    public static void meta(List<byte[]> sets, long accessed, long saved, Integer maxInactive, Long created, byte[] owner, Long epoch) {
        pair(sets, LAST_ACCESSED_FIELD, ascii(accessed));
        pair(sets, LAST_SAVED_FIELD, ascii(saved));
        if (maxInactive != null) {
            pair(sets, MAX_INACTIVE_FIELD, ascii(maxInactive));
        }
        if (created != null) {
            pair(sets, CREATED_FIELD, ascii(created));
            pair(sets, OWNER_FIELD, owner);
            pair(sets, EPOCH_FIELD, ascii(epoch));
        }
    }

    private static void pair(List<byte[]> sets, byte[] field, byte[] value) {
        sets.add(field);
        sets.add(value);
    }

    /** The arguments of {@link Script#TAKE_OVER}. */
    public byte[][] takeOverArgs(String newOwner, String baseId) {
        return new byte[][] {bytes(newOwner), channelBytes, bytes(baseId)};
    }

    /** The arguments of {@link Script#DELETE}. */
    public byte[][] deleteArgs(String owner, long epoch, long tombstoneSeconds, String baseId) {
        return new byte[][] {bytes(owner), ascii(epoch), ascii(tombstoneSeconds), channelBytes, bytes(baseId)};
    }

    /** What {@link Script#SAVE} and {@link Script#DELETE} answer. */
    public enum Reply {
        OK, FENCED, GONE, MISSING;

        public static Reply of(byte[] reply) {
            String s = string(reply);
            for (Reply r : values()) {
                if (r.name().equals(s)) {
                    return r;
                }
            }
            return FENCED; // anything unexpected is treated as "not ours to write"
        }
    }

    // ---------------------------------------------------------------- reading a record

    /**
     * A record as stored, attributes still encoded.
     *
     * @param previousOwner the owner before this read (a take-over names the reader as the new one)
     */
    public record StoredRecord(String previousOwner, long epoch, long created, long lastAccessed, int maxInactive,
            long lastSaved, Map<String, byte[]> attributes, Map<String, String> notes) {
    }

    /**
     * Reads {@link Script#TAKE_OVER}'s reply.
     *
     * @return the record, or {@code null} when there is none
     */
    public static StoredRecord parseTakeOver(List<Object> reply, long now) {
        if (reply == null || reply.size() < 2) {
            return null;
        }
        String previousOwner = reply.get(0) == null ? null : string((byte[]) reply.get(0));
        @SuppressWarnings("unchecked")
        List<Object> fields = (List<Object>) reply.get(1);
        return parse(previousOwner, fields, now);
    }

    /** Reads an {@code HGETALL} reply (field, value, field, value, ...). */
    public static StoredRecord parse(String previousOwner, List<Object> fields, long now) {
        Map<String, byte[]> attributes = new HashMap<>();
        Map<String, String> notes = new HashMap<>();
        Map<String, byte[]> meta = new HashMap<>();
        for (int i = 0; i + 1 < fields.size(); i += 2) {
            String field = string((byte[]) fields.get(i));
            byte[] value = (byte[]) fields.get(i + 1);
            if (field.startsWith(ATTRIBUTE_PREFIX)) {
                attributes.put(field.substring(ATTRIBUTE_PREFIX.length()), value);
            } else if (field.startsWith(NOTE_PREFIX)) {
                notes.put(field.substring(NOTE_PREFIX.length()), string(value));
            } else {
                meta.put(field, value);
            }
        }
        return new StoredRecord(previousOwner, number(meta.get(EPOCH), 1), number(meta.get(CREATED), now),
                number(meta.get(LAST_ACCESSED), now), (int) number(meta.get(MAX_INACTIVE), -1), number(meta.get(LAST_SAVED), 0),
                attributes, notes);
    }

    // ---------------------------------------------------------------- announcements

    /** A take-over ({@code epoch} set) or an invalidation ({@code gone}) announced by a node. */
    public record Announcement(String baseId, boolean gone, long epoch, String owner) {
    }

    /** Reads an announcement; {@code null} for a message that is not one. */
    public static Announcement parseAnnouncement(String message) {
        String[] parts = message.split(" ", 3);
        if (parts.length < 3) {
            return null;
        }
        if (parts[1].equals(GONE)) {
            return new Announcement(parts[0], true, 0, parts[2]);
        }
        try {
            return new Announcement(parts[0], false, Long.parseLong(parts[1]), parts[2]);
        } catch (NumberFormatException e) {
            return null;
        }
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

    private static long number(byte[] b, long fallback) {
        if (b == null) {
            return fallback;
        }
        try {
            return Long.parseLong(string(b));
        } catch (NumberFormatException e) {
            return fallback;
        }
    }
}
