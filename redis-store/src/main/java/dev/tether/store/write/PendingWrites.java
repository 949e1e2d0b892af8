package dev.tether.store.write;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What waits for Redis to come back: sessions with changes not yet written, and invalidations.
 * Plain data, both bounded; the store replays it.
 *
 * @param <S> the store's session type
 */
public final class PendingWrites<S> {

    /** An invalidation to replay, and how long its tombstone lives. */
    public record Delete(String baseId, long tombstoneSeconds) {
    }

    private final int max;
    private final Map<String, S> saves = new ConcurrentHashMap<>();
    private final Map<String, Delete> deletes = new ConcurrentHashMap<>();

    public PendingWrites(int max) {
        this.max = max;
    }

    /** @return false when the queue is full (the request is then refused; the session's change goes with its next write) */
    public boolean save(String baseId, S session) {
        if (saves.size() < max || saves.containsKey(baseId)) {
            saves.put(baseId, session);
            return true;
        }
        return false;
    }

    /** @return false when the queue is full (the tombstone-less record then expires by its TTL) */
    public boolean delete(Delete delete) {
        if (deletes.size() < max || deletes.containsKey(delete.baseId())) {
            deletes.put(delete.baseId(), delete);
            return true;
        }
        return false;
    }

    public void cancel(String baseId, S session) {
        saves.remove(baseId, session);
    }

    /** A queued session changed its id. */
    public void rename(String oldBaseId, String newBaseId, S session) {
        if (saves.remove(oldBaseId, session)) {
            saves.put(newBaseId, session);
        }
    }

    public int size() {
        return saves.size() + deletes.size();
    }

    /** Invalidations waiting for replay. */
    public int deletes() {
        return deletes.size();
    }

    /** Takes every queued delete out, for replay. */
    public List<Delete> takeDeletes() {
        List<Delete> out = new ArrayList<>();
        for (Delete d : List.copyOf(deletes.values())) {
            if (deletes.remove(d.baseId(), d)) {
                out.add(d);
            }
        }
        return out;
    }

    /** Takes every queued session out, for replay. */
    public List<S> takeSaves() {
        List<S> out = new ArrayList<>();
        for (Map.Entry<String, S> e : List.copyOf(saves.entrySet())) {
            if (saves.remove(e.getKey(), e.getValue())) {
                out.add(e.getValue());
            }
        }
        return out;
    }
}
