package dev.tether.store;

import dev.tether.store.codec.AttributeCodec;
import dev.tether.store.record.RecordFormat;
import dev.tether.store.record.Script;
import dev.tether.store.redis.Failure;
import dev.tether.store.redis.RedisConnection;
import dev.tether.store.redis.ScriptRunner;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.io.IOException;
import java.io.ObjectStreamException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Reading sessions: a load (in sticky mode it names this node the owner), the check that a copy is
 * still current, and reading a copy again when it is not. A copy counts as current under the
 * tracking epoch of the moment its reply arrived, set on the I/O thread before any later
 * invalidation is processed.
 */
final class Reads {

    private static final Logger LOG = Core.LOG;

    private final Core core;
    private final SessionStoreOptions options;
    private final String route;
    private final RecordFormat format;
    private final RedisConnection redis;
    private final ScriptRunner scripts;
    private final StoreStats stats;
    private final Map<String, TrackedSession> owned;
    private final AttributeCodec codec;
    private final AtomicLong nonStickyRequests = new AtomicLong();
    private Writes writes;

    Reads(Core core) {
        this.core = core;
        this.options = core.options;
        this.route = core.route;
        this.format = core.format;
        this.redis = core.redis;
        this.scripts = core.scripts;
        this.stats = core.stats;
        this.owned = core.owned;
        this.codec = core.codec;
    }

    void use(Writes writes) {
        this.writes = writes;
    }

    /**
     * Reads a session from Redis for this node. In sticky mode this node becomes its owner, which
     * tells every other node holding a copy to drop it.
     *
     * @param requestedRoute the route the request's id carried (for the statistics and the
     *     non-sticky-balancer warning), or {@code null}
     * @return the session, or {@code null} when Redis has no such record
     * @throws UnavailableException when Redis cannot be asked: the request must fail, not go on
     *     with a new, empty session
     */
    SessionRecord load(String baseId, String requestedRoute, ClassLoader loader) throws RedisSessionStore.UnavailableException {
        TrackedSession s = new TrackedSession(baseId);
        // Registered before the read, so that an invalidation arriving right after the reply finds it.
        TrackedSession present = owned.putIfAbsent(baseId, s);
        Loaded loaded;
        try {
            loaded = read(s, loader);
        } catch (RedisSessionStore.UnavailableException e) {
            forgetUnless(present, s);
            throw e;
        }
        if (loaded == null) {
            forgetUnless(present, s);
            stats.missed.increment();
            return null;
        }
        if (present != null) {
            owned.put(baseId, s); // a stale registration of the same id (a concurrent load): this one is newer
        }
        s.persisted = true;
        s.version = loaded.stored.version();
        s.baseVersion = s.version;
        synchronized (s) {
            s.saved.loaded(loaded.hashes, loaded.stored.lastAccessed(), loaded.stored.maxInactive(), loaded.stored.notes(),
                    loaded.stored.extras(), loaded.stored.user(), System.currentTimeMillis());
        }
        String previous = loaded.stored.previousOwner();
        if (!route.isEmpty() && !previous.isEmpty() && !previous.equals(route)) {
            stats.takenOver(previous);
            if (requestedRoute != null && !requestedRoute.equals(route)) {
                noteNonSticky();
            }
        } else {
            stats.loaded.increment();
        }
        return loaded.record(s, previous);
    }

    /** A record as read and decoded. */
    private record Loaded(RecordFormat.StoredRecord stored, Map<String, Object> attributes, Map<String, Long> hashes) {
        SessionRecord record(TrackedSession s, String previousOwner) {
            return new SessionRecord(s, stored.created(), stored.lastAccessed(), stored.maxInactive(), stored.lastSaved(),
                    previousOwner, attributes, stored.notes(), stored.extras());
        }
    }

    /**
     * Reads a record. From its reply on, {@code target}'s copy counts as current, unless Redis sent a
     * message about the record, or the connection changed, after the read was sent.
     *
     * @return the record, or {@code null} when there is none
     */
    private Loaded read(TrackedSession target, ClassLoader loader) throws RedisSessionStore.UnavailableException {
        return read(target, loader, false);
    }

    private Loaded read(TrackedSession target, ClassLoader loader, boolean retried) throws RedisSessionStore.UnavailableException {
        // In a cluster "unreachable" may be one shard: the command is tried, it may go to a live one.
        if (!redis.isUp() && !redis.isCluster()) {
            throw new RedisSessionStore.UnavailableException(Failure.DISCONNECTED, null);
        }
        String owner = options.shared() ? "" : route;
        // Taken before the read is sent: its reply may be handled on this thread, after the I/O
        // thread has read a message about a later write (or a reconnection); then the copy must
        // count as stale, which these values make it.
        long heard = target.heard.get();
        long epoch = redis.trackingEpoch();
        CompletableFuture<List<Object>> reply;
        try {
            CompletableFuture<List<Object>> sent = scripts.<List<Object>>run(Script.LOAD, ScriptOutputType.MULTI,
                    new byte[][] {format.recordKey(target.baseId)}, format.loadArgs(owner));
            java.util.function.Consumer<CompletableFuture<?>> hook = core.readSent;
            if (hook != null) {
                hook.accept(sent);
            }
            reply = sent.thenApply(r -> {
                target.trackedEpoch = epoch;
                target.heardAtRead = heard;
                target.invalidated = false;
                return r;
            });
        } catch (RuntimeException e) {
            throw core.unavailable(e);
        }
        List<Object> fields;
        try {
            fields = reply.get(options.commandTimeout().toMillis() + 250, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RedisSessionStore.UnavailableException(Failure.OTHER, e);
        } catch (ExecutionException | TimeoutException e) {
            Failure f = core.failed(e instanceof TimeoutException ? e : e.getCause());
            if (redis.isCluster() && !retried && f != Failure.NO_PERMISSION && f != Failure.OUT_OF_MEMORY) {
                // The key's master may have died and a replica taken over its slots since this node
                // last used them (Lettuce only notices on its own later): learn the cluster's current
                // topology and ask once more, rather than fail a session that exists.
                redis.refreshTopology();
                return read(target, loader, true);
            }
            throw new RedisSessionStore.UnavailableException(f, e);
        }
        RecordFormat.StoredRecord stored;
        try {
            stored = RecordFormat.parseLoad(fields, System.currentTimeMillis());
        } catch (RecordFormat.DamagedRecordException e) {
            core.damaged(target.baseId, e);
            return null;
        }
        if (stored == null || !core.authentic(target.baseId, stored)) {
            return null;
        }
        Map<String, Object> attributes = new HashMap<>();
        Map<String, Long> hashes = new HashMap<>();
        stored.attributes().forEach((name, bytes) -> {
            Object value = decode(target.baseId, name, bytes, loader, target);
            if (value != null) {
                attributes.put(name, value);
                hashes.put(name, AttributeCodec.hash(bytes));
            }
        });
        return new Loaded(stored, attributes, hashes);
    }

    /** Takes a session out of the registry again if this read put it there. */
    private void forgetUnless(TrackedSession present, TrackedSession s) {
        if (present == null) {
            owned.remove(s.baseId, s);
        }
    }

    /**
     * Whether this node's copy may serve a request as it is: Redis has not told of another node's
     * write since the copy was read or written. Without client-side caching (refused by Redis), one
     * round trip compares the versions. While Redis is unreachable the copy is all there is.
     */
    boolean isCurrent(TrackedSession s) {
        if (s.dropped) {
            return false;
        }
        if (!s.persisted && !s.invalidated) {
            return true; // never written: nobody else knows it
        }
        if (!redis.isUp()) {
            return !s.invalidated; // unreachable: the copy is all there is, unless Redis told of another node's write
        }
        boolean tracked = !s.invalidated && s.heardAtRead == s.heard.get() && redis.isTracked(s.trackedEpoch);
        if (tracked && !redis.isCaughtUp()) {
            // The JVM stopped since the connection last read everything: a message about another
            // node's write may wait unread in the socket. Read past it, then look again.
            try {
                redis.catchUp().get(options.commandTimeout().toMillis() + 250, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (ExecutionException | TimeoutException e) {
                return false; // read again (or, if Redis is gone, the copy is all there is)
            }
            tracked = !s.invalidated && s.heardAtRead == s.heard.get() && redis.isTracked(s.trackedEpoch);
        }
        if (!redis.isTrackingRefused() && (!options.checkVersion() || !tracked)) {
            return tracked;
        }
        if (s.invalidated) {
            return false; // known stale (a merged write: the record holds another node's change this copy lacks)
        }
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        byte[] ver = cmd == null ? null : core.await(cmd.hget(format.recordKey(s.baseId), RecordFormat.bytes(RecordFormat.VERSION)), null);
        return ver != null && Long.parseLong(RecordFormat.string(ver)) == s.version;
    }

    /**
     * Reads a session again after {@link #isCurrent} said no. The record's contents, when they
     * replace the copy, are in {@code into[0]}.
     *
     * @throws UnavailableException when Redis cannot be asked
     */
    RedisSessionStore.Refresh reload(TrackedSession s, ClassLoader loader, SessionRecord[] into) throws RedisSessionStore.UnavailableException {
        if (s.activeRequests.get() > 0) {
            // A request is running the application on this copy (the caller is not counted yet):
            // replacing it would lose what that request changed (or is about to change) in the
            // objects it holds. It stays; the writes made on it name their base version and are
            // merged or refused in Redis. Unless the session ended elsewhere (a logout).
            return keptUnlessGone(s);
        }
        if (s.holdsUnsent && !writes.flushUnsent(s)) {
            // Changes acknowledged while Redis was away are in this copy only (their replay may be
            // paced behind others'): written first, merged with what Redis holds now, else the
            // copy stays as it is. Replaced by the record, they would be gone. That write may
            // have found the session ended elsewhere (GONE: the copy is dropped).
            return keptUnlessGone(s);
        }
        if (s.writing.availablePermits() == 0 || !s.changes.isEmpty(false)) {
            // A request that has ended is still writing, or about to write, what it set or removed:
            // read now, the record lacks it, and replacing the copy (and what the next write
            // compares with) would drop it. The copy stays; read again next time. (Values read in
            // place are not waited for: their names stay until the last request's write.)
            return keptUnlessGone(s);
        }
        long before = s.version;
        boolean behind = s.baseVersion != s.version;
        Loaded loaded = read(s, loader);
        if (loaded == null) {
            if (endedElsewhere(s)) {
                return RedisSessionStore.Refresh.GONE;
            }
            s.needsFull = true; // Redis lost it: this node's copy is all that is left
            writes.restore(s);
            return RedisSessionStore.Refresh.RESTORED;
        }
        if (loaded.stored.version() < before) {
            s.needsFull = true; // Redis went back to an older state: write the newer one back
            writes.restore(s);
            return RedisSessionStore.Refresh.RESTORED;
        }
        synchronized (s) {
            s.version = loaded.stored.version();
            s.baseVersion = s.version;
            s.persisted = true;
            s.saved.loaded(loaded.hashes, loaded.stored.lastAccessed(), loaded.stored.maxInactive(), loaded.stored.notes(),
                    loaded.stored.extras(), loaded.stored.user(), System.currentTimeMillis());
            s.changes.clearAll();
        }
        into[0] = loaded.record(s, loaded.stored.previousOwner());
        stats.reloaded.increment();
        // The same version is not the same contents after a merged write: the copy names the merged
        // version but its objects lack the other node's change. What the next write compares with
        // (saved, changes) is now the record just read, so the copy's objects must be replaced too;
        // else a value read in place is written back old under the new version.
        return loaded.stored.version() == before && !behind ? RedisSessionStore.Refresh.CURRENT : RedisSessionStore.Refresh.RELOADED;
    }

    /**
     * A stale copy that cannot be replaced now serves the request as it is, but never a session
     * that ended elsewhere: one look at the tombstone (only when the copy is stale and busy).
     */
    private RedisSessionStore.Refresh keptUnlessGone(TrackedSession s) throws RedisSessionStore.UnavailableException {
        return s.dropped || endedElsewhere(s) ? RedisSessionStore.Refresh.GONE : RedisSessionStore.Refresh.CURRENT;
    }

    /** Whether the session's tombstone says it was invalidated or expired elsewhere; then the copy is dropped. */
    private boolean endedElsewhere(TrackedSession s) throws RedisSessionStore.UnavailableException {
        if (!tombstoned(s.baseId)) {
            return false;
        }
        core.drop(s, "was invalidated or expired on another node");
        return true;
    }

    private boolean tombstoned(String baseId) throws RedisSessionStore.UnavailableException {
        return existing(format.recordAndTombstone(baseId)[1]) > 0;
    }

    /** Whether Redis holds neither a record nor a tombstone for this base id (both in one slot). */
    boolean free(String baseId) throws RedisSessionStore.UnavailableException {
        return existing(format.recordAndTombstone(baseId)) == 0;
    }

    private long existing(byte[]... keys) throws RedisSessionStore.UnavailableException {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null) {
            throw new RedisSessionStore.UnavailableException(Failure.DISCONNECTED, null);
        }
        try {
            Long n = cmd.exists(keys).get(options.commandTimeout().toMillis() + 250, TimeUnit.MILLISECONDS);
            return n == null ? 0 : n;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RedisSessionStore.UnavailableException(Failure.OTHER, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new RedisSessionStore.UnavailableException(core.failed(e), e);
        }
    }

    /** The decode warnings repeat per session read: each kind of attribute and cause is logged once an hour. */
    private static final String AGAIN = "; counted as AttributesRejected (logged once an hour per attribute and cause)";

    Object decode(String baseId, String name, byte[] bytes, ClassLoader loader, TrackedSession s) {
        String what = "Tether: dropped attribute '" + name + "' of session " + SessionId.redact(baseId) + ": ";
        try {
            return codec.decode(bytes, loader);
        } catch (AttributeCodec.RejectedClassException e) {
            stats.rejected.increment();
            s.changes.removeFromRecord(name); // hostile or forbidden: clean it out of the record on the next write
            if (core.once("refused-class:" + name + ":" + e.classname)) {
                LOG.warning(what + "class " + e.classname + " is refused by the class filter (allowClasses/denyClasses); nothing was"
                        + " instantiated" + AGAIN);
            }
        } catch (ClassNotFoundException e) {
            stats.rejected.increment();
            if (core.once("missing-class:" + name + ":" + e.getMessage())) {
                LOG.warning(what + "the web application has no class " + e.getMessage() + " (redeployed with different classes?)" + AGAIN);
            }
        } catch (IOException | RuntimeException e) {
            stats.rejected.increment();
            s.changes.removeFromRecord(name);
            // The format's own reasons only: what the application's readObject threw may quote the values.
            String why = e instanceof ObjectStreamException || e instanceof AttributeCodec.AttributeTooLargeException
                    || e instanceof AttributeCodec.MalformedException ? e.getMessage() : e.getClass().getName() + " from the class's own deserialization";
            if (core.once("unreadable:" + name + ":" + e.getClass().getName())) {
                LOG.warning(what + "its stored bytes cannot be read (" + why + ")" + AGAIN);
            }
        }
        return null;
    }

    /** Sticky mode: requests keep arriving with other nodes' routes while those nodes are up. */
    private void noteNonSticky() {
        long n = nonStickyRequests.incrementAndGet();
        if (!options.shared() && n >= 100 && core.once("non-sticky")) {
            LOG.warning("Tether: " + n + " requests arrived here with sessions of other nodes' routes; if the balancer does not keep"
                    + " users on one node (round robin, a Kubernetes Service), set mode=\"shared\" so that ids and cookies stop"
                    + " changing on every hop (logged once)");
        }
    }
}
