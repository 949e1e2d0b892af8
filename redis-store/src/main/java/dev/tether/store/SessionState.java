package dev.tether.store;

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
    final Set<String> setNames = ConcurrentHashMap.newKeySet();
    final Set<String> readNames = ConcurrentHashMap.newKeySet();
    final Set<String> removedNames = ConcurrentHashMap.newKeySet();
    final AtomicInteger activeRequests = new AtomicInteger();

    /** Whether the record exists in Redis (written at least once, or loaded from there). */
    volatile boolean persisted;
    /** The next write must carry the full state (after an outage, or when Redis lost the record). */
    volatile boolean needsFull;
    volatile boolean lost;
    /** The last write whose completion a request must wait for; see RedisSessionStore#unchanged. */
    volatile java.util.concurrent.CompletableFuture<WriteOutcome> inFlight;
    volatile long lastWriteMillis;
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
        setNames.add(name);
        removedNames.remove(name);
    }

    /** A read of a mutable value: it may be changed in place, so it is re-checked at commit. */
    public void attributeRead(String name, Object value) {
        if (value != null && !AttributeCodec.isImmutable(value)) {
            readNames.add(name);
        }
    }

    public void attributeRemoved(String name) {
        removedNames.add(name);
        setNames.remove(name);
    }

    /** A request using this session began; pair with {@link RedisSessionStore#commit}. */
    public void requestStarted() {
        activeRequests.incrementAndGet();
    }
}
