package dev.tether.store;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectStreamException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * The session repository: one Redis hash per session, keyed by the id's base, written as deltas
 * through fenced Lua scripts on one shared connection. Container adapters wrap it.
 *
 * <p>Record layout ({@code <prefix>{<base>}}): {@code created}, {@code lastAccessed},
 * {@code maxInactive}, {@code owner}, {@code epoch}, {@code lastSaved}, one {@code a:<name>} field per
 * attribute and {@code n:<name>} per container note. The hash tag keeps a session's keys in one
 * Redis Cluster slot. A tombstone {@code <prefix>{<base>}:gone} marks a session deleted on purpose.
 */
public final class RedisSessionStore implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("dev.tether.store");
    static final String ATTRIBUTE_PREFIX = "a:";
    static final String NOTE_PREFIX = "n:";
    private static final byte[] OK = "OK".getBytes(StandardCharsets.US_ASCII);
    private static final CompletableFuture<WriteOutcome> UNCHANGED = CompletableFuture.completedFuture(WriteOutcome.UNCHANGED);
    private static final byte[] LAST_ACCESSED = bytes("lastAccessed");
    private static final byte[] LAST_SAVED = bytes("lastSaved");
    private static final byte[] MAX_INACTIVE = bytes("maxInactive");
    private static final byte[] CREATED = bytes("created");
    private static final byte[] OWNER = bytes("owner");
    private static final byte[] EPOCH = bytes("epoch");
    private static final byte[] GONE = bytes(":gone");
    private static final byte[] FULL = {'f'};
    private static final byte[] DELTA = {'d'};
    private static final byte[][] SMALL_NUMBERS = new byte[256][];
    private static final int FIELD_CACHE_LIMIT = 1024;

    static {
        for (int i = 0; i < SMALL_NUMBERS.length; i++) {
            SMALL_NUMBERS[i] = bytes(Integer.toString(i));
        }
    }

    private final SessionStoreOptions options;
    private final String route;
    private final RedisConnection redis;
    private final AttributeCodec codec;
    private final StoreStats stats = new StoreStats();
    private final String saveSha = sha1(Scripts.SAVE);
    private final String takeOverSha = sha1(Scripts.TAKE_OVER);
    private final String deleteSha = sha1(Scripts.DELETE);
    private final long touchMillis;
    private final byte[] prefixBytes;
    private final byte[] routeBytes;
    private final Map<String, byte[]> attributeFields = new ConcurrentHashMap<>();
    private final Map<String, byte[]> noteFields = new ConcurrentHashMap<>();
    /** Whether Redis was reachable before: the next time it becomes reachable is a recovery. */
    private volatile boolean connectedBefore;
    /** Tests set this to play a node cut off from announcements (pub/sub lost in a partition). */
    volatile boolean announcementsMuted;
    /** Pub/sub channel on which take-overs and deletes are announced to the other nodes. */
    private final String channel;
    /** Every session this node owns, by base id: replayed after an outage. */
    private final Map<String, SessionState> owned = new ConcurrentHashMap<>();
    /** Sessions whose latest state must be written once Redis is back. */
    private final Map<String, SessionState> pendingSaves = new ConcurrentHashMap<>();
    /** Deletes to replay once Redis is back: base id to the fencing token it was deleted with. */
    private final Map<String, PendingDelete> pendingDeletes = new ConcurrentHashMap<>();
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.LongAdder dropped = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.AtomicLong lastDropSummary = new java.util.concurrent.atomic.AtomicLong();

    private record PendingDelete(String owner, long epoch, long tombstoneSeconds) {
    }

    /**
     * Opens the store. Never blocks on Redis: the connection is made in the background and retried
     * until it succeeds, so a container starts even when Redis is down.
     *
     * @param route this node's route (jvmRoute, workerName); it names the owner in each record
     */
    public RedisSessionStore(SessionStoreOptions options, String route) {
        this.options = options;
        this.route = route == null || route.isEmpty() ? "-" : route;
        this.codec = new AttributeCodec(new ClassFilter(options), options.maxAttributeBytes());
        this.touchMillis = options.touchInterval().toMillis();
        this.prefixBytes = bytes(options.keyPrefix());
        this.routeBytes = bytes(this.route);
        this.channel = options.keyPrefix() + "ownership";
        this.redis = new RedisConnection(options, channel, new RedisConnection.Listener() {
            @Override
            public int onAvailable() {
                return onRedisAvailable();
            }

            @Override
            public void onOwnershipMessage(String message) {
                onOwnershipChange(message);
            }
        });
    }

    public SessionStoreOptions options() {
        return options;
    }

    public String route() {
        return route;
    }

    public StoreStats stats() {
        return stats;
    }

    public boolean isRedisAvailable() {
        return redis.isUp();
    }

    /** Sessions whose latest state waits for Redis to come back. */
    public int pendingWrites() {
        return pendingSaves.size() + pendingDeletes.size();
    }

    /**
     * Waits, at most {@code timeout}, for the first connection. A container calls this while it
     * starts so that the first requests after a restart (the very ones a balancer fails over) find
     * their sessions; Redis being down only delays the start by the timeout.
     */
    public boolean awaitConnected() {
        // Room for one slow handshake and one retry; Redis being down delays the start by this much.
        return awaitConnected(options.connectTimeout().multipliedBy(2).plusMillis(500));
    }

    /** As {@link #awaitConnected()}, with an explicit bound. */
    public boolean awaitConnected(java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!redis.isUp() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return redis.isUp();
    }

    /** The Redis key of a session's record, for operators and tests. */
    public String recordKey(String baseId) {
        return options.keyPrefix() + "{" + baseId + "}";
    }

    private byte[] recordKeyBytes(String baseId) {
        return keyBytes(baseId, false);
    }

    private byte[] tombstoneKeyBytes(String baseId) {
        return keyBytes(baseId, true);
    }

    /** {@code <prefix>{<base>}} (+ {@code :gone}) as bytes, with one copy of each part. */
    private byte[] keyBytes(String baseId, boolean tombstone) {
        byte[] base = bytes(baseId);
        byte[] out = new byte[prefixBytes.length + base.length + 2 + (tombstone ? GONE.length : 0)];
        System.arraycopy(prefixBytes, 0, out, 0, prefixBytes.length);
        int at = prefixBytes.length;
        out[at++] = '{';
        System.arraycopy(base, 0, out, at, base.length);
        at += base.length;
        out[at++] = '}';
        if (tombstone) {
            System.arraycopy(GONE, 0, out, at, GONE.length);
        }
        return out;
    }

    private byte[] ownerBytes(SessionState s) {
        return s.owner.equals(route) ? routeBytes : bytes(s.owner);
    }

    // ---------------------------------------------------------------- create and load

    /** State for a session created on this node; it reaches Redis with its first commit. */
    public SessionState create(String baseId, LiveSession live) {
        SessionState s = new SessionState(baseId, route, 1);
        s.bind(live);
        owned.put(baseId, s);
        stats.created.increment();
        return s;
    }

    /**
     * Loads a session from Redis and makes this node its owner, bumping the ownership epoch so that
     * any other node's later writes to it are refused.
     *
     * @return the session, or {@code null} when Redis has no such record or cannot be reached
     */
    public LoadedSession takeOver(String baseId, ClassLoader loader) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp()) {
            stats.unavailable.increment();
            return null;
        }
        List<Object> reply = takeOverReply(cmd, baseId);
        if (reply == FAILED && redis.isCluster()) {
            // The key's master may have died and a replica taken over its slots since this node last
            // used them (Lettuce only notices on its own later): learn the cluster's current
            // topology and try once more, rather than report an existing session as missing.
            redis.refreshTopology();
            reply = takeOverReply(cmd, baseId);
        }
        if (reply == FAILED) {
            return null;
        }
        if (reply == null || reply.size() < 2) {
            stats.missed.increment();
            return null;
        }
        String previousOwner = reply.get(0) == null ? null : string((byte[]) reply.get(0));
        @SuppressWarnings("unchecked")
        List<Object> fields = (List<Object>) reply.get(1);
        Map<String, byte[]> raw = new HashMap<>();
        for (int i = 0; i + 1 < fields.size(); i += 2) {
            raw.put(string((byte[]) fields.get(i)), (byte[]) fields.get(i + 1));
        }
        SessionState s = new SessionState(baseId, route, parseLong(raw.get("epoch"), 1));
        s.persisted = true;
        Map<String, Object> attributes = new HashMap<>();
        Map<String, String> notes = new HashMap<>();
        for (Map.Entry<String, byte[]> e : raw.entrySet()) {
            String field = e.getKey();
            if (field.startsWith(NOTE_PREFIX)) {
                notes.put(field.substring(NOTE_PREFIX.length()), string(e.getValue()));
            } else if (field.startsWith(ATTRIBUTE_PREFIX)) {
                String name = field.substring(ATTRIBUTE_PREFIX.length());
                Object value = decode(baseId, name, e.getValue(), loader, s);
                if (value != null) {
                    attributes.put(name, value);
                    s.savedHashes.put(name, AttributeCodec.hash(e.getValue()));
                }
            }
        }
        long now = System.currentTimeMillis();
        long accessed = parseLong(raw.get("lastAccessed"), now);
        s.lastWrittenAccess = accessed;
        s.lastWriteMillis = now;
        s.lastWrittenMaxInactive = (int) parseLong(raw.get("maxInactive"), -1);
        owned.put(baseId, s);
        if (previousOwner != null && !previousOwner.equals(route)) {
            stats.takenOver(previousOwner);
        } else {
            stats.loaded.increment();
        }
        return new LoadedSession(s, parseLong(raw.get("created"), now), accessed, s.lastWrittenMaxInactive,
                parseLong(raw.get("lastSaved"), 0), previousOwner, attributes, notes);
    }

    /** Marks a take-over whose command failed (as opposed to finding no record). */
    private static final List<Object> FAILED = new ArrayList<>();

    private List<Object> takeOverReply(RedisClusterAsyncCommands<byte[], byte[]> cmd, String baseId) {
        try {
            return await(eval(cmd, takeOverSha, Scripts.TAKE_OVER, ScriptOutputType.MULTI,
                    new byte[][] {recordKeyBytes(baseId)}, bytes(route), bytes(channel), bytes(baseId)), FAILED);
        } catch (RuntimeException e) {
            failed(e);
            return FAILED;
        }
    }

    private Object decode(String baseId, String name, byte[] bytes, ClassLoader loader, SessionState s) {
        try {
            return codec.decode(bytes, loader);
        } catch (AttributeCodec.RejectedClassException e) {
            stats.rejected.increment();
            s.forgetStored(name); // hostile or forbidden: clean it out of the record on the next write
            LOG.warning("Tether: dropped attribute '" + name + "' of session " + SessionId.redact(baseId)
                    + ": class " + e.classname + " is refused by the class filter (allowClasses/denyClasses); nothing was instantiated");
        } catch (ClassNotFoundException e) {
            stats.rejected.increment();
            LOG.warning("Tether: dropped attribute '" + name + "' of session " + SessionId.redact(baseId)
                    + ": the web application has no class " + e.getMessage() + " (redeployed with different classes?)");
        } catch (IOException | RuntimeException e) {
            stats.rejected.increment();
            s.forgetStored(name);
            String why = e instanceof ObjectStreamException || e instanceof AttributeCodec.AttributeTooLargeException
                    ? e.getMessage() : RedisConnection.describe(e);
            LOG.warning("Tether: dropped attribute '" + name + "' of session " + SessionId.redact(baseId)
                    + ": its stored bytes cannot be read (" + why + ")");
        }
        return null;
    }

    // ---------------------------------------------------------------- writes

    /**
     * Ends a request's use of a session: writes what changed as one fenced delta, or nothing at all
     * when nothing changed (then at most one asynchronous TTL refresh per touch interval).
     * The returned stage completes when Redis has answered; a caller that must not acknowledge a
     * request before its data is stored waits for it.
     */
    public CompletionStage<WriteOutcome> commit(SessionState s) {
        boolean last = s.activeRequests.get() <= 0 || s.activeRequests.decrementAndGet() <= 0;
        if (s.activeRequests.get() < 0) {
            s.activeRequests.set(0);
        }
        return write(s, last, false);
    }

    private CompletableFuture<WriteOutcome> write(SessionState s, boolean drainReads, boolean forceTouch) {
        if (s.lost) {
            return CompletableFuture.completedFuture(WriteOutcome.LOST);
        }
        LiveSession live = s.live;
        if (live == null || (!forceTouch && nothingToWrite(s, live))) {
            return unchanged(s);
        }
        synchronized (s) {
            long now = System.currentTimeMillis();
            Map<String, Object> attributes = live.attributes();
            boolean full = s.needsFull || !s.persisted;
            List<byte[]> sets = new ArrayList<>();
            List<byte[]> dels = new ArrayList<>();
            if (full) {
                s.savedHashes.clear();
                s.setNames().clear();
                s.removedNames().clear();
                if (drainReads) {
                    s.readNames().clear();
                }
                for (Map.Entry<String, Object> e : attributes.entrySet()) {
                    encodeInto(s, e.getKey(), e.getValue(), true, sets, dels);
                }
            } else {
                collectDelta(s, attributes, drainReads, sets, dels);
            }
            long accessed = live.lastAccessedTime();
            int maxInactive = live.maxInactiveSeconds();
            boolean maxInactiveChanged = maxInactive != s.lastWrittenMaxInactive;
            Map<String, String> notes = live.notes(); // an adapter may build this map on each call
            boolean touchDue = accessed != s.lastWrittenAccess && (forceTouch || now - s.lastWriteMillis >= touchMillis);
            boolean notesChanged = s.notesChanged(notes);
            if (!full && sets.isEmpty() && dels.isEmpty() && !touchDue && !notesChanged && !maxInactiveChanged) {
                return unchanged(s);
            }
            boolean waitForIt = full || !sets.isEmpty() || !dels.isEmpty() || notesChanged || maxInactiveChanged;
            // The TTL (max-inactive + 2 touch intervals) needs setting at most once per touch interval:
            // one command less inside Redis for most writes of a busy session.
            boolean setTtl = full || maxInactiveChanged || now - s.lastExpireMillis >= touchMillis;
            meta(sets, LAST_ACCESSED, ascii(accessed));
            meta(sets, LAST_SAVED, ascii(now));
            if (maxInactiveChanged || full) {
                meta(sets, MAX_INACTIVE, ascii(maxInactive));
            }
            if (full) {
                meta(sets, CREATED, ascii(live.creationTime()));
                meta(sets, OWNER, ownerBytes(s));
                meta(sets, EPOCH, ascii(s.epoch));
            }
            if (full || notesChanged) {
                for (Map.Entry<String, String> n : notes.entrySet()) {
                    meta(sets, fieldBytes(NOTE_PREFIX, n.getKey()), bytes(n.getValue()));
                }
            }
            if (!full && notesChanged) {
                for (String gone : s.removedNotes(notes)) {
                    dels.add(fieldBytes(NOTE_PREFIX, gone));
                }
            }
            s.rememberNotes(notes);
            s.lastWriteMillis = now;
            s.lastWrittenAccess = accessed;
            s.lastWrittenMaxInactive = maxInactive;
            // A full write always replaces the record ('f'), a session's first ones too: an earlier first
            // write may still be in flight, and attributes removed since must not survive it.
            byte[] mode = full ? FULL : DELTA;
            s.needsFull = false;
            if (setTtl) {
                s.lastExpireMillis = now;
            }
            CompletableFuture<WriteOutcome> result = dispatchSave(s, mode, setTtl ? ttlSeconds(maxInactive) : 0, sets, dels);
            if (waitForIt) {
                s.inFlight = result;
                return result;
            }
            return UNCHANGED;
        }
    }

    /**
     * Nothing new to write. But a write still in flight may carry this request's changes (another
     * request's commit, or a replay, drained them first): then this request waits for it too, so
     * that no response is acknowledged before Redis holds its data.
     */
    private static CompletableFuture<WriteOutcome> unchanged(SessionState s) {
        CompletableFuture<WriteOutcome> pending = s.inFlight;
        if (pending == null || pending.isDone()) {
            return UNCHANGED;
        }
        return pending.thenApply(o -> o == WriteOutcome.SAVED || o == WriteOutcome.QUEUED ? o : WriteOutcome.UNCHANGED);
    }

    /**
     * The common case, decided without the lock or any allocation: a request that set, removed and
     * read nothing mutable, with no touch due. A change racing this check is written by the
     * commit of the request that made it.
     */
    private boolean nothingToWrite(SessionState s, LiveSession live) {
        SaveMode mode = options.saveMode();
        if (mode == SaveMode.ALWAYS || s.needsFull || !s.persisted || !s.setNames().isEmpty() || !s.removedNames().isEmpty()
                || (mode == SaveMode.ON_GET_ATTRIBUTE && !s.readNames().isEmpty())) {
            return false;
        }
        long accessed = live.lastAccessedTime();
        if (accessed != s.lastWrittenAccess && System.currentTimeMillis() - s.lastWriteMillis >= touchMillis) {
            return false;
        }
        return live.maxInactiveSeconds() == s.lastWrittenMaxInactive && !s.notesChanged(live.notes());
    }

    /**
     * A delta: the names the application set (always encoded), the mutable values it read (encoded,
     * written only if their bytes changed), every attribute in {@link SaveMode#ALWAYS}, and removals.
     * Each name is taken out of its set before its value is read, so a change racing this commit is
     * either written now or left for the next one; no copies of the sets are made on the hot path.
     */
    private void collectDelta(SessionState s, Map<String, Object> attributes, boolean drainReads, List<byte[]> sets, List<byte[]> dels) {
        java.util.Collection<String> explicit = List.of();
        Set<String> setNames = s.setNames();
        if (!setNames.isEmpty()) {
            List<String> taken = new ArrayList<>(4);
            for (java.util.Iterator<String> it = setNames.iterator(); it.hasNext(); ) {
                String name = it.next();
                it.remove();
                taken.add(name);
                encodeCurrent(s, name, attributes.get(name), true, sets, dels);
            }
            explicit = taken.size() > 8 ? new java.util.HashSet<>(taken) : taken;
        }
        SaveMode mode = options.saveMode();
        if (mode != SaveMode.ON_SET_ATTRIBUTE) {
            for (java.util.Iterator<String> it = s.readNames().iterator(); it.hasNext(); ) {
                String name = it.next();
                if (drainReads) {
                    it.remove();
                }
                Object value = attributes.get(name);
                if (!explicit.contains(name) && (value == null || mode != SaveMode.ALWAYS)) {
                    encodeCurrent(s, name, value, false, sets, dels);
                }
            }
        }
        if (mode == SaveMode.ALWAYS) {
            for (Map.Entry<String, Object> e : attributes.entrySet()) {
                if (!explicit.contains(e.getKey())) {
                    encodeInto(s, e.getKey(), e.getValue(), false, sets, dels);
                }
            }
        }
        for (java.util.Iterator<String> it = s.removedNames().iterator(); it.hasNext(); ) {
            String name = it.next();
            it.remove();
            if (!attributes.containsKey(name)) {
                s.savedHashes.remove(name);
                dels.add(fieldBytes(ATTRIBUTE_PREFIX, name));
            }
        }
    }

    /** One attribute of a delta: its current value, or its deletion when it has none any more. */
    private void encodeCurrent(SessionState s, String name, Object value, boolean explicit, List<byte[]> sets, List<byte[]> dels) {
        if (value != null) {
            encodeInto(s, name, value, explicit, sets, dels);
        } else if (s.savedHashes.remove(name) != null) {
            dels.add(fieldBytes(ATTRIBUTE_PREFIX, name));
        }
    }

    private void encodeInto(SessionState s, String name, Object value, boolean explicit, List<byte[]> sets, List<byte[]> dels) {
        Long saved = s.savedHashes.get(name);
        if (saved != null && !explicit && AttributeCodec.isImmutable(value)) {
            return;
        }
        byte[] encoded;
        try {
            encoded = codec.encode(value);
        } catch (AttributeCodec.AttributeTooLargeException e) {
            stats.tooLarge.increment();
            if (reported.add("size:" + name + ":" + value.getClass().getName())) {
                LOG.warning("Tether: attribute '" + name + "' (" + value.getClass().getName() + ") serializes to " + e.size
                        + " bytes, over maxAttributeBytes=" + options.maxAttributeBytes()
                        + "; it stays in this node's memory only and would be lost on failover");
            }
            forget(s, name, dels);
            return;
        } catch (IOException | RuntimeException e) {
            stats.notSerializable.increment();
            String type = e instanceof NotSerializableException ? e.getMessage() : value.getClass().getName();
            if (reported.add("ser:" + type)) {
                LOG.warning("Tether: attribute '" + name + "' holds " + type
                        + ", which is not serializable; it stays in this node's memory only and would be lost on failover"
                        + " (logged once per class)");
            }
            forget(s, name, dels);
            return;
        }
        long h = AttributeCodec.hash(encoded);
        if (saved != null && saved == h) {
            return;
        }
        s.savedHashes.put(name, h);
        sets.add(fieldBytes(ATTRIBUTE_PREFIX, name));
        sets.add(encoded);
    }

    /** An attribute that can no longer be written must not survive in Redis with an older value. */
    private void forget(SessionState s, String name, List<byte[]> dels) {
        if (s.savedHashes.remove(name) != null || !s.persisted) {
            dels.add(fieldBytes(ATTRIBUTE_PREFIX, name));
        }
    }

    private static void meta(List<byte[]> sets, byte[] field, byte[] value) {
        sets.add(field);
        sets.add(value);
    }

    /**
     * The bytes of an {@code a:} or {@code n:} field name. Applications use a handful of attribute
     * names over and over, so they are made once; the cache stops growing at a bound, past which
     * (an application inventing names per request) they are made on each use.
     */
    private byte[] fieldBytes(String prefix, String name) {
        Map<String, byte[]> cache = prefix == ATTRIBUTE_PREFIX ? attributeFields : noteFields;
        byte[] b = cache.get(name);
        if (b == null) {
            b = bytes(prefix + name);
            if (cache.size() < FIELD_CACHE_LIMIT) {
                cache.put(name, b);
            }
        }
        return b;
    }

    /** A number as Redis reads it; the small ones (counts, epochs, modes) made once. */
    static byte[] ascii(long v) {
        if (v >= 0 && v < SMALL_NUMBERS.length) {
            return SMALL_NUMBERS[(int) v];
        }
        return Long.toString(v).getBytes(StandardCharsets.ISO_8859_1); // Long.toString is the JDK's fastest path to digits
    }

    /** Records outlive the local session by two touch intervals, so a throttled touch is never late. */
    private long ttlSeconds(int maxInactive) {
        return maxInactive <= 0 ? -1 : maxInactive + 2 * Math.max(1, touchMillis / 1000);
    }

    private CompletableFuture<WriteOutcome> dispatchSave(SessionState s, byte[] mode, long ttl, List<byte[]> sets, List<byte[]> dels) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp()) {
            return CompletableFuture.completedFuture(queue(s));
        }
        byte[][] args = new byte[6 + sets.size() + dels.size()][];
        args[0] = ownerBytes(s);
        args[1] = ascii(s.epoch);
        args[2] = mode;
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
        String base = s.baseId;
        long started = System.nanoTime();
        CompletableFuture<byte[]> f;
        try {
            f = eval(cmd, saveSha, Scripts.SAVE, ScriptOutputType.VALUE,
                    new byte[][] {recordKeyBytes(base), tombstoneKeyBytes(base)}, args);
        } catch (RuntimeException e) {
            failed(e);
            return CompletableFuture.completedFuture(queue(s));
        }
        CompletableFuture<WriteOutcome> result = new CompletableFuture<>();
        f.whenComplete((reply, error) -> {
            try {
                saveAnswered(s, base, reply, error, started, result);
            } catch (RuntimeException e) {
                result.completeExceptionally(e); // never leave a request waiting on a future nobody completes
            }
        });
        return result;
    }

    private void saveAnswered(SessionState s, String base, byte[] reply, Throwable error, long started, CompletableFuture<WriteOutcome> result) {
        if (error != null) {
            failed(error);
            result.complete(queue(s));
            return;
        }
        stats.writeNanos(System.nanoTime() - started);
        if (java.util.Arrays.equals(reply, OK)) {
            synchronized (s) {
                s.persisted = true;
            }
            stats.writes.increment();
            if (options.waitReplicas() > 0) {
                awaitReplicas(base).whenComplete((x, e) -> result.complete(WriteOutcome.SAVED));
            } else {
                result.complete(WriteOutcome.SAVED);
            }
            return;
        }
        switch (String.valueOf(string(reply))) {
            case "MISSING":
                // Redis lost the record (restarted empty, or evicted it): write everything again.
                s.needsFull = true;
                write(s, false, true).whenComplete((o, e) -> result.complete(e == null ? o : WriteOutcome.QUEUED));
                break;
            case "GONE":
                lose(s, "was invalidated on another node");
                result.complete(WriteOutcome.GONE);
                break;
            default:
                stats.fenced.increment();
                lose(s, "is owned by another node now");
                result.complete(WriteOutcome.FENCED);
        }
    }

    /**
     * WAIT for replicas after a write (durability option). A shortfall does not undo the write;
     * it is counted and logged once per kind, as a replica missing is an operations matter.
     */
    private CompletableFuture<Void> awaitReplicas(String base) {
        int wanted = options.waitReplicas();
        return redis.waitForReplicas(recordKeyBytes(base), wanted, options.waitTimeout().toMillis())
                .handle((acked, error) -> {
                    if (error != null || acked == null || acked < wanted) {
                        stats.replicaShortfalls.increment();
                        if (reported.add("wait:" + (error != null ? "error" : "short"))) {
                            LOG.warning("Tether: a session write was acknowledged by " + (acked == null ? "no" : acked)
                                    + " of waitReplicas=" + wanted + " replicas within " + options.waitTimeout().toMillis()
                                    + " ms" + (error != null ? " (" + RedisConnection.describe(error) + ")" : "")
                                    + "; check the replicas (logged once)");
                        }
                    }
                    return null;
                });
    }

    private WriteOutcome queue(SessionState s) {
        s.needsFull = true;
        if (pendingSaves.size() < options.maxPendingSessions() || pendingSaves.containsKey(s.baseId)) {
            pendingSaves.put(s.baseId, s);
            stats.queued.increment();
        } else if (reported.add("pending-full")) {
            LOG.warning("Tether: more than maxPendingSessions=" + options.maxPendingSessions()
                    + " sessions wait for Redis; further ones are written on their next request after Redis returns");
        }
        return WriteOutcome.QUEUED;
    }

    private void lose(SessionState s, String why) {
        s.lost = true;
        owned.remove(s.baseId, s);
        pendingSaves.remove(s.baseId, s);
        if (LOG.isLoggable(java.util.logging.Level.FINE)) {
            LOG.fine("Tether: session " + SessionId.redact(s.baseId) + " " + why + "; dropping this node's stale copy");
        }
        dropped.increment();
        long now = System.currentTimeMillis();
        long last = lastDropSummary.get();
        if (now - last >= 60_000 && lastDropSummary.compareAndSet(last, now)) {
            // One line a minute at most, however many sessions a failover moved away from this node.
            LOG.info("Tether: " + dropped.sumThenReset() + " session(s) moved to other nodes or were invalidated there"
                    + " (e.g. " + SessionId.redact(s.baseId) + " " + why + "); this node dropped its stale copies");
        }
        LiveSession live = s.live;
        if (live != null) {
            live.ownershipLost();
        }
    }

    // ---------------------------------------------------------------- delete, id change, ownership

    /**
     * Deletes a session's record if this node still owns it, leaving a tombstone that outlives any
     * stale copy. Queued while Redis is unreachable.
     */
    public CompletionStage<WriteOutcome> delete(SessionState s) {
        owned.remove(s.baseId, s);
        pendingSaves.remove(s.baseId, s);
        if (s.lost) {
            return CompletableFuture.completedFuture(WriteOutcome.LOST);
        }
        s.lost = true;
        LiveSession live = s.live;
        int maxInactive = live == null ? 1800 : live.maxInactiveSeconds();
        long tombstone = Math.max(60, ttlSeconds(maxInactive <= 0 ? 86_400 : maxInactive));
        return deleteRecord(s.baseId, s.owner, s.epoch, tombstone);
    }

    private CompletableFuture<WriteOutcome> deleteRecord(String base, String owner, long epoch, long tombstoneSeconds) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp()) {
            pendingDeletes.put(base, new PendingDelete(owner, epoch, tombstoneSeconds));
            return CompletableFuture.completedFuture(WriteOutcome.QUEUED);
        }
        CompletableFuture<byte[]> f;
        try {
            f = eval(cmd, deleteSha, Scripts.DELETE, ScriptOutputType.VALUE,
                    new byte[][] {recordKeyBytes(base), tombstoneKeyBytes(base)},
                    bytes(owner), bytes(Long.toString(epoch)), bytes(Long.toString(tombstoneSeconds)), bytes(channel), bytes(base));
        } catch (RuntimeException e) {
            failed(e);
            pendingDeletes.put(base, new PendingDelete(owner, epoch, tombstoneSeconds));
            return CompletableFuture.completedFuture(WriteOutcome.QUEUED);
        }
        return f.handle((reply, error) -> {
            if (error != null) {
                failed(error);
                pendingDeletes.put(base, new PendingDelete(owner, epoch, tombstoneSeconds));
                return WriteOutcome.QUEUED;
            }
            if (java.util.Arrays.equals(reply, OK)) {
                stats.deletes.increment();
                return WriteOutcome.SAVED;
            }
            stats.fenced.increment();
            return WriteOutcome.FENCED;
        });
    }

    /**
     * Moves a session to a new base id (fixation protection at login, {@code changeSessionId}). The
     * full state is written under the new key, then the old record is deleted (fenced, with a
     * tombstone). Never RENAME: the two keys may live in different Redis Cluster slots.
     */
    public CompletionStage<WriteOutcome> changeId(SessionState s, String newBaseId) {
        String oldBase;
        boolean wasPersisted;
        long epoch;
        synchronized (s) {
            oldBase = s.baseId;
            if (oldBase.equals(newBaseId)) {
                return CompletableFuture.completedFuture(WriteOutcome.UNCHANGED);
            }
            wasPersisted = s.persisted;
            epoch = s.epoch;
            owned.remove(oldBase, s);
            if (pendingSaves.remove(oldBase, s)) {
                pendingSaves.put(newBaseId, s);
            }
            s.baseId = newBaseId;
            s.persisted = false; // create mode under the new key
            s.needsFull = true;
            owned.put(newBaseId, s);
        }
        CompletableFuture<WriteOutcome> saved = write(s, false, true);
        if (!wasPersisted) {
            return saved;
        }
        LiveSession live = s.live;
        int maxInactive = live == null ? 1800 : live.maxInactiveSeconds();
        long tombstone = Math.max(60, ttlSeconds(maxInactive <= 0 ? 86_400 : maxInactive));
        return saved.thenCompose(outcome -> outcome == WriteOutcome.SAVED || outcome == WriteOutcome.QUEUED
                ? deleteRecord(oldBase, s.owner, epoch, tombstone).thenApply(d -> outcome)
                : CompletableFuture.completedFuture(outcome));
    }

    /**
     * Whether this node still owns the session in Redis; asked before local expiry fires
     * destruction events. Answers {@code true} when Redis cannot be asked.
     */
    public boolean stillOwned(SessionState s) {
        if (s.lost) {
            return false;
        }
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp() || !s.persisted) {
            return true;
        }
        List<io.lettuce.core.KeyValue<byte[], byte[]>> kv = await(cmd.hmget(recordKeyBytes(s.baseId), bytes("owner"), bytes("epoch")), null);
        if (kv == null || !kv.get(1).hasValue()) {
            return true; // Redis cannot say, or the record is gone: it expires here and now anyway
        }
        return s.owner.equals(string(kv.get(0).getValueOrElse(new byte[0])))
                && Long.toString(s.epoch).equals(string(kv.get(1).getValue()));
    }

    /** The state of a session this node owns, or {@code null}. */
    public SessionState owned(String baseId) {
        return owned.get(baseId);
    }

    /** Whether Redis holds a record for this base id; {@code false} when Redis cannot be asked. */
    public boolean exists(String baseId) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp()) {
            return false;
        }
        Long n = await(cmd.exists(recordKeyBytes(baseId)), 0L);
        return n != null && n > 0;
    }

    /** Waits for one command within the command timeout; on failure reports it and answers {@code fallback}. */
    private <T> T await(java.util.concurrent.Future<T> reply, T fallback) {
        try {
            return reply.get(options.commandTimeout().toMillis() + 250, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fallback;
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            failed(e);
            return fallback;
        }
    }

    /**
     * Forgets a session without touching Redis: the node stops (the record stays for whichever node
     * serves the user next) or the copy is known to be stale.
     */
    public void release(SessionState s) {
        owned.remove(s.baseId, s);
    }

    /**
     * Writes every session that has unsaved changes, waiting up to {@code timeoutMillis}; used when a
     * context stops so that nothing acknowledged is lost on a graceful restart.
     */
    public void flush(long timeoutMillis) {
        List<CompletableFuture<WriteOutcome>> all = new ArrayList<>();
        for (SessionState s : List.copyOf(owned.values())) {
            all.add(write(s, true, true));
        }
        try {
            CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warning("Tether: could not write all sessions to Redis before stopping (" + RedisConnection.describe(e) + ")");
        }
    }

    // ---------------------------------------------------------------- outage handling

    private void failed(Throwable error) {
        Throwable e = unwrap(error);
        if (e instanceof RedisCommandExecutionException && String.valueOf(e.getMessage()).startsWith("TRYAGAIN")) {
            // Redis Cluster is moving this session's slot (resharding): for a moment its record and
            // tombstone keys are on different nodes. No outage: the write is queued and retried soon.
            stats.redisErrors.increment();
            redis.later(this::replayPending, 100);
            return;
        }
        if (e instanceof RedisCommandExecutionException && !(e instanceof RedisNoScriptException)) {
            // Redis answered, with an error about the command (OOM, READONLY, ACL): one line per kind.
            stats.redisErrors.increment();
            if (reported.add("err:" + e.getMessage())) {
                LOG.warning("Tether: Redis refused a session command: " + e.getMessage());
            }
            redis.reportFailure(e);
            return;
        }
        stats.redisErrors.increment();
        redis.reportFailure(e == null ? error : e);
    }

    private int onRedisAvailable() {
        reported.remove("pending-full");
        boolean recovery = connectedBefore;
        connectedBefore = true;
        int replayed = replayPending();
        // After an outage Redis may have come back empty, or without writes it had acknowledged (a
        // replica promoted before the dead master's last writes reached it, a restart from an older
        // snapshot): every owned session is written in full once, which restores a missing record
        // and overwrites a stale one. Fencing still refuses it where another node took it over.
        // (At the first connection nothing can be stale: sessions written since are current.)
        for (SessionState s : recovery ? List.copyOf(owned.values()) : List.<SessionState>of()) {
            if (!s.needsFull && s.persisted) {
                s.needsFull = true;
                write(s, false, true);
            }
        }
        return replayed;
    }

    /** Sends the queued deletes and the queued sessions' latest state; returns how many. */
    private int replayPending() {
        int replayed = 0;
        for (Map.Entry<String, PendingDelete> d : List.copyOf(pendingDeletes.entrySet())) {
            if (pendingDeletes.remove(d.getKey(), d.getValue())) {
                PendingDelete p = d.getValue();
                deleteRecord(d.getKey(), p.owner(), p.epoch(), p.tombstoneSeconds());
                replayed++;
            }
        }
        for (SessionState s : List.copyOf(pendingSaves.values())) {
            if (pendingSaves.remove(s.baseId, s)) {
                s.needsFull = true;
                write(s, false, true);
                replayed++;
            }
        }
        return replayed;
    }

    /**
     * Another node took a session over, or deleted it: drop this node's copy now, so that the
     * user's next request here reloads the current state instead of writing into a stale copy.
     * Message: {@code <base> <epoch> <owner>} or {@code <base> gone <owner>}.
     */
    private void onOwnershipChange(String message) {
        if (announcementsMuted) {
            return;
        }
        String[] parts = message.split(" ", 3);
        if (parts.length < 3) {
            return;
        }
        SessionState s = owned.get(parts[0]);
        if (s == null || s.lost) {
            return;
        }
        if (parts[1].equals("gone")) {
            if (!parts[2].equals(route)) {
                lose(s, "was invalidated on node " + parts[2]);
            }
            return;
        }
        long epoch;
        try {
            epoch = Long.parseLong(parts[1]);
        } catch (NumberFormatException e) {
            return;
        }
        if (epoch > s.epoch) {
            stats.fenced.increment();
            lose(s, "was taken over by node " + parts[2]);
        }
    }

    // ---------------------------------------------------------------- plumbing

    @SuppressWarnings("unchecked")
    private static <T> CompletableFuture<T> eval(RedisClusterAsyncCommands<byte[], byte[]> cmd, String sha, String script,
            ScriptOutputType type, byte[][] keys, byte[]... args) {
        // One dependent stage per script call: this sits on every write's path.
        CompletableFuture<T> result = new CompletableFuture<>();
        cmd.<T>evalsha(sha, type, keys, args).whenComplete((v, e) -> {
            Throwable cause = unwrap(e);
            if (cause == null) {
                result.complete(v);
            } else if (cause instanceof RedisNoScriptException
                    || (cause instanceof RedisCommandExecutionException && String.valueOf(cause.getMessage()).startsWith("NOSCRIPT"))) {
                // Redis restarted or flushed its script cache: send the script itself, once.
                cmd.<T>eval(script, type, keys, args).whenComplete((v2, e2) -> {
                    if (e2 == null) {
                        result.complete(v2);
                    } else {
                        result.completeExceptionally(unwrap(e2));
                    }
                });
            } else {
                result.completeExceptionally(cause);
            }
        });
        return result;
    }

    /** The failure itself, not the future's wrapper around it. */
    private static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException || error instanceof ExecutionException ? error.getCause() : error;
    }

    private static String sha1(String script) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String string(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static long parseLong(byte[] b, long fallback) {
        if (b == null) {
            return fallback;
        }
        try {
            return Long.parseLong(string(b));
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    @Override
    public void close() {
        redis.close();
    }
}
