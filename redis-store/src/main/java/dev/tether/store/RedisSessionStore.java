package dev.tether.store;

import dev.tether.store.record.RecordFormat;
import dev.tether.store.record.RecordFormat.Reply;
import dev.tether.store.record.Script;
import dev.tether.store.redis.Failure;
import dev.tether.store.redis.RedisConnection;
import dev.tether.store.write.PendingWrites;
import io.lettuce.core.KeyValue;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The session repository of one web application: it creates, loads, writes and deletes sessions
 * in Redis and keeps the policy both containers share. Adapters translate container events into
 * these calls and nothing else.
 *
 * <p>It orchestrates four parts that share one {@link Core}: {@link Reads} (load, is a copy
 * current, read again), {@link Writes} (one write per session in flight, planned by the
 * {@code WritePlanner}, kept for replay in an outage; invalidations), {@link Expiries} (claimed once
 * in the cluster) and {@link Recovery} (when Redis answers again). The record itself belongs to
 * {@link RecordFormat}.
 *
 * <p>Concurrency: every write names the record version its copy reflects; Redis applies it if
 * nobody wrote since, merges it attribute by attribute if somebody did but changed other
 * attributes, and refuses it ({@link WriteOutcome#CONFLICT}) otherwise. A node's copy stays in
 * memory while Redis has not told it of another node's write (client-side caching); then the next
 * request reads the record again.
 */
public final class RedisSessionStore implements AutoCloseable {

    private static final Logger LOG = Core.LOG;
    private static final CompletableFuture<WriteOutcome> UNCHANGED = CompletableFuture.completedFuture(WriteOutcome.UNCHANGED);

    private final Core core;
    private final Reads reads;
    private final Writes writes;
    private final Expiries expiries;
    private final Recovery recovery;
    /** Tests set this to play a node that misses Redis' invalidations (a partition, a slow I/O thread). */
    volatile boolean invalidationsMuted;
    /** Tests set this to hold this node's I/O thread at Redis' next invalidation until it opens (a stalled node). */
    volatile java.util.concurrent.CountDownLatch invalidationsHeld;
    /** Test hook: runs on the reading thread right after a read is sent, before its reply is handled there. */
    void onReadSent(java.util.function.Consumer<CompletableFuture<?>> hook) {
        core.readSent = hook;
    }

    /** For tests: connections to Redis lost so far. */
    long disconnects() {
        return core.redis.disconnects();
    }

    /** Test hook: see {@link RedisConnection#onTrackingReply}. */
    void onTrackingReply(Runnable hook) {
        core.redis.onTrackingReply(hook);
    }

    /** Test hook: runs on the probe thread as Redis is reachable again, before what waits for it is replayed. */
    void onRecovery(Runnable hook) {
        core.recovering = hook;
    }

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
        this.core = new Core(options, route, new RedisConnection.Listener() {
            @Override
            public int onAvailable() {
                return recovery().onRedisAvailable();
            }

            @Override
            public void onInvalidated(String key) {
                if (invalidationsMuted) {
                    return;
                }
                java.util.concurrent.CountDownLatch held = invalidationsHeld;
                if (held != null) {
                    try {
                        held.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                String base = core().format.baseOfKey(key);
                TrackedSession s = base == null ? null : core().owned.get(base);
                if (s != null) {
                    s.heard.incrementAndGet();
                    s.invalidated = true;
                }
            }
        }, this);
        this.reads = new Reads(core);
        this.writes = new Writes(core);
        this.expiries = new Expiries(core, reads, writes);
        this.recovery = new Recovery(core, writes);
        reads.use(writes);
        writes.use(expiries);
        core.stats.use(core.census, this::invalidateSessionsOf);
        core.census.start();
    }

    // The connection may call back before the constructor has finished: read the parts through these.
    private Core core() {
        return core;
    }

    private Recovery recovery() {
        Recovery r = recovery;
        return r != null ? r : new Recovery(core, writes);
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
        return "Tether: sessions of " + application + " are kept in Redis under '" + core.options.keyPrefix() + "{id}', " + routeName + " "
                + (core.route.isEmpty() ? "(none)" : core.route) + ", save mode " + core.options.saveMode() + ", "
                + (core.options.shared() ? "shared" : "sticky") + " mode, Redis at " + core.options.redactedUri();
    }

    /**
     * Waits for a write so that a response is only complete once Redis holds its data; bounded by
     * the command timeout. A write that takes longer counts as not stored.
     */
    public WriteOutcome await(CompletionStage<WriteOutcome> stage) {
        try {
            return stage.toCompletableFuture().get(core.options.commandTimeout().toMillis() + 1000L, TimeUnit.MILLISECONDS);
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
            core.stats.acknowledgedUnstored.increment();
            if (core.once("ack-unstored:" + outcome)) {
                LOG.warning("Tether: a response had already been sent when its session change turned out " + outcome
                        + " (not stored); the application flushed it before the request ended (counted as"
                        + " AcknowledgedUnstored, logged once per kind)");
            }
        } else {
            core.stats.refusedRequests.increment();
            if (core.once("refused:" + outcome)) {
                LOG.warning("Tether: a request's session change was " + outcome + " and not stored; it was answered 503 with"
                        + " Retry-After so that the client or the balancer retries it (counted as RefusedRequests, logged once per kind)");
            }
        }
    }

    /**
     * A session's last write as its application stops (passivation, what was left unwritten) was
     * not stored: nobody can be answered 503 any more. Counted as acknowledged and not stored, and
     * logged once per kind; the stop goes on with the other sessions.
     */
    public void refusedAtStop(WriteOutcome outcome) {
        core.stats.acknowledgedUnstored.increment();
        if (core.once("refused-at-stop:" + outcome)) {
            LOG.warning("Tether: as the application stopped, a session's last changes were " + outcome + " and not stored;"
                    + " the other sessions are still written (counted as AcknowledgedUnstored, logged once per kind)");
        }
    }

    /** A request was answered 503 because its session could not be read: counted as UnreadableRequests. */
    public void unreadable() {
        core.stats.unreadableRequests.increment();
    }

    /** Whether an adapter's problem of this kind gets its log line now: the first, then at most once an hour. */
    public boolean logNow(String kind) {
        return core.once("adapter:" + kind);
    }

    public SessionStoreOptions options() {
        return core.options;
    }

    public String route() {
        return core.route;
    }

    public StoreStats stats() {
        return core.stats;
    }

    public boolean isRedisAvailable() {
        return core.redis.isUp();
    }

    /** Sessions and deletes whose latest state waits for Redis to come back. */
    public int pendingWrites() {
        return core.pending.size();
    }

    /**
     * Waits, bounded, for the first connection. A container calls this while it starts so that the
     * first requests after a restart (the very ones a balancer fails over) find their sessions;
     * Redis being down only delays the start by the bound: room for one slow handshake and a retry.
     */
    public boolean awaitConnected() {
        return awaitConnected(core.options.connectTimeout().multipliedBy(2).plusMillis(500));
    }

    /** As {@link #awaitConnected()}, with an explicit bound. */
    public boolean awaitConnected(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!core.redis.isUp() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return core.redis.isUp();
    }

    /** The Redis key of a session's record, for operators and tests. */
    public String recordKey(String baseId) {
        return core.format.key(baseId);
    }

    // ---------------------------------------------------------------- create, load, check

    /** A session created on this node; it reaches Redis with its first commit. */
    public TrackedSession create(String baseId, ContainerSession session) {
        TrackedSession s = new TrackedSession(baseId);
        s.bind(session);
        s.trackedEpoch = core.redis.trackingEpoch();
        core.owned.put(baseId, s);
        core.stats.created.increment();
        return s;
    }

    /**
     * Reads a session from Redis for this node. In sticky mode this node becomes its owner, which
     * tells every other node holding a copy to read it again before using it.
     *
     * @param requestedRoute the route the request's id carried (for the statistics and the
     *     non-sticky-balancer warning), or {@code null}
     * @return the session, or {@code null} when Redis has no such record
     * @throws UnavailableException when Redis cannot be asked: the request must fail, not go on
     *     with a new, empty session
     */
    public SessionRecord load(String baseId, String requestedRoute, ClassLoader loader) throws UnavailableException {
        if (core.invalidatedLately(baseId)) {
            // This node logged the session out: a record in Redis is an older state (a restart from a
            // snapshot, a promoted replica) that the recovery has not deleted yet. The logout stands.
            // Routine after a login (a parallel request with the old id) or a logout; the recovery
            // line tells of a Redis that came back older.
            if (LOG.isLoggable(java.util.logging.Level.FINE)) {
                LOG.fine("Tether: session " + SessionId.redact(baseId) + " was ended on this node (a logout, or the id before a"
                        + " login); it stays ended and any record of it is deleted again");
            }
            writes.deleteRecord(new PendingWrites.Delete(baseId, Math.max(60, core.planner.ttlSeconds(86_400))));
            return null;
        }
        return reads.load(baseId, requestedRoute, loader);
    }

    /**
     * Whether this node's copy may serve a request as it is: Redis has not told of another node's
     * write since the copy was read or written. Without client-side caching (refused by Redis), one
     * round trip compares the versions. While Redis is unreachable the copy is all there is.
     */
    public boolean isCurrent(TrackedSession s) {
        return reads.isCurrent(s);
    }

    /** What a refreshed copy is to do. */
    public enum Refresh {
        /** The copy stays as it is (the record is as it reflects, or other requests are using it): use the session. */
        CURRENT,
        /** The record was read again and replaces this node's copy: apply {@link #reload}'s record. */
        RELOADED,
        /** Invalidated or expired elsewhere: drop the copy, the request has no session. */
        GONE,
        /** Redis lost the record, or holds an older one: this node's copy is the newest and is written back. */
        RESTORED,
        /**
         * Redis cannot be asked, and the copy is known not to be the record's state (another node
         * changed or ended the session since, or the user comes from another node): the request
         * must not run on it, and is answered 503 (the session may have been logged out there).
         */
        UNAVAILABLE
    }

    /**
     * A request enters a copy this node holds: the copy is made current (nothing sent while Redis
     * has not told of another node's change; else read again), then the request is counted. The
     * adapter calls this under the session's lock, so that requests arriving together resolve one
     * after the other: the first reads the copy again, the next ones find it current. Counting
     * after resolving is what lets the first one replace the copy: only requests already running
     * the application hold its old objects. A request that found it {@link Refresh#GONE} is not
     * counted. While Redis cannot be asked, the copy is all there is ({@link Refresh#CURRENT}),
     * unless it is known stale ({@link Refresh#UNAVAILABLE}: not counted either).
     * The record's contents, when they replace the copy, are in {@code into[0]}.
     */
    public Refresh enter(TrackedSession s, ClassLoader loader, SessionRecord[] into) {
        return enter(s, loader, into, false);
    }

    /**
     * As {@link #enter(TrackedSession, ClassLoader, SessionRecord[])}, for a request whose id names
     * another node's route (sticky mode: the balancer moved the user). Another node has served the
     * session since this copy was used, so Redis is asked rather than the copy trusted: a message
     * about that node's change (a logout) that has not been read yet cannot let a stale copy in.
     */
    public Refresh enter(TrackedSession s, ClassLoader loader, SessionRecord[] into, boolean hopped) {
        if (hopped && !core.options.shared()) {
            s.invalidated = true; // one round trip, on a hop only
        }
        Refresh r;
        try {
            r = reads.isCurrent(s) ? Refresh.CURRENT : reads.reload(s, loader, into);
        } catch (UnavailableException e) {
            // Known stale (Redis told of another node's write, which may be a logout): never served
            // as it is. Else, as far as this node knows, the copy is the session.
            r = s.invalidated ? Refresh.UNAVAILABLE : Refresh.CURRENT;
        }
        if (r != Refresh.GONE && r != Refresh.UNAVAILABLE) {
            s.requestStarted();
        }
        return r;
    }

    /**
     * Reads a session again after {@link #isCurrent} said no. The record's contents, when they
     * replace the copy, are in {@code into[0]}. The copy is replaced only while no request is
     * running the application on it (none counted by {@link TrackedSession#requestStarted}): else
     * it stays and this answers {@link Refresh#CURRENT}. {@link #enter} is the adapters' way in.
     *
     * @throws UnavailableException when Redis cannot be asked
     */
    public Refresh reload(TrackedSession s, ClassLoader loader, SessionRecord[] into) throws UnavailableException {
        return reads.reload(s, loader, into);
    }

    /** Tests count the JVM's pauses themselves. */
    void countPausesWith(java.util.function.LongSupplier counter) {
        core.redis.countPausesWith(counter);
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
        return writes.answer(s, writes.commit(s, snapshot, last), last);
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
        return writes.answer(s, writes.commit(s, snapshot, lastLeft), lastLeft);
    }

    /**
     * A request counted by {@link #enter} is done with the session and its own write (if any) is
     * made: for a container that tells when each request ends only through its response (Jetty,
     * as the last of the response goes out). From then on a stale copy may be read again for the
     * next request: the user's next request, sent after this response, must see what another node
     * stored meanwhile. When it was the last, a refusal carried for others is forgotten: each of
     * them was answered at its own write.
     */
    public void left(TrackedSession s) {
        if (s.requestEnded()) {
            s.carriedRefusal = null;
        }
    }

    // ---------------------------------------------------------------- invalidate, id change, expiry

    /**
     * Invalidates a session (logout, {@code invalidate()}): its record goes and a tombstone stays,
     * so that no node, owner or not, can bring it back. Final on every node. Queued while Redis is
     * unreachable.
     */
    public CompletionStage<WriteOutcome> invalidate(TrackedSession s) {
        core.owned.remove(s.baseId, s);
        core.pending.cancel(s.baseId, s);
        s.dropped = true;
        return writes.deleteRecord(new PendingWrites.Delete(s.baseId, core.tombstoneSeconds(s)));
    }

    /** Invalidates a session this node does not hold (an administrator, a container call by id). */
    public CompletionStage<WriteOutcome> invalidate(String baseId) {
        TrackedSession held = core.owned.get(baseId);
        if (held != null) {
            return invalidate(held);
        }
        return writes.deleteRecord(new PendingWrites.Delete(baseId, Math.max(60, core.planner.ttlSeconds(86_400))));
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
        // One id change at a time per session, in the order they were asked for: a second one
        // (parallel requests at a login) must see the first one's new record, or it would leave it
        // live beside its own.
        CompletableFuture<WriteOutcome> mine = new CompletableFuture<>();
        CompletableFuture<WriteOutcome> before;
        synchronized (s) {
            before = s.idChange;
            s.idChange = mine;
        }
        if (before != null) {
            await(before);
        }
        CompletableFuture<WriteOutcome> done;
        try {
            done = changeIdNow(s, newBaseId).toCompletableFuture();
        } catch (RuntimeException e) {
            mine.complete(WriteOutcome.FAILED);
            throw e;
        }
        done.whenComplete((o, e) -> mine.complete(o == null ? WriteOutcome.FAILED : o));
        return done;
    }

    private CompletionStage<WriteOutcome> changeIdNow(TrackedSession s, String newBaseId) {
        writes.awaitInFlight(s);
        String oldBase;
        boolean wasPersisted;
        long oldVersion;
        String user = s.saved.user();
        synchronized (s) {
            oldBase = s.baseId;
            if (oldBase.equals(newBaseId)) {
                return UNCHANGED;
            }
            wasPersisted = s.persisted;
            oldVersion = s.baseVersion; // after a merged write, another node's change is not in this copy: no move
            core.owned.remove(oldBase, s);
            core.pending.rename(oldBase, newBaseId, s);
            s.baseId = newBaseId;
            s.persisted = false; // a new record under the new key
            s.version = 0;
            s.baseVersion = 0;
            s.needsFull = true;
            core.owned.put(newBaseId, s);
        }
        ContainerSession c = s.container;
        CompletableFuture<WriteOutcome> created = writes.write(s, c == null ? null : c.snapshot(), false, true);
        if (!wasPersisted) {
            return created;
        }
        long tombstone = core.tombstoneSeconds(s);
        return created.thenCompose(outcome -> {
            if (!outcome.stored()) {
                return CompletableFuture.completedFuture(outcome);
            }
            if (outcome == WriteOutcome.QUEUED) {
                core.invalidated(oldBase);
                core.pending.delete(new PendingWrites.Delete(oldBase, tombstone));
                return CompletableFuture.completedFuture(outcome);
            }
            return core.scripts.<List<Object>>run(Script.MOVE, ScriptOutputType.MULTI, core.format.recordAndTombstone(oldBase),
                    core.format.moveArgs(oldVersion, tombstone)).<CompletionStage<WriteOutcome>>handle((reply, error) -> {
                        if (error != null) {
                            core.failed(error);
                        }
                        WriteOutcome moved = error != null ? WriteOutcome.FAILED : switch (Reply.of(reply).kind()) {
                                    case OK -> outcome;
                                    case GONE -> WriteOutcome.GONE;
                                    default -> WriteOutcome.CONFLICT;
                                };
                        if (moved.stored()) {
                            // The old id is over: a Redis rolled back to before this moment brings its
                            // record back, which the recovery deletes again like a logout's.
                            core.invalidated(oldBase);
                            core.users.unindex(user, oldBase); // the new id went into the index with its record
                        }
                        if (moved.stored()) {
                            return CompletableFuture.completedFuture(moved);
                        }
                        // The old record stays as it is: take the new one back, nobody knows its id.
                        // The refusal is answered once that is done, so no request outlives two records.
                        s.invalidated = true;
                        s.dropped = moved == WriteOutcome.GONE;
                        // Tombstoned as long as the record could live: a container may keep the copy
                        // under the new id, which a write-back after an outage must not bring back.
                        return core.scripts.run(Script.DELETE, ScriptOutputType.VALUE, core.format.recordAndTombstone(newBaseId),
                                core.format.deleteArgs(tombstone)).handle((r, e) -> moved);
                    }).thenCompose(Function.identity());
        });
    }

    /**
     * Ends every session of a user, on every node ("log out everywhere"): each record goes, final
     * everywhere; the copies this node holds end with their destruction events, other nodes drop
     * theirs at once.
     *
     * @return how many sessions ended
     * @throws UnavailableException when Redis cannot be asked
     */
    public int invalidateSessionsOf(String user) throws UnavailableException {
        if (user == null || user.isEmpty()) {
            return 0;
        }
        long wait = core.options.commandTimeout().toMillis() * 4 + 1000;
        try {
            List<Users.Indexed> sessions = core.users.sessionsOf(user).get(wait, TimeUnit.MILLISECONDS);
            int ended = 0;
            for (Users.Indexed i : sessions) {
                if (writes.end(i.baseId(), false).get(wait, TimeUnit.MILLISECONDS).stored()) {
                    ended++;
                }
            }
            return ended;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException(Failure.OTHER, e);
        } catch (ExecutionException | TimeoutException e) {
            throw core.unavailable(new RuntimeException(e.getCause() != null ? e.getCause() : e));
        }
    }

    /** What {@link #expire} found. */
    public enum Expiry {
        /** Idle everywhere: the record is gone, this node fires the destruction events. */
        EXPIRED,
        /**
         * Used on another node meanwhile, or within the slack a touch may lag by: drop this copy
         * without events; unless a request is using it now, then it stays (not dropped).
         */
        ALIVE,
        /** Already invalidated or expired elsewhere (its events fired there): drop this copy. */
        GONE,
        /**
         * Redis cannot say (unreachable, or the claim failed): keep the copy, without events, and
         * ask again at the next expiry run. Another node may be serving the session.
         */
        UNKNOWN
    }

    /**
     * Before a node fires a session's destruction events because its copy sat idle: claims the
     * expiry in Redis, so that it happens once in the cluster and never to a session that another
     * node still serves.
     */
    public Expiry expire(TrackedSession s) {
        return expiries.expire(s);
    }

    /**
     * Finds sessions that expired while no node held them (their node crashed or stopped for good)
     * and claims each one, so that exactly one node fires its destruction events: a bounded number
     * per call, a few commands per bucket of the index.
     *
     * @param before only sessions whose expiry time is before this (epoch ms)
     * @return the claimed sessions, their attributes decoded with {@code loader}
     */
    public List<SessionRecord> claimExpired(long before, ClassLoader loader) {
        return expiries.claimExpired(before, loader);
    }

    static int bucket(String baseId) {
        return Expiries.bucket(baseId);
    }

    // ---------------------------------------------------------------- lookups, stop

    /** The session this node holds under this base id, or {@code null}. */
    public TrackedSession owned(String baseId) {
        return core.owned.get(baseId);
    }

    /**
     * Whether Redis holds a live (not expired) record for this base id; {@code false} when Redis
     * cannot be asked.
     */
    public boolean exists(String baseId) {
        return Boolean.TRUE.equals(live(baseId));
    }

    /**
     * Whether a new session may take this base id: Redis holds neither a record nor a tombstone
     * for it (an id ended on purpose is never used again). For an id another application already
     * uses (Tomcat's cross-context dispatch); {@code false} when Redis cannot be asked.
     */
    public boolean free(String baseId) {
        try {
            return core.redis.isUp() && reads.free(baseId);
        } catch (UnavailableException e) {
            return false;
        }
    }

    /** Like {@link #exists}, but {@code null} when Redis cannot be asked or does not answer in time. */
    public Boolean live(String baseId) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = core.redis.async();
        if (cmd == null || !core.redis.isUp()) {
            return null;
        }
        List<KeyValue<byte[], byte[]>> kv = core.await(cmd.hmget(core.format.recordKey(baseId), RecordFormat.bytes(RecordFormat.LAST_ACCESSED),
                RecordFormat.bytes(RecordFormat.MAX_INACTIVE)), null);
        if (kv == null) {
            return null;
        }
        if (!kv.get(0).hasValue()) {
            return false;
        }
        long accessed = Long.parseLong(RecordFormat.string(kv.get(0).getValue()));
        long maxInactive = kv.get(1).hasValue() ? Long.parseLong(RecordFormat.string(kv.get(1).getValue())) : -1;
        return maxInactive <= 0 || accessed + maxInactive * 1000 + core.planner.touchMillis() > System.currentTimeMillis();
    }

    /**
     * The adapter dropped its copy of a session without touching Redis: the node stops (the record
     * stays for whichever node serves the user next), or the copy went elsewhere.
     */
    public void drop(TrackedSession s) {
        core.owned.remove(s.baseId, s);
    }

    /**
     * Writes every session with unsaved changes, waiting a bounded time; a context calls this when
     * it stops, so that nothing acknowledged is lost on a graceful restart.
     */
    public void flush() {
        long timeoutMillis = Math.max(2000, core.options.commandTimeout().toMillis() * 2);
        List<CompletableFuture<WriteOutcome>> all = new ArrayList<>();
        for (TrackedSession s : List.copyOf(core.owned.values())) {
            ContainerSession c = s.container;
            all.add(writes.write(s, c == null ? null : c.snapshot(), true, true));
        }
        try {
            CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warning("Tether: could not write all sessions to Redis before stopping (" + RedisConnection.describe(e) + ")");
        }
        awaitQueued();
    }

    /**
     * Changes and logouts acknowledged while Redis was away live only in this node's queue: a stop
     * waits a bounded time for Redis to take them, then says plainly what is lost with the node.
     */
    private void awaitQueued() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(
                Math.max(5000, core.options.commandTimeout().toMillis() * 2 + core.options.connectTimeout().toMillis()));
        while (queuedCount() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        long sessions = core.owned.values().stream().filter(s -> s.holdsUnsent && !s.dropped).count();
        int logouts = core.pending.deletes();
        if (sessions + logouts > 0) {
            core.stats.acknowledgedUnstored.add(sessions + logouts);
            LOG.severe("Tether: stopping while Redis is unreachable: the changes of " + sessions + " session(s) and " + logouts
                    + " logout(s) acknowledged while Redis was away were never stored and are lost with this node; a logged-out"
                    + " session stays logged in on the other nodes (counted as AcknowledgedUnstored)");
        }
    }

    private long queuedCount() {
        return core.pending.size() + core.owned.values().stream().filter(s -> s.holdsUnsent && !s.dropped).count();
    }

    @Override
    public void close() {
        core.redis.close();
    }
}
