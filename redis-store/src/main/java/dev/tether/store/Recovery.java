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
    private static final int PACE_PER_TICK = 50;
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

    /** Sends the queued deletes and writes, at most a few hundred a second. */
    private void replayPending() {
        List<Runnable> work = new ArrayList<>();
        for (PendingWrites.Delete d : pending.takeDeletes()) {
            work.add(() -> writes.deleteRecord(d));
        }
        for (TrackedSession s : pending.takeSaves()) {
            work.add(() -> {
                ContainerSession c = s.container;
                writes.write(s, c == null ? null : c.snapshot(), false, true);
            });
        }
        paced(work, 0);
    }

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

    /** After an outage: deletes again the records of the sessions this node invalidated lately. */
    private void invalidateAgain() {
        List<Runnable> work = new ArrayList<>();
        for (String baseId : core.invalidatedLately()) {
            work.add(() -> writes.deleteRecord(new PendingWrites.Delete(baseId, Math.max(60, core.planner.ttlSeconds(86_400)))));
        }
        paced(work, 0);
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
                redis.later(() -> writes.restore(s), 0);
            }
        });
    }
}
