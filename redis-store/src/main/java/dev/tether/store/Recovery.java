package dev.tether.store;

import dev.tether.store.record.RecordFormat;
import dev.tether.store.redis.RedisConnection;
import dev.tether.store.write.PendingWrites;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * When Redis answers again: the queued invalidations and writes are sent, and every copy this node
 * holds is compared with Redis (which may have come back empty, or older); where this node's copy
 * is newer, or the record is gone without a tombstone, it is written back. Paced, so that a node
 * holding thousands of sessions does not flood Redis the moment it returns.
 */
final class Recovery {

    private final Core core;
    private final RedisConnection redis;
    private final RecordFormat format;
    private final Map<String, TrackedSession> owned;
    private final PendingWrites<TrackedSession> pending;
    private final Writes writes;
    /** Writes replayed per tick: a whole session each. */
    private static final int PACE_PER_TICK = 50;
    /** Deletes per tick: a few bytes each, and the ones a node killed soon after must not wait for. */
    private static final int DELETES_PER_TICK = 250;
    private static final long PACE_TICK_MILLIS = 100;

    /** Whether Redis was reachable before: the next time it becomes reachable is a recovery. */
    private volatile boolean connectedBefore;

    Recovery(Core core, Writes writes) {
        this.core = core;
        this.redis = core.redis;
        this.format = core.format;
        this.owned = core.owned;
        this.pending = core.pending;
        this.writes = writes;
    }

    int onRedisAvailable() {
        core.reset("pending-full");
        core.reset("pending-deletes-full");
        boolean recovery = connectedBefore;
        connectedBefore = true;
        int queued = pending.size();
        Runnable hook = core.recovering;
        if (hook != null) {
            hook.run();
        }
        replayPending();
        if (recovery) {
            // Redis may have come back empty or older (a restart from an old snapshot, a promoted
            // replica that missed writes): the logouts this node made lately are made again (an
            // older snapshot would bring their records back, logged in), and every copy this node
            // holds is checked and, where this node's is newer or the record is gone without a
            // tombstone, written back. Paced.
            redis.later(this::invalidateAgain, 0);
            redis.later(this::checkHeld, 0);
        }
        return queued;
    }

    /** Sends the queued deletes, then the queued writes, paced. */
    private void replayPending() {
        List<Runnable> deletes = new ArrayList<>();
        for (PendingWrites.Delete d : pending.takeDeletes()) {
            deletes.add(() -> writes.deleteRecord(d));
        }
        List<Runnable> saves = new ArrayList<>();
        for (TrackedSession s : pending.takeSaves()) {
            saves.add(() -> writes.restore(s));
        }
        paced(deletes, 0, DELETES_PER_TICK);
        paced(saves, 0, PACE_PER_TICK);
    }

    /**
     * Runs {@code perTick} tasks every {@value #PACE_TICK_MILLIS} ms on the probe thread. Each runs
     * even if Redis went away again meanwhile: a write or delete then queues itself for the next
     * recovery (skipped, it would be lost: it was taken off the queue).
     */
    private void paced(List<Runnable> work, int from, int perTick) {
        int to = Math.min(work.size(), from + perTick);
        for (int i = from; i < to; i++) {
            work.get(i).run();
        }
        if (to < work.size()) {
            redis.later(() -> paced(work, to, perTick), PACE_TICK_MILLIS);
        }
    }

    /**
     * After an outage: deletes again the records of the sessions this node invalidated lately,
     * newest first: a Redis restored from a snapshot brings back the logouts made since it, the
     * latest ones surely; a node may die soon after and take the list with it.
     */
    private void invalidateAgain() {
        List<Runnable> work = new ArrayList<>();
        List<String> lately = core.invalidatedLately();
        for (int i = lately.size() - 1; i >= 0; i--) {
            String baseId = lately.get(i);
            work.add(() -> writes.deleteRecord(new PendingWrites.Delete(baseId, Math.max(60, core.planner.ttlSeconds(86_400)))));
        }
        paced(work, 0, DELETES_PER_TICK);
    }

    /** After an outage: compares every held copy's version with Redis, paced; restores what Redis lost. */
    private void checkHeld() {
        List<Runnable> work = new ArrayList<>();
        for (TrackedSession s : List.copyOf(owned.values())) {
            if (s.persisted && !s.dropped) {
                work.add(() -> checkOne(s));
            }
        }
        paced(work, 0, PACE_PER_TICK);
    }

    /** The copy sat idle longer than its record could live: expired, and maybe claimed elsewhere long ago. */
    private boolean pastItsTtl(TrackedSession s) {
        ContainerSession c = s.container;
        if (c == null) {
            return false;
        }
        SessionSnapshot snap = c.snapshot();
        long ttl = core.planner.ttlSeconds(snap.maxInactiveSeconds());
        return ttl > 0 && snap.lastAccessedTime() + ttl * 1000 < System.currentTimeMillis();
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
            if (ver == null && pastItsTtl(s)) {
                return; // Redis' TTL would have removed it by now: never brought back; its expiry run drops it
            }
            if (v < s.version) {
                // Missing (and not tombstoned: the save script checks) or older: write this copy back.
                s.needsFull = true;
                redis.later(() -> writes.restore(s), 0);
            }
        });
    }
}
