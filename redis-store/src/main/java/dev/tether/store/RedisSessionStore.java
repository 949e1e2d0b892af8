package dev.tether.store;

import dev.tether.store.codec.AttributeCodec;
import dev.tether.store.record.RecordFormat;
import dev.tether.store.record.RecordFormat.Reply;
import dev.tether.store.record.Script;
import dev.tether.store.redis.RedisConnection;
import dev.tether.store.redis.ScriptRunner;
import dev.tether.store.write.PendingWrites;
import dev.tether.store.write.WritePlan;
import dev.tether.store.write.WritePlanner;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisNoScriptException;
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
 * write, {@link ScriptRunner} runs the fenced scripts on the shared {@link RedisConnection}, and
 * {@link PendingWrites} holds what waits for Redis during an outage.
 */
public final class RedisSessionStore implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("dev.tether.store");
    private static final CompletableFuture<WriteOutcome> UNCHANGED = CompletableFuture.completedFuture(WriteOutcome.UNCHANGED);

    private final SessionStoreOptions options;
    private final String route;
    private final byte[] routeBytes;
    private final RecordFormat format;
    private final AttributeCodec codec;
    private final WritePlanner planner;
    private final RedisConnection redis;
    private final ScriptRunner scripts;
    private final StoreStats stats;
    /** Every session this node owns, by base id: replayed after an outage. */
    private final Map<String, TrackedSession> owned = new ConcurrentHashMap<>();
    private final PendingWrites<TrackedSession> pending;
    /** One log line per kind of problem, not one per request. */
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private final LongAdder dropped = new LongAdder();
    private final AtomicLong lastDropSummary = new AtomicLong();
    /** Whether Redis was reachable before: the next time it becomes reachable is a recovery. */
    private volatile boolean connectedBefore;
    /** Tests set this to play a node cut off from announcements (pub/sub lost in a partition). */
    volatile boolean announcementsMuted;

    /**
     * Opens the store. Never blocks on Redis: the connection is made in the background and retried
     * until it succeeds, so a container starts even when Redis is down.
     *
     * @param route this node's route (jvmRoute, workerName); it names the owner in each record
     */
    public RedisSessionStore(SessionStoreOptions options, String route) {
        this.options = options;
        this.route = route == null || route.isEmpty() ? "-" : route;
        this.routeBytes = RecordFormat.bytes(this.route);
        this.format = new RecordFormat(options.keyPrefix());
        this.codec = new AttributeCodec(options);
        this.planner = new WritePlanner(options.saveMode(), options.touchInterval().toMillis(), codec, format);
        this.pending = new PendingWrites<>(options.maxPendingSessions());
        this.stats = new StoreStats(this::isRedisAvailable, this::pendingWrites);
        this.redis = new RedisConnection(options, format.channel(), new RedisConnection.Listener() {
            @Override
            public int onAvailable() {
                return onRedisAvailable();
            }

            @Override
            public void onOwnershipMessage(String message) {
                onAnnouncement(message);
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
                + route + ", save mode " + options.saveMode() + ", Redis at " + options.redactedUri();
    }

    /**
     * Waits for a write so that a response is only complete once Redis holds its data; bounded by
     * the command timeout (a write that takes longer is queued and replayed).
     */
    public WriteOutcome await(CompletionStage<WriteOutcome> stage) {
        try {
            return stage.toCompletableFuture().get(options.commandTimeout().toMillis() + 1000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return WriteOutcome.QUEUED;
        } catch (ExecutionException | TimeoutException e) {
            return WriteOutcome.QUEUED;
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

    // ---------------------------------------------------------------- create and load

    /** A session created on this node; it reaches Redis with its first commit. */
    public TrackedSession create(String baseId, ContainerSession session) {
        TrackedSession s = new TrackedSession(baseId, route, 1);
        s.bind(session);
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
    public SessionRecord takeOver(String baseId, ClassLoader loader) {
        if (!redis.isUp()) {
            stats.unavailable.increment();
            return null;
        }
        List<Object> reply = takeOverReply(baseId);
        if (reply == FAILED && redis.isCluster()) {
            // The key's master may have died and a replica taken over its slots since this node last
            // used them (Lettuce only notices on its own later): learn the cluster's current
            // topology and try once more, rather than report an existing session as missing.
            redis.refreshTopology();
            reply = takeOverReply(baseId);
        }
        if (reply == FAILED) {
            return null;
        }
        long now = System.currentTimeMillis();
        RecordFormat.StoredRecord stored = RecordFormat.parseTakeOver(reply, now);
        if (stored == null) {
            stats.missed.increment();
            return null;
        }
        TrackedSession s = new TrackedSession(baseId, route, stored.epoch());
        s.persisted = true;
        Map<String, Object> attributes = new HashMap<>();
        Map<String, Long> hashes = new HashMap<>();
        stored.attributes().forEach((name, bytes) -> {
            Object value = decode(baseId, name, bytes, loader, s);
            if (value != null) {
                attributes.put(name, value);
                hashes.put(name, AttributeCodec.hash(bytes));
            }
        });
        s.saved.loaded(hashes, stored.lastAccessed(), stored.maxInactive(), now);
        owned.put(baseId, s);
        String previousOwner = stored.previousOwner();
        if (previousOwner != null && !previousOwner.equals(route)) {
            stats.takenOver(previousOwner);
        } else {
            stats.loaded.increment();
        }
        return new SessionRecord(s, stored.created(), stored.lastAccessed(), stored.maxInactive(), stored.lastSaved(),
                previousOwner, attributes, stored.notes());
    }

    /** Marks a take-over whose command failed (as opposed to finding no record). */
    private static final List<Object> FAILED = new ArrayList<>();

    private List<Object> takeOverReply(String baseId) {
        try {
            return await(scripts.run(Script.TAKE_OVER, ScriptOutputType.MULTI, new byte[][] {format.recordKey(baseId)},
                    format.takeOverArgs(route, baseId)), FAILED);
        } catch (RuntimeException e) {
            failed(e);
            return FAILED;
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

    // ---------------------------------------------------------------- writes

    /** As {@link #commit(TrackedSession, SessionSnapshot)}, with the snapshot of the bound session. */
    public CompletionStage<WriteOutcome> commit(TrackedSession s) {
        ContainerSession c = s.container;
        return commit(s, c == null ? null : c.snapshot());
    }

    /**
     * Ends a request's use of a session: writes what changed as one fenced delta, or nothing at all
     * when nothing changed (then at most one asynchronous TTL refresh per touch interval). The
     * returned stage completes when Redis has answered; a caller that must not acknowledge a request
     * before its data is stored waits for it ({@link #await}).
     */
    public CompletionStage<WriteOutcome> commit(TrackedSession s, SessionSnapshot snapshot) {
        boolean last = s.requestEnded();
        return write(s, snapshot, last, false);
    }

    private CompletableFuture<WriteOutcome> write(TrackedSession s, SessionSnapshot snapshot, boolean drainReads, boolean forceTouch) {
        if (s.dropped) {
            return CompletableFuture.completedFuture(WriteOutcome.LOST);
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
            // The previous write of this session is stuck beyond any timeout: replay it in full later.
            return CompletableFuture.completedFuture(queue(s));
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
            return idle || (before != WriteOutcome.SAVED && before != WriteOutcome.QUEUED)
                    ? UNCHANGED : CompletableFuture.completedFuture(before);
        }
        sent.outcome().whenComplete((o, e) -> {
            s.lastOutcome = o == null ? WriteOutcome.QUEUED : o;
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
        synchronized (s) {
            boolean full = s.needsFull || !s.persisted;
            WritePlanner.Input in = new WritePlanner.Input(snapshot, full ? null : s.changes.drain(drainReads), s.saved, full,
                    s.persisted, s.owner.equals(route) ? routeBytes : RecordFormat.bytes(s.owner), s.epoch,
                    System.currentTimeMillis(), forceTouch);
            if (full) {
                s.changes.clear(drainReads);
            }
            plan = planner.plan(in);
            if (plan.sendsNothing()) {
                report(plan.problems());
                return null;
            }
            s.saved.apply(plan);
            s.needsFull = false;
        }
        report(plan.problems());
        return new Sent(dispatch(s, plan), plan.kind() == WritePlan.Kind.WRITE);
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

    private CompletableFuture<WriteOutcome> dispatch(TrackedSession s, WritePlan plan) {
        if (!redis.isUp()) {
            return CompletableFuture.completedFuture(queue(s));
        }
        String base = s.baseId;
        byte[][] args = format.saveArgs(s.owner.equals(route) ? routeBytes : RecordFormat.bytes(s.owner), s.epoch, plan.full(),
                plan.ttlSeconds(), plan.sets(), plan.dels());
        long started = System.nanoTime();
        CompletableFuture<byte[]> f;
        try {
            f = scripts.run(Script.SAVE, ScriptOutputType.VALUE, format.recordAndTombstone(base), args);
        } catch (RuntimeException e) {
            failed(e);
            return CompletableFuture.completedFuture(queue(s));
        }
        CompletableFuture<WriteOutcome> result = new CompletableFuture<>();
        f.whenComplete((reply, error) -> {
            try {
                answered(s, base, reply, error, started, result);
            } catch (RuntimeException e) {
                result.completeExceptionally(e); // never leave a request waiting on a future nobody completes
            }
        });
        return result;
    }

    private void answered(TrackedSession s, String base, byte[] reply, Throwable error, long started, CompletableFuture<WriteOutcome> result) {
        if (error != null) {
            failed(error);
            result.complete(queue(s));
            return;
        }
        stats.writeNanos(System.nanoTime() - started);
        switch (Reply.of(reply)) {
            case OK -> {
                s.persisted = true;
                stats.writes.increment();
                if (options.waitReplicas() > 0) {
                    awaitReplicas(base).whenComplete((x, e) -> result.complete(WriteOutcome.SAVED));
                } else {
                    result.complete(WriteOutcome.SAVED);
                }
            }
            case MISSING -> {
                // Redis lost the record (restarted empty, or evicted it): write everything again.
                // Still under this session's write permit: nothing else of it is in flight.
                s.needsFull = true;
                ContainerSession c = s.container;
                Sent again = c == null ? null : send(s, c.snapshot(), false, true);
                if (again == null) {
                    result.complete(WriteOutcome.QUEUED);
                } else {
                    again.outcome().whenComplete((o, e) -> result.complete(e == null ? o : WriteOutcome.QUEUED));
                }
            }
            case GONE -> {
                drop(s, "was invalidated on another node");
                result.complete(WriteOutcome.GONE);
            }
            case FENCED -> {
                stats.fenced.increment();
                drop(s, "is owned by another node now");
                result.complete(WriteOutcome.FENCED);
            }
        }
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

    private WriteOutcome queue(TrackedSession s) {
        s.needsFull = true;
        if (pending.save(s.baseId, s)) {
            stats.queued.increment();
        } else if (reported.add("pending-full")) {
            LOG.warning("Tether: more than maxPendingSessions=" + options.maxPendingSessions()
                    + " sessions wait for Redis; further ones are written on their next request after Redis returns");
        }
        return WriteOutcome.QUEUED;
    }

    /** The core found this node's copy stale: it goes, without destruction events. */
    private void drop(TrackedSession s, String why) {
        s.dropped = true;
        owned.remove(s.baseId, s);
        pending.cancel(s.baseId, s);
        if (LOG.isLoggable(Level.FINE)) {
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
        ContainerSession c = s.container;
        if (c != null) {
            c.drop();
        }
    }

    // ---------------------------------------------------------------- delete, id change, ownership

    /**
     * Deletes a session's record if this node still owns it, leaving a tombstone that outlives any
     * stale copy. Queued while Redis is unreachable.
     */
    public CompletionStage<WriteOutcome> delete(TrackedSession s) {
        owned.remove(s.baseId, s);
        pending.cancel(s.baseId, s);
        if (s.dropped) {
            return CompletableFuture.completedFuture(WriteOutcome.LOST);
        }
        s.dropped = true;
        return deleteRecord(new PendingWrites.Delete(s.baseId, s.owner, s.epoch, tombstoneSeconds(s)));
    }

    private long tombstoneSeconds(TrackedSession s) {
        ContainerSession c = s.container;
        int maxInactive = c == null ? 1800 : c.snapshot().maxInactiveSeconds();
        return Math.max(60, planner.ttlSeconds(maxInactive <= 0 ? 86_400 : maxInactive));
    }

    private CompletableFuture<WriteOutcome> deleteRecord(PendingWrites.Delete d) {
        if (!redis.isUp()) {
            pending.delete(d);
            return CompletableFuture.completedFuture(WriteOutcome.QUEUED);
        }
        CompletableFuture<byte[]> f;
        try {
            f = scripts.run(Script.DELETE, ScriptOutputType.VALUE, format.recordAndTombstone(d.baseId()),
                    format.deleteArgs(d.owner(), d.epoch(), d.tombstoneSeconds(), d.baseId()));
        } catch (RuntimeException e) {
            failed(e);
            pending.delete(d);
            return CompletableFuture.completedFuture(WriteOutcome.QUEUED);
        }
        return f.handle((reply, error) -> {
            if (error != null) {
                failed(error);
                pending.delete(d);
                return WriteOutcome.QUEUED;
            }
            if (Reply.of(reply) == Reply.OK) {
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
    public CompletionStage<WriteOutcome> changeId(TrackedSession s, String newBaseId) {
        String oldBase;
        boolean wasPersisted;
        long epoch;
        synchronized (s) {
            oldBase = s.baseId;
            if (oldBase.equals(newBaseId)) {
                return UNCHANGED;
            }
            wasPersisted = s.persisted;
            epoch = s.epoch;
            owned.remove(oldBase, s);
            pending.rename(oldBase, newBaseId, s);
            s.baseId = newBaseId;
            s.persisted = false; // create mode under the new key
            s.needsFull = true;
            owned.put(newBaseId, s);
        }
        ContainerSession c = s.container;
        CompletableFuture<WriteOutcome> saved = write(s, c == null ? null : c.snapshot(), false, true);
        if (!wasPersisted) {
            return saved;
        }
        PendingWrites.Delete old = new PendingWrites.Delete(oldBase, s.owner, epoch, tombstoneSeconds(s));
        return saved.thenCompose(outcome -> outcome == WriteOutcome.SAVED || outcome == WriteOutcome.QUEUED
                ? deleteRecord(old).thenApply(d -> outcome)
                : CompletableFuture.completedFuture(outcome));
    }

    /**
     * Whether this node still owns the session in Redis; asked before local expiry fires
     * destruction events. Answers {@code true} when Redis cannot be asked.
     */
    public boolean stillOwned(TrackedSession s) {
        if (s.dropped) {
            return false;
        }
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp() || !s.persisted) {
            return true;
        }
        List<KeyValue<byte[], byte[]>> kv = await(cmd.hmget(format.recordKey(s.baseId),
                RecordFormat.bytes(RecordFormat.OWNER), RecordFormat.bytes(RecordFormat.EPOCH)), null);
        if (kv == null || !kv.get(1).hasValue()) {
            return true; // Redis cannot say, or the record is gone: it expires here and now anyway
        }
        return s.owner.equals(RecordFormat.string(kv.get(0).getValueOrElse(new byte[0])))
                && Long.toString(s.epoch).equals(RecordFormat.string(kv.get(1).getValue()));
    }

    /** The session this node owns under this base id, or {@code null}. */
    public TrackedSession owned(String baseId) {
        return owned.get(baseId);
    }

    /** Whether Redis holds a record for this base id; {@code false} when Redis cannot be asked. */
    public boolean exists(String baseId) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null || !redis.isUp()) {
            return false;
        }
        Long n = await(cmd.exists(format.recordKey(baseId)), 0L);
        return n != null && n > 0;
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
     * stays for whichever node serves the user next), or the copy is known to be stale.
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

    // ---------------------------------------------------------------- outage handling

    private void failed(Throwable error) {
        Throwable e = ScriptRunner.unwrap(error);
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
        for (TrackedSession s : recovery ? List.copyOf(owned.values()) : List.<TrackedSession>of()) {
            if (!s.needsFull && s.persisted) {
                s.needsFull = true;
                ContainerSession c = s.container;
                write(s, c == null ? null : c.snapshot(), false, true);
            }
        }
        return replayed;
    }

    /** Sends the queued deletes and the queued sessions' latest state; returns how many. */
    private int replayPending() {
        int replayed = 0;
        for (PendingWrites.Delete d : pending.takeDeletes()) {
            deleteRecord(d);
            replayed++;
        }
        for (TrackedSession s : pending.takeSaves()) {
            s.needsFull = true;
            ContainerSession c = s.container;
            write(s, c == null ? null : c.snapshot(), false, true);
            replayed++;
        }
        return replayed;
    }

    /**
     * Another node took a session over, or deleted it: drop this node's copy now, so that the
     * user's next request here reloads the current state instead of writing into a stale copy.
     */
    private void onAnnouncement(String message) {
        if (announcementsMuted) {
            return;
        }
        RecordFormat.Announcement a = RecordFormat.parseAnnouncement(message);
        TrackedSession s = a == null ? null : owned.get(a.baseId());
        if (s == null || s.dropped) {
            return;
        }
        if (a.gone()) {
            if (!a.owner().equals(route)) {
                drop(s, "was invalidated on node " + a.owner());
            }
        } else if (a.epoch() > s.epoch) {
            stats.fenced.increment();
            drop(s, "was taken over by node " + a.owner());
        }
    }

    @Override
    public void close() {
        redis.close();
    }
}
