package dev.tether.store;

import dev.tether.store.record.RecordFormat;
import dev.tether.store.record.RecordFormat.Reply;
import dev.tether.store.record.Script;
import dev.tether.store.redis.Failure;
import dev.tether.store.redis.RedisConnection;
import dev.tether.store.redis.ScriptRunner;
import dev.tether.store.write.PendingWrites;
import dev.tether.store.write.WritePlan;
import dev.tether.store.write.WritePlanner;
import io.lettuce.core.ScriptOutputType;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Writing sessions: one write per session in flight (its permit), planned by the {@link
 * WritePlanner} at the moment it can be sent, retried in order while Redis Cluster moves a slot, and
 * kept for replay while Redis is unreachable; and invalidations (record deleted, tombstone left).
 */
final class Writes {

    private static final Logger LOG = Core.LOG;
    private static final CompletableFuture<WriteOutcome> UNCHANGED = CompletableFuture.completedFuture(WriteOutcome.UNCHANGED);
    private static final CompletableFuture<WriteOutcome> SENT = CompletableFuture.completedFuture(WriteOutcome.SENT);

    private final Core core;
    private final SessionStoreOptions options;
    private final String route;
    private final RecordFormat format;
    private final RedisConnection redis;
    private final ScriptRunner scripts;
    private final StoreStats stats;
    private final Map<String, TrackedSession> owned;
    private final WritePlanner planner;
    private final PendingWrites<TrackedSession> pending;
    private final byte[] node;
    private final Users users;
    private Expiries expiries;

    Writes(Core core) {
        this.core = core;
        this.options = core.options;
        this.route = core.route;
        this.format = core.format;
        this.redis = core.redis;
        this.scripts = core.scripts;
        this.stats = core.stats;
        this.owned = core.owned;
        this.planner = core.planner;
        this.pending = core.pending;
        this.node = core.node;
        this.users = core.users;
    }

    void use(Expiries expiries) {
        this.expiries = expiries;
    }

    /**
     * The write at the end of a request. With {@code asyncWrites} the request does not wait for
     * Redis: the write is on its way (after any earlier write of the session, in order) and its
     * outcome, if not stored, is counted as acknowledged but unstored.
     */
    CompletableFuture<WriteOutcome> commit(TrackedSession s, SessionSnapshot snapshot, boolean drainReads) {
        if (options.asyncWrites() && snapshot != null && s.persisted && !s.needsFull && s.writing.availablePermits() == 0
                && planner.nothingToWrite(s.changes, s.saved, snapshot, System.currentTimeMillis())) {
            return UNCHANGED; // a write of this session is on its way; nothing waits for it in this mode
        }
        boolean logout = options.asyncWrites() && loggingOut(s, snapshot); // before the write records the new user
        CompletableFuture<WriteOutcome> w = write(s, snapshot, drainReads, false);
        if (!options.asyncWrites() || w.isDone() || logout) {
            return w; // a logout waits as always: answered, it must be final
        }
        w.whenComplete((o, e) -> {
            if (e != null || !o.stored()) {
                lostAfterAcknowledging(e != null ? WriteOutcome.FAILED : o);
            }
        });
        return SENT;
    }

    /** The request logged the user out ({@code request.logout()}), keeping the session. */
    private static boolean loggingOut(TrackedSession s, SessionSnapshot snapshot) {
        return snapshot != null && snapshot.user() == null && s.saved.user() != null;
    }

    /**
     * What a request is told. A write refused while other requests were using the copy drained
     * their changes too (the changes of a copy are one set): each of those requests is refused as
     * well, whatever its own commit found, until the last of them has ended.
     */
    CompletableFuture<WriteOutcome> answer(TrackedSession s, CompletableFuture<WriteOutcome> commit, boolean last) {
        if (s.carriedRefusal == null && commit.isDone()) {
            return commit;
        }
        return commit.thenApply(o -> {
            WriteOutcome carried = s.carriedRefusal;
            if (last) {
                s.carriedRefusal = null;
            }
            return carried != null && o.stored() ? carried : o;
        });
    }

    /** A refused write: if other requests are using the copy, it carried their changes too. */
    private void refusedWhileShared(TrackedSession s, WriteOutcome outcome) {
        if (s.activeRequests.get() > 0) {
            s.carriedRefusal = outcome;
        }
    }

    /**
     * A copy's write-back (Redis lost the record or went back to an older state) refused because
     * another node wrote the record since: the copy cannot replace the record without undoing that
     * write, and what it held beyond the record may be lost. Counted and logged, never silent.
     */
    private void writeBackRefused() {
        stats.notRestored.increment();
        if (core.once("write-back-refused")) {
            LOG.warning("Tether: Redis went back to an older state of a session (a restart from an old snapshot, a promoted replica"
                    + " that missed writes) and another node wrote it since; this node's newer copy cannot be written back over"
                    + " that write, and changes it held beyond the record may be lost (counted as SessionsNotRestored, logged once)");
        }
    }

    /** A change acknowledged before it was stored (asyncWrites, or queued in an outage) that was not. */
    private void lostAfterAcknowledging(WriteOutcome outcome) {
        stats.acknowledgedUnstored.increment();
        if (core.once("acknowledged-lost:" + outcome)) {
            LOG.warning("Tether: a session change already acknowledged to its client (asyncWrites, or queued while Redis was away)"
                    + " turned out " + outcome + " and was not stored" + (outcome == WriteOutcome.CONFLICT
                            ? ": another node changed it meanwhile, and that change stands" : "")
                    + " (counted as AcknowledgedUnstored, logged once per kind)");
        }
    }

    CompletableFuture<WriteOutcome> write(TrackedSession s, SessionSnapshot snapshot, boolean drainReads, boolean forceTouch) {
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
        return holding(s, snapshot, drainReads, forceTouch, idle);
    }

    /** {@link #write} once the session's write permit is held; {@code idle}: it was free at once. */
    private CompletableFuture<WriteOutcome> holding(TrackedSession s, SessionSnapshot snapshot, boolean drainReads, boolean forceTouch,
            boolean idle) {
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
        // The permit is free before the request hears the outcome: its next request on this thread
        // must not find the session still writing and wait for (and report) this write again.
        CompletableFuture<WriteOutcome> answered = new CompletableFuture<>();
        sent.outcome().whenComplete((o, e) -> {
            // A touch carries no request's change: a commit that waited for one has nothing to report.
            s.lastOutcome = !sent.waited() ? WriteOutcome.UNCHANGED : o == null ? WriteOutcome.FAILED : o;
            s.writing.release();
            if (e != null) {
                answered.completeExceptionally(e);
            } else {
                answered.complete(o);
            }
        });
        return sent.waited() ? answered : UNCHANGED;
    }

    /** A write on its way; {@code waited}: a request must wait for it (a touch is not waited for). */
    private record Sent(CompletableFuture<WriteOutcome> outcome, boolean waited) {
    }

    /**
     * Waits until the session's write in flight (if any) has landed, bounded by the command timeout:
     * an id change must build on the version that write leaves, since the response of its request
     * may have gone out before it (a forward commits the response).
     */
    void awaitInFlight(TrackedSession s) {
        if (acquire(s)) {
            s.writing.release();
        }
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
            WritePlanner.Input in = new WritePlanner.Input(s.baseId, snapshot, full ? null : s.changes.drain(drainReads, snapshot.attributes()), s.saved, full,
                    s.persisted, options.shared() || route.isEmpty() ? null : RecordFormat.bytes(route), System.currentTimeMillis(),
                    forceTouch);
            if (full) {
                s.changes.clear(drainReads, snapshot.attributes());
            }
            plan = planner.plan(in);
            if (!plan.unwritten().isEmpty()) {
                // Written again by the next request; this one is not acknowledged as stored.
                s.changes.requeue(plan.unwritten(), List.of());
                if (plan.full() || plan.sendsNothing()) {
                    // A full write would drop them from Redis: nothing goes, the copy stays to be written in full.
                    if (full) {
                        s.needsFull = true;
                    }
                    report(plan.problems());
                    return new Sent(CompletableFuture.completedFuture(WriteOutcome.FAILED), true);
                }
            }
            if (plan.sendsNothing()) {
                report(plan.problems());
                return null;
            }
            s.saved.apply(plan);
            // A new record must not exist yet (an id is never reused); a known one is replaced.
            mode = !full ? RecordFormat.WriteMode.DELTA : s.persisted ? RecordFormat.WriteMode.FULL : RecordFormat.WriteMode.CREATE;
            base = s.baseVersion;
            s.needsFull = false;
        }
        report(plan.problems());
        CompletableFuture<WriteOutcome> sent = dispatch(s, plan, mode, base);
        if (!plan.unwritten().isEmpty()) {
            sent = sent.thenApply(o -> o.stored() ? WriteOutcome.FAILED : o);
        }
        return new Sent(sent, plan.kind() == WritePlan.Kind.WRITE || !plan.unwritten().isEmpty());
    }

    private void report(List<WritePlan.Problem> problems) {
        for (WritePlan.Problem p : problems) {
            if (p.tooLarge()) {
                stats.tooLarge.increment();
                if (core.once("size:" + p.name() + ":" + p.type())) {
                    LOG.warning("Tether: attribute '" + p.name() + "' (" + p.type() + ") serializes to " + p.size()
                            + " bytes, over maxAttributeBytes=" + options.maxAttributeBytes()
                            + "; it stays in this node's memory only and would be lost on failover");
                }
            } else {
                stats.notSerializable.increment();
                if (core.once("ser:" + p.type())) {
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
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.commandTimeout().toMillis() + 500);
        if (plan.indexUntil() != 0) {
            // Into the user's index first: the index may name a session that does not name the user
            // (yet), never the other way round. Once per login and about once per TTL.
            try {
                users.index(plan.user(), baseId, plan.indexUntil()).whenComplete((n, e) -> {
                    if (e != null) {
                        result.complete(notWritten(s, plan, core.failed(e)));
                    } else {
                        transmit(s, plan, base, args, deadline, result);
                    }
                });
            } catch (RuntimeException e) {
                result.complete(notWritten(s, plan, core.failed(e)));
            }
        } else {
            transmit(s, plan, base, args, deadline, result);
        }
        if (plan.ttlSeconds() != 0) {
            expiries.indexExpiry(baseId, plan.accessed(), plan.maxInactive());
        }
        return plan.unindexUser() == null && !(plan.login() && options.maxSessionsPerUser() > 0) ? result
                : result.thenCompose(outcome -> afterUserChange(s, plan, outcome));
    }

    /**
     * After a write that changed the record's user: the previous user's index drops the session,
     * and a login beyond {@code maxSessionsPerUser} ends that user's least recently used sessions.
     */
    private CompletableFuture<WriteOutcome> afterUserChange(TrackedSession s, WritePlan plan, WriteOutcome outcome) {
        if (outcome != WriteOutcome.SAVED && outcome != WriteOutcome.MERGED) {
            return CompletableFuture.completedFuture(outcome); // not in Redis (yet): a replay writes it in full
        }
        if (plan.unindexUser() != null) {
            users.unindex(plan.unindexUser(), s.baseId);
        }
        int max = options.maxSessionsPerUser();
        if (!plan.login() || max <= 0) {
            return CompletableFuture.completedFuture(outcome);
        }
        return users.limit(plan.user(), s.baseId, max, other -> end(other, true)).handle((n, e) -> {
            if (e != null && core.once("limit")) {
                LOG.warning("Tether: could not apply maxSessionsPerUser=" + max + " (" + RedisConnection.describe(e)
                        + "); the login stands (logged once)");
            }
            return outcome; // the login itself is stored either way
        });
    }

    /**
     * Ends a session on an administrator's word or a per-user limit: its record goes, final on every
     * node; the copy this node holds ends with its destruction events, on {@code later}: a thread
     * of Tether's rather than the caller's (an I/O thread must not run application code).
     */
    CompletableFuture<WriteOutcome> end(String baseId, boolean later) {
        TrackedSession held = owned.remove(baseId);
        if (held != null) {
            pending.cancel(baseId, held);
            held.dropped = true;
        }
        CompletableFuture<WriteOutcome> deleted = deleteRecord(new PendingWrites.Delete(baseId,
                held != null ? core.tombstoneSeconds(held) : Math.max(60, planner.ttlSeconds(86_400))));
        ContainerSession c = held == null ? null : held.container;
        if (c == null) {
            return deleted;
        }
        return deleted.thenApply(o -> {
            if (o.stored()) {
                if (later) {
                    redis.later(c::end, 0);
                } else {
                    c.end();
                }
            }
            return o;
        });
    }

    /**
     * Sends one write; the session's permit is held until {@code result} completes. While Redis
     * Cluster moves the session's slot, the write is sent again every 50 ms until {@code deadline}.
     */
    private void transmit(TrackedSession s, WritePlan plan, long base, byte[][] args, long deadline, CompletableFuture<WriteOutcome> result) {
        String baseId = s.baseId;
        long started = System.nanoTime();
        long epoch = redis.trackingEpoch(); // before sending: the reply may be handled late, on another thread
        long disconnectsBefore = redis.disconnects();
        CompletableFuture<Object> f;
        try {
            f = scripts.run(Script.SAVE, ScriptOutputType.MULTI, format.recordAndTombstone(baseId), args);
        } catch (RuntimeException e) {
            result.complete(notWritten(s, plan, core.failed(e, Failure.of(e))));
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
                    if (!s.persisted && Failure.mayHaveRun(error, failure)) {
                        s.maybeStored = true; // the create may have run: its expiry must ask Redis
                    }
                    result.complete(notWritten(s, plan, core.failed(error, failure)));
                    return;
                }
                answered(s, baseId, plan, base, reply, epoch, started, result);
            } catch (RuntimeException e) {
                result.completeExceptionally(e); // never leave a request waiting on a future nobody completes
            }
        });
    }

    /** A write's reply, handled on the I/O thread or, if it came first, on the thread that sent it (hence {@code epoch}, taken before sending). */
    private void answered(TrackedSession s, String baseId, WritePlan plan, long base, Object reply, long epoch, long started,
            CompletableFuture<WriteOutcome> result) {
        stats.writeNanos(System.nanoTime() - started);
        Reply r = Reply.of(reply);
        switch (r.kind()) {
            case OK -> {
                if (s.holdsUnsent && s.changes.isEmpty(false) && !s.needsFull) {
                    unsentStored(s); // this write carried what was queued (requeued into changes)
                }
                boolean merged = r.version() != base + 1;
                s.version = r.version();
                if (!merged) {
                    s.baseVersion = r.version();
                } // else the copy's contents stay at its base: they lack the other node's change
                s.persisted = true;
                s.trackedEpoch = epoch;
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
                core.drop(s, "was invalidated or expired on another node");
                refusedWhileShared(s, WriteOutcome.GONE);
                result.complete(WriteOutcome.GONE);
            }
            default -> {
                stats.conflicts.increment();
                s.invalidated = true; // the next request reads the record again
                if (LOG.isLoggable(Level.FINE)) {
                    LOG.fine("Tether: session " + SessionId.redact(baseId) + ": " + r.field() + " was changed on another node meanwhile");
                }
                if (s.holdsUnsent && sendAgainWithout(s, plan, r.field(), result)) {
                    return;
                }
                if (!s.holdsUnsent && plan.full() && base > 0) {
                    writeBackRefused();
                }
                unsentStored(s);
                refusedWhileShared(s, WriteOutcome.CONFLICT);
                result.complete(WriteOutcome.CONFLICT);
            }
        }
    }

    /** What was queued is stored, or lost and counted: the copy holds nothing unsent any more. */
    private static void unsentStored(TrackedSession s) {
        synchronized (s) {
            s.holdsUnsent = false;
            s.unsentNames.clear();
            s.changedSinceQueued.clear();
        }
    }

    /**
     * A write carrying changes acknowledged as queued (Redis was away from this node) met another
     * node's change of field {@code field}. If this node's change of it was one of those queued,
     * both were acknowledged and only one can stand: the one in Redis does, and this node's is
     * counted and logged as lost (a note, or a whole record, cannot be told apart: counted). The
     * rest goes again, merged, still under the session's write permit; {@code result} completes
     * with that write's outcome, unless the refused change was the request's own.
     *
     * @return whether a write went again
     */
    private boolean sendAgainWithout(TrackedSession s, WritePlan plan, String field, CompletableFuture<WriteOutcome> result) {
        String lost = field != null && field.startsWith(RecordFormat.ATTRIBUTE_PREFIX) ? field.substring(RecordFormat.ATTRIBUTE_PREFIX.length())
                : null;
        boolean queuedLost;
        boolean changedAgain;
        synchronized (s) {
            queuedLost = lost == null || s.unsentNames.remove(lost);
            changedAgain = lost != null && s.changedSinceQueued.remove(lost);
        }
        if (queuedLost) {
            lostAfterAcknowledging(WriteOutcome.CONFLICT);
        }
        if (changedAgain) {
            // A request since changed it again (its own change, refused with the queued one): that
            // request is not acknowledged either, whichever write met the conflict.
            refusedWhileShared(s, WriteOutcome.CONFLICT);
        }
        ContainerSession c = s.container;
        if (c == null || plan.full() || field == null || field.isEmpty()) {
            return false; // a whole record refused: nothing to take apart
        }
        SessionSnapshot snapshot = c.snapshot();
        synchronized (s) {
            requeue(s, plan, lost);
            if (lost != null) {
                s.changes.forget(lost); // else a value changed in place here would go again, and be refused again
            } else {
                s.saved.notesWritten(snapshot.notes()); // the refused note is another node's now
            }
        }
        Sent again = send(s, snapshot, false, true);
        if (again == null) {
            return false;
        }
        boolean ownRefused = !queuedLost || changedAgain;
        again.outcome().whenComplete((o, e) -> {
            WriteOutcome out = ownRefused || e != null || o == null ? WriteOutcome.CONFLICT : o;
            if (!out.stored()) {
                refusedWhileShared(s, out);
            }
            result.complete(out);
        });
        return true;
    }

    /**
     * A write Redis did not take. A lost connection is an outage: the change is kept and written
     * when Redis returns. Anything else fails this write only; the copy is read again next time.
     */
    private WriteOutcome notWritten(TrackedSession s, WritePlan plan, Failure failure) {
        if (failure.isOutage()) {
            return keep(s, plan);
        }
        if (s.holdsUnsent) {
            // Among what this write carried are changes acknowledged earlier as queued: they stay
            // to be written (this request is refused all the same).
            requeue(s, plan);
        }
        s.invalidated = true;
        refusedWhileShared(s, WriteOutcome.FAILED);
        return WriteOutcome.FAILED;
    }

    /** Keeps a write that could not be sent for replay; the request may be acknowledged. */
    private WriteOutcome keep(TrackedSession s, WritePlan plan) {
        s.holdsUnsent = true;
        requeue(s, plan);
        synchronized (s) {
            s.unsentNames.addAll(plan.hashesSet().keySet());
            s.unsentNames.addAll(plan.hashesRemoved());
        }
        if (pending.save(s.baseId, s)) {
            stats.queued.increment();
            return WriteOutcome.QUEUED;
        }
        refusedWhileShared(s, WriteOutcome.FAILED);
        if (core.once("pending-full")) {
            LOG.warning("Tether: more than maxPendingSessions=" + options.maxPendingSessions()
                    + " sessions wait for Redis; requests changing further sessions are refused until it returns");
        }
        return WriteOutcome.FAILED;
    }

    /** What a write carried goes again with the next one; a full write stays full. */
    private static void requeue(TrackedSession s, WritePlan plan) {
        requeue(s, plan, null);
    }

    /** As {@link #requeue(TrackedSession, WritePlan)}, but for attribute {@code except}. */
    private static void requeue(TrackedSession s, WritePlan plan, String except) {
        java.util.Set<String> set = plan.hashesSet().keySet();
        java.util.Collection<String> removed = plan.hashesRemoved();
        if (except != null) {
            set = new java.util.HashSet<>(set);
            set.remove(except);
            removed = new java.util.HashSet<>(removed);
            removed.remove(except);
        }
        synchronized (s) {
            s.changes.requeue(set, removed);
            s.saved.unsent(set);
            if (plan.full()) {
                s.needsFull = true;
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
                        if (core.once("wait:" + (error != null ? "error" : "short"))) {
                            LOG.warning("Tether: a session write was acknowledged by " + (acked == null ? "no" : acked)
                                    + " of waitReplicas=" + wanted + " replicas within " + options.waitTimeout().toMillis()
                                    + " ms" + (error != null ? " (" + RedisConnection.describe(error) + ")" : "")
                                    + "; check the replicas (logged once)");
                        }
                    }
                    return null;
                });
    }

    /**
     * Writes what the copy holds that Redis may not (changes acknowledged as queued), before the
     * copy is read again; bounded by the command timeout.
     *
     * @return whether Redis now has them (else the copy must not be replaced)
     */
    boolean flushUnsent(TrackedSession s) {
        ContainerSession c = s.container;
        if (c == null) {
            return false;
        }
        WriteOutcome o = core.await(write(s, c.snapshot(), false, true), WriteOutcome.FAILED);
        return o.stored() && o != WriteOutcome.QUEUED && !s.holdsUnsent;
    }

    /**
     * Writes what a copy holds that Redis may lack (a replay after an outage, a record Redis lost),
     * in the background. Never waits for the session's write in flight: on Tether's probe thread,
     * that write's own retry (Redis between states) may be waiting for this very thread, and a wait
     * that timed out dropped the replay. Tried again every 50 ms instead (every write in flight ends
     * within the command timeout; a minute is far beyond it).
     */
    void restore(TrackedSession s) {
        restore(s, System.nanoTime() + TimeUnit.MINUTES.toNanos(1));
    }

    private void restore(TrackedSession s, long deadline) {
        ContainerSession c = s.container;
        if (c == null || s.dropped) {
            return;
        }
        if (s.writing.tryAcquire()) {
            holding(s, c.snapshot(), false, true, true);
        } else if (System.nanoTime() < deadline) {
            redis.later(() -> restore(s, deadline), 50);
        } else if (core.once("restore-stuck")) {
            LOG.warning("Tether: a session's write stayed in flight for a minute; its replay is left to its next request (logged once)");
        }
    }

    CompletableFuture<WriteOutcome> deleteRecord(PendingWrites.Delete d) {
        // Final on this node from now on, before Redis has it: a queued delete is replayed paced,
        // and a request in between must not load the record, still logged in, and be let in.
        core.invalidated(d.baseId());
        if (!redis.isUp()) {
            return CompletableFuture.completedFuture(queueDelete(d));
        }
        CompletableFuture<Object> f;
        try {
            f = scripts.run(Script.DELETE, ScriptOutputType.VALUE, format.recordAndTombstone(d.baseId()),
                    format.deleteArgs(d.tombstoneSeconds()));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(core.failed(e).isOutage() ? queueDelete(d) : WriteOutcome.FAILED);
        }
        expiries.unindexExpiry(d.baseId());
        return f.handle((reply, error) -> {
            if (error != null) {
                return core.failed(error).isOutage() ? queueDelete(d) : WriteOutcome.FAILED;
            }
            stats.deletes.increment();
            if (reply instanceof byte[] user && user.length > 0) {
                users.unindex(RecordFormat.string(user), d.baseId());
            }
            return WriteOutcome.SAVED;
        });
    }

    WriteOutcome queueDelete(PendingWrites.Delete d) {
        core.invalidated(d.baseId());
        if (pending.delete(d)) {
            return WriteOutcome.QUEUED;
        }
        if (core.once("pending-deletes-full")) {
            LOG.warning("Tether: more than maxPendingSessions=" + options.maxPendingSessions() + " invalidations wait for Redis;"
                    + " further logouts are refused until it returns");
        }
        return WriteOutcome.FAILED;
    }
}
