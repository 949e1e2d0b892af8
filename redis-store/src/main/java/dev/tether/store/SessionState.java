package dev.tether.store;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the core remembers about one live session: its record's identity, this node's fencing token
 * (owner route + ownership epoch), and what changed since the last write. Adapters report attribute
 * activity here; {@link RedisSessionStore#commit} turns it into one delta.
 */
public final class SessionState {

    volatile String baseId;
    final String owner;
    volatile long epoch;
    volatile LiveSession live;

    /** Hash of each attribute's bytes as last written; guarded by {@code this}. */
    final Map<String, Long> savedHashes = new HashMap<>();
    /**
     * Names set, read (mutable values) and removed since the last write. Each set is made on first
     * use: most sessions never read a mutable value or remove an attribute, and each empty set
     * would cost about 90 bytes of heap per session.
     */
    private volatile Set<String> setNames;
    private volatile Set<String> readNames;
    private volatile Set<String> removedNames;
    final AtomicInteger activeRequests = new AtomicInteger();

    /** Whether the record exists in Redis (written at least once, or loaded from there). */
    volatile boolean persisted;
    /** The next write must carry the full state (after an outage, or when Redis lost the record). */
    volatile boolean needsFull;
    volatile boolean lost;
    /** The last write whose completion a request must wait for; see RedisSessionStore#unchanged. */
    volatile java.util.concurrent.CompletableFuture<WriteOutcome> inFlight;
    volatile long lastWriteMillis;
    /** When a write last set the record's TTL; a delta leaves it alone for up to one touch interval. */
    volatile long lastExpireMillis;
    volatile long lastWrittenAccess;
    volatile int lastWrittenMaxInactive = Integer.MIN_VALUE;

    /** Container notes as last written; guarded by {@code this}. */
    private volatile Map<String, String> writtenNotes = Map.of();

    boolean notesChanged(Map<String, String> notes) {
        return !writtenNotes.equals(notes);
    }

    java.util.List<String> removedNotes(Map<String, String> notes) {
        return writtenNotes.keySet().stream().filter(k -> !notes.containsKey(k)).toList();
    }

    void rememberNotes(Map<String, String> notes) {
        if (!writtenNotes.equals(notes)) {
            writtenNotes = Map.copyOf(notes);
        }
    }

    SessionState(String baseId, String owner, long epoch) {
        this.baseId = baseId;
        this.owner = owner;
        this.epoch = epoch;
    }

    public String baseId() {
        return baseId;
    }

    public long epoch() {
        return epoch;
    }

    /** Whether another node took the session over (or it was invalidated there). */
    public boolean isLost() {
        return lost;
    }

    public void bind(LiveSession session) {
        this.live = session;
    }

    public void attributeSet(String name) {
        changeSet(SET_NAMES).add(name);
        orEmpty(removedNames).remove(name);
    }

    /** A read of a mutable value: it may be changed in place, so it is re-checked at commit. */
    public void attributeRead(String name, Object value) {
        if (value != null && !AttributeCodec.isImmutable(value)) {
            changeSet(READ_NAMES).add(name);
        }
    }

    public void attributeRemoved(String name) {
        changeSet(REMOVED_NAMES).add(name);
        orEmpty(setNames).remove(name);
    }

    /** An attribute whose stored bytes were refused: the next write deletes it from the record. */
    void forgetStored(String name) {
        changeSet(REMOVED_NAMES).add(name);
    }

    Set<String> setNames() {
        return orEmpty(setNames);
    }

    Set<String> readNames() {
        return orEmpty(readNames);
    }

    Set<String> removedNames() {
        return orEmpty(removedNames);
    }

    /** An empty set for one not made yet: reading it or removing from it needs no allocation. */
    private static Set<String> orEmpty(Set<String> names) {
        return names == null ? EMPTY : names;
    }

    private static final Set<String> EMPTY = java.util.Collections.emptySet();

    @SuppressWarnings("unchecked")
    private Set<String> changeSet(VarHandle field) {
        Set<String> names = (Set<String>) field.getVolatile(this);
        if (names == null) {
            Set<String> made = ConcurrentHashMap.newKeySet();
            names = field.compareAndSet(this, null, made) ? made : (Set<String>) field.getVolatile(this);
        }
        return names;
    }

    private static final VarHandle SET_NAMES;
    private static final VarHandle READ_NAMES;
    private static final VarHandle REMOVED_NAMES;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            SET_NAMES = lookup.findVarHandle(SessionState.class, "setNames", Set.class);
            READ_NAMES = lookup.findVarHandle(SessionState.class, "readNames", Set.class);
            REMOVED_NAMES = lookup.findVarHandle(SessionState.class, "removedNames", Set.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A request using this session began; pair with {@link RedisSessionStore#commit}. */
    public void requestStarted() {
        activeRequests.incrementAndGet();
    }
}
