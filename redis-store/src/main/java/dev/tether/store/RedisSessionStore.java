package dev.tether.store;

import dev.tether.store.codec.AttributeCodec;
import dev.tether.store.record.RecordFormat;
import dev.tether.store.record.RecordFormat.Reply;
import dev.tether.store.record.Script;
import dev.tether.store.redis.Failure;
import dev.tether.store.redis.RedisConnection;
import dev.tether.store.redis.ScriptRunner;
import dev.tether.store.write.PendingWrites;
import dev.tether.store.write.WritePlan;
import dev.tether.store.write.WritePlanner;
import io.lettuce.core.KeyValue;
import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.io.IOException;
import java.io.ObjectStreamException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The session repository of one web application: it creates, loads, writes and deletes sessions
 * in Redis and keeps the policy both containers share. Adapters translate container events into
 * these calls and nothing else.
 *
 * <p>It orchestrates: {@link RecordFormat} owns the record, {@link WritePlanner} decides each
 * write, {@link ScriptRunner} runs the scripts on the shared {@link RedisConnection}, and
 * {@link PendingWrites} holds what waits for Redis during an outage.
 *
 * <p>Concurrency: every write names the record version its copy reflects; Redis applies it if
 * nobody wrote since, merges it attribute by attribute if somebody did but changed other
 * attributes, and refuses it ({@link WriteOutcome#CONFLICT}) otherwise. A node's copy stays in
 * memory while Redis has not told it of another node's write (client-side caching); then the next
 * request reads the record again.
 */
public final class RedisSessionStore implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("dev.tether.store");
    private static final CompletableFuture<WriteOutcome> UNCHANGED = CompletableFuture.completedFuture(WriteOutcome.UNCHANGED);
    /** Buckets of the expiry index; each is one sorted set, in its own Redis Cluster slot. */
    static final int EXPIRY_BUCKETS = 16;
    /** Most sessions one sweep claims, so that a sweep never loads Redis for long. */
    private static final int SWEEP_LIMIT = 500;

    private final SessionStoreOptions options;
    private final String route;
    /** This store's identity in field stamps: the route and a per-start random part. */
    private final byte[] node;
    private final RecordFormat format;
    private final AttributeCodec codec;
    private final WritePlanner planner;
    private final RedisConnection redis;
    private final ScriptRunner scripts;
    private final StoreStats stats;
    /** Every session this node holds, by base id. */
    private final Map<String, TrackedSession> owned = new ConcurrentHashMap<>();
    private final PendingWrites<TrackedSession> pending;
    /** One log line per kind of problem, not one per request. */
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private final LongAdder dropped = new LongAdder();
    private final AtomicLong lastDropSummary = new AtomicLong();
    private final AtomicLong nonStickyRequests = new AtomicLong();
    /** Whether Redis was reachable before: the next time it becomes reachable is a recovery. */
    private volatile boolean connectedBefore;
    /** Tests set this to play a node that misses Redis' invalidations (a partition, a slow I/O thread). */
    volatile boolean invalidationsMuted;

    /** Thrown when Redis cannot be asked about a session: the request must not go on as if it had none. */
    public static final class UnavailableException extends Exception {
        public final Failure failure;

        public UnavailableException(Failure failure, Throwable cause) {
            super(failure.description(), cause);
            this.failure = failure;
        }
    }

    /**
     * Opens the store. Never blocks on Redis: the connection is made in the background and retried
     * until it succeeds, so a container starts even when Redis is down.
     *
     * @param route this node's route (jvmRoute, workerName): in sticky mode it names the owner of
     *     each record this node serves
     */
    public RedisSessionStore(SessionStoreOptions options, String route) {
        this.options = options;
        this.route = route == null || route.isEmpty() ? "" : route;
        this.node = RecordFormat.bytes((this.route.isEmpty() ? "node" : this.route) + "/"
                + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36));
        this.format = new RecordFormat(options.keyPrefix());
        this.codec = new AttributeCodec(options);
        this.planner = new WritePlanner(options.saveMode(), options.touchInterval().toMillis(), codec, format);
        this.pending = new PendingWrites<>(options.maxPendingSessions());
        this.stats = new StoreStats(this::isRedisAvailable, this::pendingWrites);
        this.redis = new RedisConnection(options, new RedisConnection.Listener() {
            @Override
            public int onAvailable() {
                return onRedisAvailable();
            }

            @Override
            public void onInvalidated(String key) {
                if (invalidationsMuted) {
                    return;
                }
                String base = format.baseOfKey(key);
                TrackedSession s = base == null ? null : owned.get(base);
                if (s != null) {
                    s.invalidated = true;
                }
            }
        });
        this.scripts = new ScriptRunner(redis);
    }

    // ---------------------------------------------------------------- policy both adapters share

    /**
     * Checks a node's route (jvmRoute, workerName) before it is used.
     *
     * @throws IllegalArgumentException with the message an administrator needs
     */
    public static void checkRoute(String what, String route) {
        if (route != null && !route.isEmpty() && !SessionId.isValidRoute(route)) {
            throw new IllegalArgumentException("Tether: " + what + " '" + route + "' is not usable: it may only contain letters,"
                    + " digits, '_' and '-' (balancers split the session id at the first dot)");
        }
    }

    /**
     * The one log line that says where this application's sessions are kept.
     *
     * @param routeName what the container calls a node's route (jvmRoute, workerName)
     */
    public String describe(String application, String routeName) {
        return "Tether: sessions of " + application + " are kept in Redis under '" + options.keyPrefix() + "{id}', " + routeName + " "
                + (route.isEmpty() ? "(none)" : route) + ", save mode " + options.saveMode() + ", "
                + (options.shared() ? "shared" : "sticky") + " mode, Redis at " + options.redactedUri();
    }

    /**
     * Waits for a write so that a response is only complete once Redis holds its data; bounded by
     * the command timeout. A write that takes longer counts as not stored.
     */
    public WriteOutcome await(CompletionStage<WriteOutcome> stage) {
        try {
            return stage.toCompletableFuture().get(options.commandTimeout().toMillis() + 1000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return WriteOutcome.FAILED;
        } catch (ExecutionException | TimeoutException e) {
            return WriteOutcome.FAILED;
        }
    }

    /**
     * A request whose change was not stored answered with an error: counted, and logged once.
     *
     * @param committed whether the response had already gone out (then only counted and logged)
     */
    public void refused(WriteOutcome outcome, boolean committed) {
        if (committed) {
            stats.acknowledgedUnstored.increment();
            if (reported.add("ack-unstored:" + outcome)) {
                LOG.warning("Tether: a response had already been sent when its session change turned out " + outcome
                        + " (not stored); the application flushed it before the request ended (counted as"
                        + " AcknowledgedUnstored, logged once per kind)");
            }
        } else {
            stats.refusedRequests.increment();
            if (reported.add("refused:" + outcome)) {
                LOG.warning("Tether: a request's session change was " + outcome + " and not stored; it was answered 503 with"
                        + " Retry-After so that the client or the balancer retries it (counted as RefusedRequests, logged once per kind)");
            }
        }
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

    /** Sessions and deletes whose latest state waits for Redis to come back. */
    public int pendingWrites() {
        return pending.size();
    }

    /**
     * Waits, bounded, for the first connection. A container calls this while it starts so that the
     * first requests after a restart (the very ones a balancer fails over) find their sessions;
     * Redis being down only delays the start by the bound: room for one slow handshake and a retry.
     */
    public boolean awaitConnected() {
        return awaitConnected(options.connectTimeout().multipliedBy(2).plusMillis(500));
    }

    /** As {@link #awaitConnected()}, with an explicit bound. */
    public boolean awaitConnected(Duration timeout) {
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
        return format.key(baseId);
    }

    // ---------------------------------------------------------------- create, load, check

    /** A session created on this node; it reaches Redis with its first commit. */
    public TrackedSession create(String baseId, ContainerSession session) {
        TrackedSession s = new TrackedSession(baseId);
        s.bind(session);
        s.trackedEpoch = redis.trackingEpoch();
        owned.put(baseId, s);
        stats.created.increment();
        return s;
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
    public SessionRecord load(String baseId, String requestedRoute, ClassLoader loader) throws UnavailableException {
        TrackedSession s = new TrackedSession(baseId);
        // Registered before the read, so that an invalidation arriving right after the reply finds it.
        TrackedSession present = owned.putIfAbsent(baseId, s);
        Loaded loaded;
        try {
            loaded = read(s, loader);
        } catch (UnavailableException e) {
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
        synchronized (s) {
            s.saved.loaded(loaded.hashes, loaded.stored.lastAccessed(), loaded.stored.maxInactive(), loaded.stored.notes(),
                    loaded.stored.extras(), System.currentTimeMillis());
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
     * Reads a record. When the reply arrives, on the I/O thread and before any later invalidation is
     * processed, {@code target}'s copy counts as current under the tracking epoch of that moment.
     *
     * @return the record, or {@code null} when there is none
     */
    private Loaded read(TrackedSession target, ClassLoader loader) throws UnavailableException {
        return read(target, loader, false);
    }

    private Loaded read(TrackedSession target, ClassLoader loader, boolean retried) throws UnavailableException {
        // In a cluster "unreachable" may be one shard: the command is tried, it may go to a live one.
        if (!redis.isUp() && !redis.isCluster()) {
            stats.unavailable.increment();
            throw new UnavailableException(Failure.DISCONNECTED, null);
        }
        String owner = options.shared() ? "" : route;
        CompletableFuture<List<Object>> reply;
        try {
            reply = scripts.<List<Object>>run(Script.LOAD, ScriptOutputType.MULTI, new byte[][] {format.recordKey(target.baseId)},
                    format.loadArgs(owner)).thenApply(r -> {
                        target.trackedEpoch = redis.trackingEpoch();
                        target.invalidated = false;
                        return r;
                    });
        } catch (RuntimeException e) {
            throw unavailable(e);
        }
        List<Object> fields;
        try {
            fields = reply.get(options.commandTimeout().toMillis() + 250, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException(Failure.OTHER, e);
        } catch (ExecutionException | TimeoutException e) {
            Failure f = failed(e instanceof TimeoutException ? e : e.getCause());
            if (redis.isCluster() && !retried && f != Failure.NO_PERMISSION && f != Failure.OUT_OF_MEMORY) {
                // The key's master may have died and a replica taken over its slots since this node
                // last used them (Lettuce only notices on its own later): learn the cluster's current
                // topology and ask once more, rather than fail a session that exists.
                redis.refreshTopology();
                return read(target, loader, true);
            }
            throw new UnavailableException(f, e);
        }
        RecordFormat.StoredRecord stored = RecordFormat.parseLoad(fields, System.currentTimeMillis());
        if (stored == null) {
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
    public boolean isCurrent(TrackedSession s) {
        if (s.dropped) {
            return false;
        }
        if (!redis.isUp() || !s.persisted && !s.invalidated) {
            return true; // unreachable: the copy is all there is; never written: nobody else knows it
        }
        if (!redis.isTrackingRefused()) {
            return !s.invalidated && redis.isTracked(s.trackedEpoch);
        }
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        byte[] ver = cmd == null ? null : await(cmd.hget(format.recordKey(s.baseId), RecordFormat.bytes(RecordFormat.VERSION)), null);
        return ver != null && Long.parseLong(RecordFormat.string(ver)) == s.version;
    }

    /** What a refreshed copy is to do. */
    public enum Refresh {
        /** The record is as this node last saw it, or it was read again: use the session. */
        CURRENT,
        /** Another node's version replaced this node's copy: apply {@link #reload}'s record. */
        RELOADED,
        /** Invalidated or expired elsewhere: drop the copy, the request has no session. */
        GONE,
        /** Redis lost the record, or holds an older one: this node's copy is the newest and is written back. */
        RESTORED
    }

    /**
     * Reads a session again after {@link #isCurrent} said no. The record's contents, when they
     * replace the copy, are in {@code into[0]}.
     *
     * @throws UnavailableException when Redis cannot be asked
     */
    public Refresh reload(TrackedSession s, ClassLoader loader, SessionRecord[] into) throws UnavailableException {
        long before = s.version;
        Loaded loaded = read(s, loader);
        if (loaded == null) {
            if (tombstoned(s.baseId)) {
                drop(s, "was invalidated or expired on another node");
                return Refresh.GONE;
            }
            s.needsFull = true; // Redis lost it: this node's copy is all that is left
            restore(s);
            return Refresh.RESTORED;
        }
        if (loaded.stored.version() < before) {
            s.needsFull = true; // Redis went back to an older state: write the newer one back
            restore(s);
            return Refresh.RESTORED;
        }
        synchronized (s) {
            s.version = loaded.stored.version();
            s.persisted = true;
            s.saved.loaded(loaded.hashes, loaded.stored.lastAccessed(), loaded.stored.maxInactive(), loaded.stored.notes(),
                    loaded.stored.extras(), System.currentTimeMillis());
            s.changes.clear(true);
        }
        into[0] = loaded.record(s, loaded.stored.previousOwner());
        stats.reloaded.increment();
        return loaded.stored.version() == before ? Refresh.CURRENT : Refresh.RELOADED;
    }

    private boolean tombstoned(String baseId) throws UnavailableException {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null) {
            throw new UnavailableException(Failure.DISCONNECTED, null);
        }
        try {
            Long n = cmd.exists(format.recordAndTombstone(baseId)[1]).get(options.commandTimeout().toMillis() + 250, TimeUnit.MILLISECONDS);
            return n != null && n > 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException(Failure.OTHER, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new UnavailableException(failed(e), e);
        }
    }

    /** Writes a copy back in full, in the background (the request goes on with it). */
    private void restore(TrackedSession s) {
        ContainerSession c = s.container;
        if (c != null) {
            write(s, c.snapshot(), false, true);
        }
    }

    private Object decode(String baseId, String name, byte[] bytes, ClassLoader loader, TrackedSession s) {
        String what = "Tether: dropped attribute '" + name + "' of session " + SessionId.redact(baseId) + ": ";
        try {
            return codec.decode(bytes, loader);
        } catch (AttributeCodec.RejectedClassException e) {
            stats.rejected.increment();
            s.changes.removeFromRecord(name); // hostile or forbidden: clean it out of the record on the next write
            LOG.warning(what + "class " + e.classname + " is refused by the class filter (allowClasses/denyClasses); nothing was instantiated");
        } catch (ClassNotFoundException e) {
            stats.rejected.increment();
            LOG.warning(what + "the web application has no class " + e.getMessage() + " (redeployed with different classes?)");
        } catch (IOException | RuntimeException e) {
            stats.rejected.increment();
            s.changes.removeFromRecord(name);
            String why = e instanceof ObjectStreamException || e instanceof AttributeCodec.AttributeTooLargeException
                    ? e.getMessage() : RedisConnection.describe(e);
            LOG.warning(what + "its stored bytes cannot be read (" + why + ")");
        }
        return null;
    }

    /** Sticky mode: requests keep arriving with other nodes' routes while those nodes are up. */
    private void noteNonSticky() {
        long n = nonStickyRequests.incrementAndGet();
        if (!options.shared() && n >= 100 && reported.add("non-sticky")) {
            LOG.warning("Tether: " + n + " requests arrived here with sessions of other nodes' routes; if the balancer does not keep"
                    + " users on one node (round robin, a Kubernetes Service), set mode=\"shared\" so that ids and cookies stop"
                    + " changing on every hop (logged once)");
        }
    }

    // ---------------------------------------------------------------- writes

    /** As {@link #commit(TrackedSession, SessionSnapshot)}, with the snapshot of the bound session. */
    public CompletionStage<WriteOutcome> commit(TrackedSession s) {
        ContainerSession c = s.container;
        return commit(s, c == null ? null : c.snapshot());
    }

    /**
     * Ends a request's use of a session: writes what changed, or nothing at all when nothing changed
     * (then at most one asynchronous refresh of the record's lifetime per touch interval). The
     * returned stage completes when Redis has answered; the request may be acknowledged only if the
     * outcome is {@link WriteOutcome#stored()}.
     */
    public CompletionStage<WriteOutcome> commit(TrackedSession s, SessionSnapshot snapshot) {
        boolean last = s.requestEnded();
        return write(s, snapshot, last, false);
    }

    /**
     * As {@link #commit(TrackedSession, SessionSnapshot)}, for a container that says when the last
     * request left rather than when each one ends (Jetty).
     *
     * @param lastLeft no request uses the session any more: values read may be forgotten
     */
    public CompletionStage<WriteOutcome> commit(TrackedSession s, SessionSnapshot snapshot, boolean lastLeft) {
        if (lastLeft) {
            s.activeRequests.set(0);
        }
        return write(s, snapshot, lastLeft, false);
    }

    private CompletableFuture<WriteOutcome> write(TrackedSession s, SessionSnapshot snapshot, boolean drainReads, boolean forceTouch) {
        if (s.dropped) {
            return CompletableFuture.completedFuture(WriteOutcome.DROPPED);
        }
        if (snapshot == null) {
            return UNCHANGED;
        }
        boolean idle = s.writing.tryAcquire();
        if (idle && !forceTouch && !s.needsFull && s.persisted
                && planner.nothingToWrite(s.changes, s.saved, snapshot, System.currentTimeMillis())) {
            s.writing.release();
            return UNCHANGED;
        }
        if (!idle && !acquire(s)) {
            // The previous write of this session is stuck beyond any timeout.
            return CompletableFuture.completedFuture(WriteOutcome.FAILED);
        }
        Sent sent;
        try {
            sent = send(s, snapshot, drainReads, forceTouch);
        } catch (RuntimeException e) {
            s.writing.release();
            throw e;
        }
        if (sent == null) {
            s.writing.release();
            // Nothing new. If this commit waited for a write, that write may have carried its changes.
            WriteOutcome before = s.lastOutcome;
            return idle || before == WriteOutcome.UNCHANGED ? UNCHANGED : CompletableFuture.completedFuture(before);
        }
        sent.outcome().whenComplete((o, e) -> {
            // A touch carries no request's change: a commit that waited for one has nothing to report.
            s.lastOutcome = !sent.waited() ? WriteOutcome.UNCHANGED : o == null ? WriteOutcome.FAILED : o;
            s.writing.release();
        });
        return sent.waited() ? sent.outcome() : UNCHANGED;
    }

    /** A write on its way; {@code waited}: a request must wait for it (a touch is not waited for). */
    private record Sent(CompletableFuture<WriteOutcome> outcome, boolean waited) {
    }

    /** Waits for this session's write in flight, bounded by the command timeout. */
    private boolean acquire(TrackedSession s) {
        try {
            return s.writing.tryAcquire(options.commandTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Plans one write and sends it; the caller holds the session's write permit.
     *
     * @return the write on its way, or {@code null} when there is nothing to send
     */
    private Sent send(TrackedSession s, SessionSnapshot snapshot, boolean drainReads, boolean forceTouch) {
        WritePlan plan;
        RecordFormat.WriteMode mode;
        long base;
        synchronized (s) {
            boolean full = s.needsFull || !s.persisted;
            WritePlanner.Input in = new WritePlanner.Input(snapshot, full ? null : s.changes.drain(drainReads), s.saved, full,
                    s.persisted, options.shared() || route.isEmpty() ? null : RecordFormat.bytes(route), System.currentTimeMillis(),
                    forceTouch);
            if (full) {
                s.changes.clear(drainReads);
            }
            plan = planner.plan(in);
            if (plan.sendsNothing()) {
                report(plan.problems());
                return null;
            }
            s.saved.apply(plan);
            // A new record must not exist yet (an id is never reused); a known one is replaced.
            mode = !full ? RecordFormat.WriteMode.DELTA : s.persisted ? RecordFormat.WriteMode.FULL : RecordFormat.WriteMode.CREATE;
            base = s.version;
            s.needsFull = false;
        }
        report(plan.problems());
        return new Sent(dispatch(s, plan, mode, base), plan.kind() == WritePlan.Kind.WRITE);
    }

    private void report(List<WritePlan.Problem> problems) {
        for (WritePlan.Problem p : problems) {
            if (p.tooLarge()) {
                stats.tooLarge.increment();
                if (reported.add("size:" + p.name() + ":" + p.type())) {
                    LOG.warning("Tether: attribute '" + p.name() + "' (" + p.type() + ") serializes to " + p.size()
                            + " bytes, over maxAttributeBytes=" + options.maxAttributeBytes()
                            + "; it stays in this node's memory only and would be lost on failover");
                }
            } else {
                stats.notSerializable.increment();
                if (reported.add("ser:" + p.type())) {
                    LOG.warning("Tether: attribute '" + p.name() + "' holds " + p.type()
                            + ", which is not serializable; it stays in this node's memory only and would be lost on failover"
                            + " (logged once per class)");
                }
            }
        }
    }

    private CompletableFuture<WriteOutcome> dispatch(TrackedSession s, WritePlan plan, RecordFormat.WriteMode mode, long base) {
        if (!redis.isUp()) {
            return CompletableFuture.completedFuture(keep(s, plan));
        }
        String baseId = s.baseId;
        byte[][] args = format.saveArgs(node, base, mode, plan.ttlSeconds(), plan.sets(), plan.dels());
        CompletableFuture<WriteOutcome> result = new CompletableFuture<>();
        transmit(s, plan, base, args, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.commandTimeout().toMillis() + 500), result);
        if (plan.ttlSeconds() > 0) {
            indexExpiry(baseId, plan.accessed(), plan.maxInactive());
        }
        return result;
    }

    /**
     * Sends one write; the session's permit is held until {@code result} completes. While Redis
     * Cluster moves the session's slot, the write is sent again every 50 ms until {@code deadline}.
     */
    private void transmit(TrackedSession s, WritePlan plan, long base, byte[][] args, long deadline, CompletableFuture<WriteOutcome> result) {
        String baseId = s.baseId;
        long started = System.nanoTime();
        long disconnectsBefore = redis.disconnects();
        CompletableFuture<Object> f;
        try {
            f = scripts.run(Script.SAVE, ScriptOutputType.MULTI, format.recordAndTombstone(baseId), args);
        } catch (RuntimeException e) {
            result.complete(notWritten(s, plan, failed(e, Failure.of(e))));
            return;
        }
        f.whenComplete((reply, error) -> {
            try {
                Failure failure = error == null ? null : Failure.of(error);
                if (failure == Failure.TIMEOUT && redis.disconnects() != disconnectsBefore) {
                    failure = Failure.DISCONNECTED; // the connection went while the write waited: an outage
                }
                if (failure != null && failure.isPassing() && System.nanoTime() < deadline) {
                    // The slot moves between masters (record and tombstone apart for a moment), or Redis
                    // loads its data: the same write, in the same order (this session's permit is still
                    // held), a little later.
                    stats.redisErrors.increment();
                    if (failure == Failure.REDIRECTED) {
                        redis.later(redis::refreshTopology, 0);
                    }
                    redis.later(() -> transmit(s, plan, base, args, deadline, result), 50);
                    return;
                }
                if (failure != null) {
                    result.complete(notWritten(s, plan, failed(error, failure)));
                    return;
                }
                answered(s, baseId, plan, base, reply, null, started, result);
            } catch (RuntimeException e) {
                result.completeExceptionally(e); // never leave a request waiting on a future nobody completes
            }
        });
    }

    /** Runs on the I/O thread as the reply arrives: before any later invalidation is processed. */
    private void answered(TrackedSession s, String baseId, WritePlan plan, long base, Object reply, Throwable error, long started,
            CompletableFuture<WriteOutcome> result) {
        if (error != null) {
            result.complete(notWritten(s, plan, failed(error)));
            return;
        }
        stats.writeNanos(System.nanoTime() - started);
        Reply r = Reply.of(reply);
        switch (r.kind()) {
            case OK -> {
                boolean merged = r.version() != base + 1;
                s.version = r.version();
                s.persisted = true;
                s.trackedEpoch = redis.trackingEpoch();
                if (merged) {
                    s.invalidated = true; // another node's change is in Redis, not in this copy
                    stats.merged.increment();
                }
                stats.writes.increment();
                WriteOutcome outcome = merged ? WriteOutcome.MERGED : WriteOutcome.SAVED;
                if (options.waitReplicas() > 0) {
                    awaitReplicas(baseId).whenComplete((x, e) -> result.complete(outcome));
                } else {
                    result.complete(outcome);
                }
            }
            case MISSING, STALE -> {
                // Redis lost the record, or went back to an older state: this node's copy is the
                // newest there is. Still under this session's write permit: send it in full.
                stats.restored.increment();
                s.needsFull = true;
                ContainerSession c = s.container;
                Sent again = c == null ? null : send(s, c.snapshot(), false, true);
                if (again == null) {
                    result.complete(WriteOutcome.FAILED);
                } else {
                    again.outcome().whenComplete((o, e) -> result.complete(e == null ? o : WriteOutcome.FAILED));
                }
            }
            case GONE -> {
                drop(s, "was invalidated or expired on another node");
                result.complete(WriteOutcome.GONE);
            }
            default -> {
                stats.conflicts.increment();
                s.invalidated = true; // the next request reads the record again
                if (LOG.isLoggable(Level.FINE)) {
                    LOG.fine("Tether: session " + SessionId.redact(baseId) + ": " + r.field() + " was changed on another node meanwhile");
                }
                result.complete(WriteOutcome.CONFLICT);
            }
        }
    }

    /**
     * A write Redis did not take. A lost connection is an outage: the change is kept and written
     * when Redis returns. Anything else fails this write only; the copy is read again next time.
     */
    private WriteOutcome notWritten(TrackedSession s, WritePlan plan, Failure failure) {
        if (failure.isOutage()) {
            return keep(s, plan);
        }
        s.invalidated = true;
        return WriteOutcome.FAILED;
    }

    /** Keeps a write that could not be sent for replay; the request may be acknowledged. */
    private WriteOutcome keep(TrackedSession s, WritePlan plan) {
        synchronized (s) {
            s.changes.requeue(plan.hashesSet().keySet(), plan.hashesRemoved());
            s.saved.unsent(plan.hashesSet().keySet());
            if (plan.full()) {
                s.needsFull = true;
            }
        }
        if (pending.save(s.baseId, s)) {
            stats.queued.increment();
            return WriteOutcome.QUEUED;
        }
        if (reported.add("pending-full")) {
            LOG.warning("Tether: more than maxPendingSessions=" + options.maxPendingSessions()
                    + " sessions wait for Redis; requests changing further sessions are refused until it returns");
        }
        return WriteOutcome.FAILED;
    }

    /**
     * WAIT for replicas after a write (durability option). A shortfall does not undo the write;
     * it is counted and logged once per kind, as a replica missing is an operations matter.
     */
    private CompletableFuture<Void> awaitReplicas(String base) {
        int wanted = options.waitReplicas();
        return redis.waitForReplicas(format.recordKey(base), wanted, options.waitTimeout().toMillis())
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

    /** The core found this node's copy gone: it goes, without destruction events. */
    private void drop(TrackedSession s, String why) {
        s.dropped = true;
        owned.remove(s.baseId, s);
        pending.cancel(s.baseId, s);
        if (LOG.isLoggable(Level.FINE)) {
            LOG.fine("Tether: session " + SessionId.redact(s.baseId) + " " + why + "; dropping this node's copy");
        }
        dropped.increment();
        long now = System.currentTimeMillis();
        long last = lastDropSummary.get();
        if (now - last >= 60_000 && lastDropSummary.compareAndSet(last, now)) {
            // One line a minute at most, however many sessions went.
            LOG.info("Tether: " + dropped.sumThenReset() + " session(s) were invalidated or expired on other nodes"
                    + " (e.g. " + SessionId.redact(s.baseId) + " " + why + "); this node dropped its copies");
        }
        ContainerSession c = s.container;
        if (c != null) {
            c.drop();
        }
    }

    // ---------------------------------------------------------------- invalidate, id change, expiry

    /**
     * Invalidates a session (logout, {@code invalidate()}): its record goes and a tombstone stays,
     * so that no node, owner or not, can bring it back. Final on every node. Queued while Redis is
     * unreachable.
     */
    public CompletionStage<WriteOutcome> invalidate(TrackedSession s) {
        owned.remove(s.baseId, s);
        pending.cancel(s.baseId, s);
        s.dropped = true;
        return deleteRecord(new PendingWrites.Delete(s.baseId, tombstoneSeconds(s)));
    }

    /** Invalidates a session this node does not hold (an administrator, a container call by id). */
    public CompletionStage<WriteOutcome> invalidate(String baseId) {
        TrackedSession held = owned.get(baseId);
        if (held != null) {
            return invalidate(held);
        }
        return deleteRecord(new PendingWrites.Delete(baseId, Math.max(60, planner.ttlSeconds(86_400))));
    }

    private long tombstoneSeconds(TrackedSession s) {
        ContainerSession c = s.container;
        int maxInactive = c == null ? 1800 : c.snapshot().maxInactiveSeconds();
        return Math.max(60, planner.ttlSeconds(maxInactive <= 0 ? 86_400 : maxInactive));
    }

    private CompletableFuture<WriteOutcome> deleteRecord(PendingWrites.Delete d) {
        if (!redis.isUp()) {
            return CompletableFuture.completedFuture(queueDelete(d));
        }
        CompletableFuture<Object> f;
        try {
            f = scripts.run(Script.DELETE, ScriptOutputType.STATUS, format.recordAndTombstone(d.baseId()),
                    format.deleteArgs(d.tombstoneSeconds()));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(failed(e).isOutage() ? queueDelete(d) : WriteOutcome.FAILED);
        }
        unindexExpiry(d.baseId());
        return f.handle((reply, error) -> {
            if (error != null) {
                return failed(error).isOutage() ? queueDelete(d) : WriteOutcome.FAILED;
            }
            stats.deletes.increment();
            return WriteOutcome.SAVED;
        });
    }

    private WriteOutcome queueDelete(PendingWrites.Delete d) {
        if (pending.delete(d)) {
            return WriteOutcome.QUEUED;
        }
        if (reported.add("pending-deletes-full")) {
            LOG.warning("Tether: more than maxPendingSessions=" + options.maxPendingSessions() + " invalidations wait for Redis;"
                    + " further logouts are refused until it returns");
        }
        return WriteOutcome.FAILED;
    }

    /**
     * Moves a session to a new base id (fixation protection at login, {@code changeSessionId}) in
     * one fenced step: the new record is written first (nobody knows its id yet), then the old one
     * is deleted, with a tombstone, only if nobody changed it meanwhile. Otherwise the new record
     * goes again and the change is refused: never two live records, and a request still carrying
     * the old id can neither see nor revive the new session. Never RENAME: the two keys may live in
     * different Redis Cluster slots.
     */
    public CompletionStage<WriteOutcome> changeId(TrackedSession s, String newBaseId) {
        String oldBase;
        boolean wasPersisted;
        long oldVersion;
        synchronized (s) {
            oldBase = s.baseId;
            if (oldBase.equals(newBaseId)) {
                return UNCHANGED;
            }
            wasPersisted = s.persisted;
            oldVersion = s.version;
            owned.remove(oldBase, s);
            pending.rename(oldBase, newBaseId, s);
            s.baseId = newBaseId;
            s.persisted = false; // a new record under the new key
            s.version = 0;
            s.needsFull = true;
            owned.put(newBaseId, s);
        }
        ContainerSession c = s.container;
        CompletableFuture<WriteOutcome> created = write(s, c == null ? null : c.snapshot(), false, true);
        if (!wasPersisted) {
            return created;
        }
        long tombstone = tombstoneSeconds(s);
        return created.thenCompose(outcome -> {
            if (!outcome.stored()) {
                return CompletableFuture.completedFuture(outcome);
            }
            if (outcome == WriteOutcome.QUEUED) {
                pending.delete(new PendingWrites.Delete(oldBase, tombstone));
                return CompletableFuture.completedFuture(outcome);
            }
            return scripts.<List<Object>>run(Script.MOVE, ScriptOutputType.MULTI, format.recordAndTombstone(oldBase),
                    format.moveArgs(oldVersion, tombstone)).handle((reply, error) -> {
                        if (error != null) {
                            failed(error);
                        }
                        WriteOutcome moved = error != null ? WriteOutcome.FAILED : switch (Reply.of(reply).kind()) {
                                    case OK -> outcome;
                                    case GONE -> WriteOutcome.GONE;
                                    default -> WriteOutcome.CONFLICT;
                                };
                        if (!moved.stored()) {
                            // The old record stays as it is: take the new one back, nobody knows its id.
                            scripts.run(Script.DELETE, ScriptOutputType.STATUS, format.recordAndTombstone(newBaseId),
                                    format.deleteArgs(60));
                            s.invalidated = true;
                            s.dropped = moved == WriteOutcome.GONE;
                        }
                        return moved;
                    });
        });
    }

    /** What {@link #expire} found. */
    public enum Expiry {
        /** Idle everywhere: the record is gone, this node fires the destruction events. */
        EXPIRED,
        /** Used on another node meanwhile: drop this copy without events. */
        ALIVE,
        /** Already invalidated or expired elsewhere (its events fired there): drop this copy. */
        GONE,
        /** Redis cannot say: expire here; the record is deleted when Redis returns. */
        UNKNOWN
    }

    /**
     * Before a node fires a session's destruction events because its copy sat idle: claims the
     * expiry in Redis, so that it happens once in the cluster and never to a session that another
     * node still serves.
     */
    public Expiry expire(TrackedSession s) {
        if (s.dropped) {
            return Expiry.GONE;
        }
        if (!redis.isUp() || !s.persisted) {
            if (s.persisted) {
                queueDelete(new PendingWrites.Delete(s.baseId, tombstoneSeconds(s)));
            }
            owned.remove(s.baseId, s);
            return Expiry.UNKNOWN;
        }
        Object reply;
        try {
            reply = await(scripts.run(Script.EXPIRE, ScriptOutputType.MULTI, format.recordAndTombstone(s.baseId),
                    format.expireArgs(System.currentTimeMillis(), planner.touchMillis(), options.shared() ? "" : route,
                            tombstoneSeconds(s))), null);
        } catch (RuntimeException e) {
            failed(e);
            reply = null;
        }
        if (reply == null) {
            owned.remove(s.baseId, s);
            return Expiry.UNKNOWN;
        }
        Reply r = Reply.of(reply);
        owned.remove(s.baseId, s);
        s.dropped = true;
        unindexExpiry(s.baseId);
        return switch (r.kind()) {
            case EXPIRED -> {
                stats.expired.increment();
                yield Expiry.EXPIRED;
            }
            case ALIVE -> Expiry.ALIVE;
            default -> Expiry.GONE;
        };
    }

    /**
     * Finds sessions that expired while no node held them (their node crashed or stopped for good)
     * and claims each one, so that exactly one node fires its destruction events: at most
     * {@value #SWEEP_LIMIT} per call, a few commands per bucket.
     *
     * @param before only sessions whose expiry time is before this (epoch ms)
     * @return the claimed sessions, their attributes decoded with {@code loader}
     */
    public List<SessionRecord> claimExpired(long before, ClassLoader loader) {
        List<SessionRecord> out = new ArrayList<>();
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp()) {
            return out;
        }
        long slack = planner.touchMillis();
        for (int b = 0; b < EXPIRY_BUCKETS && out.size() < SWEEP_LIMIT; b++) {
            byte[] bucket = format.expiryKey(b);
            List<byte[]> due = await(cmd.zrangebyscore(bucket, Range.create(0.0, (double) (before - slack)),
                    io.lettuce.core.Limit.create(0, SWEEP_LIMIT - out.size())), List.of());
            for (byte[] member : due) {
                String baseId = RecordFormat.string(member);
                if (owned.containsKey(baseId) || SessionId.parse(baseId) == null) {
                    continue; // held here: its own expiry handles it
                }
                Object reply = await(scripts.run(Script.EXPIRE, ScriptOutputType.MULTI, format.recordAndTombstone(baseId),
                        format.expireArgs(System.currentTimeMillis(), slack, "", 60)), null);
                if (reply == null) {
                    continue; // try again next sweep
                }
                Reply r = Reply.of(reply);
                if (r.kind() == Reply.Kind.ALIVE) {
                    continue; // its next touch moves it in the index
                }
                cmd.zrem(bucket, member);
                if (r.kind() == Reply.Kind.EXPIRED) {
                    @SuppressWarnings("unchecked")
                    List<Object> fields = (List<Object>) r.rest().get(0);
                    RecordFormat.StoredRecord stored = RecordFormat.parse("", fields, System.currentTimeMillis());
                    TrackedSession s = new TrackedSession(baseId);
                    s.dropped = true;
                    Map<String, Object> attributes = new HashMap<>();
                    stored.attributes().forEach((name, bytes) -> {
                        Object value = decode(baseId, name, bytes, loader, s);
                        if (value != null) {
                            attributes.put(name, value);
                        }
                    });
                    stats.expired.increment();
                    out.add(new Loaded(stored, attributes, Map.of()).record(s, stored.previousOwner()));
                }
            }
        }
        return out;
    }

    /** Puts a session's expiry time in the index; not awaited, and a failure is only logged once. */
    private void indexExpiry(String baseId, long accessed, int maxInactive) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || maxInactive <= 0) {
            return;
        }
        try {
            cmd.zadd(format.expiryKey(bucket(baseId)), (double) (accessed + maxInactive * 1000L), RecordFormat.bytes(baseId))
                    .whenComplete((n, e) -> {
                        if (e != null && reported.add("index:" + Failure.of(e))) {
                            LOG.warning("Tether: cannot update the expiry index (" + RedisConnection.describe(e)
                                    + "); sessions of a node that stops for good may expire without sessionDestroyed (logged once)");
                        }
                    });
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "Tether: expiry index", e);
        }
    }

    private void unindexExpiry(String baseId) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd != null) {
            try {
                cmd.zrem(format.expiryKey(bucket(baseId)), RecordFormat.bytes(baseId));
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "Tether: expiry index", e);
            }
        }
    }

    static int bucket(String baseId) {
        return Math.floorMod(baseId.hashCode(), EXPIRY_BUCKETS);
    }

    // ---------------------------------------------------------------- lookups

    /** The session this node holds under this base id, or {@code null}. */
    public TrackedSession owned(String baseId) {
        return owned.get(baseId);
    }

    /**
     * Whether Redis holds a live (not expired) record for this base id; {@code false} when Redis
     * cannot be asked.
     */
    public boolean exists(String baseId) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp()) {
            return false;
        }
        List<KeyValue<byte[], byte[]>> kv = await(cmd.hmget(format.recordKey(baseId), RecordFormat.bytes(RecordFormat.LAST_ACCESSED),
                RecordFormat.bytes(RecordFormat.MAX_INACTIVE)), null);
        if (kv == null || !kv.get(0).hasValue()) {
            return false;
        }
        long accessed = Long.parseLong(RecordFormat.string(kv.get(0).getValue()));
        long maxInactive = kv.get(1).hasValue() ? Long.parseLong(RecordFormat.string(kv.get(1).getValue())) : -1;
        return maxInactive <= 0 || accessed + maxInactive * 1000 + planner.touchMillis() > System.currentTimeMillis();
    }

    /** Waits for one command within the command timeout; on failure reports it and answers {@code fallback}. */
    private <T> T await(Future<T> reply, T fallback) {
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
     * The adapter dropped its copy of a session without touching Redis: the node stops (the record
     * stays for whichever node serves the user next), or the copy went elsewhere.
     */
    public void drop(TrackedSession s) {
        owned.remove(s.baseId, s);
    }

    /**
     * Writes every session with unsaved changes, waiting a bounded time; a context calls this when
     * it stops, so that nothing acknowledged is lost on a graceful restart.
     */
    public void flush() {
        long timeoutMillis = Math.max(2000, options.commandTimeout().toMillis() * 2);
        List<CompletableFuture<WriteOutcome>> all = new ArrayList<>();
        for (TrackedSession s : List.copyOf(owned.values())) {
            ContainerSession c = s.container;
            all.add(write(s, c == null ? null : c.snapshot(), true, true));
        }
        try {
            CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warning("Tether: could not write all sessions to Redis before stopping (" + RedisConnection.describe(e) + ")");
        }
    }

    // ---------------------------------------------------------------- failures and recovery

    /**
     * Classifies a failed command, counts it, and logs it once per kind. Only a lost connection
     * makes Redis count as unreachable.
     */
    private Failure failed(Throwable error) {
        return failed(error, Failure.of(error));
    }

    private Failure failed(Throwable error, Failure f) {
        stats.redisErrors.increment();
        if (f.isOutage()) {
            redis.reportFailure(ScriptRunner.unwrap(error));
            return f;
        }
        if (f == Failure.READ_ONLY || f == Failure.CLUSTER_DOWN || f == Failure.REDIRECTED) {
            redis.later(redis::refreshTopology, 0);
        }
        if (reported.add("err:" + f)) {
            LOG.warning("Tether: " + f.description() + " (" + RedisConnection.describe(ScriptRunner.unwrap(error))
                    + "); the session writes it hits are refused with 503 and Retry-After, nothing is queued (logged once per kind)");
        }
        return f;
    }

    private UnavailableException unavailable(RuntimeException e) {
        return new UnavailableException(failed(e), e);
    }

    private int onRedisAvailable() {
        reported.remove("pending-full");
        reported.remove("pending-deletes-full");
        boolean recovery = connectedBefore;
        connectedBefore = true;
        int queued = pending.size();
        replayPending();
        if (recovery) {
            // Redis may have come back empty or older (a restart from an old snapshot, a promoted
            // replica that missed writes): every copy this node holds is checked and, where this
            // node's is newer or the record is gone without a tombstone, written back. Paced.
            redis.later(this::checkHeld, 0);
        }
        return queued;
    }

    /** Sends the queued deletes and writes, at most a few hundred a second. */
    private void replayPending() {
        List<Runnable> work = new ArrayList<>();
        for (PendingWrites.Delete d : pending.takeDeletes()) {
            work.add(() -> deleteRecord(d));
        }
        for (TrackedSession s : pending.takeSaves()) {
            work.add(() -> {
                ContainerSession c = s.container;
                write(s, c == null ? null : c.snapshot(), false, true);
            });
        }
        paced(work, 0);
    }

    private static final int PACE_PER_TICK = 50;
    private static final long PACE_TICK_MILLIS = 100;

    /** Runs tasks {@value #PACE_PER_TICK} per {@value #PACE_TICK_MILLIS} ms on the probe thread. */
    private void paced(List<Runnable> work, int from) {
        int to = Math.min(work.size(), from + PACE_PER_TICK);
        for (int i = from; i < to && redis.isUp(); i++) {
            work.get(i).run();
        }
        if (to < work.size()) {
            redis.later(() -> paced(work, to), PACE_TICK_MILLIS);
        }
    }

    /** After an outage: compares every held copy's version with Redis, paced; restores what Redis lost. */
    private void checkHeld() {
        List<Runnable> work = new ArrayList<>();
        for (TrackedSession s : List.copyOf(owned.values())) {
            if (s.persisted && !s.dropped) {
                work.add(() -> checkOne(s));
            }
        }
        paced(work, 0);
    }

    private void checkOne(TrackedSession s) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null) {
            return;
        }
        cmd.hget(format.recordKey(s.baseId), RecordFormat.bytes(RecordFormat.VERSION)).whenComplete((ver, e) -> {
            if (e != null) {
                return;
            }
            long v = ver == null ? -1 : Long.parseLong(RecordFormat.string(ver));
            if (v < s.version) {
                // Missing (and not tombstoned: the save script checks) or older: write this copy back.
                s.needsFull = true;
                redis.later(() -> restore(s), 0);
            }
        });
    }

    @Override
    public void close() {
        redis.close();
    }
}
