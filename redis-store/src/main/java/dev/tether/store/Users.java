package dev.tether.store;

import dev.tether.store.record.RecordFormat;
import dev.tether.store.record.Script;
import io.lettuce.core.KeyValue;
import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Sessions by user name. Each user has an index (a sorted set of base ids, {@link
 * RecordFormat#userKey}) that may name more sessions than the user has, never fewer: a session
 * goes in before its record names the user, and leaves after. Whoever reads the index checks each
 * record's {@code user} field, so a stale member costs a lookup and is pruned, never an error. On
 * Redis Cluster the index and the records live in different slots; the order of the two writes is
 * what keeps them consistent, not a transaction.
 */
final class Users {

    private static final Logger LOG = Core.LOG;

    /** One indexed session as found: its id and when it was last used. */
    record Indexed(String baseId, long lastAccessed) {
    }

    private final Core core;

    Users(Core core) {
        this.core = core;
    }

    /**
     * Puts a session into its user's index, before the write that names the user.
     *
     * @return how many sessions the index holds for the user now
     */
    CompletableFuture<Long> index(String user, String baseId, long until) {
        return core.scripts.<Long>run(Script.INDEX, ScriptOutputType.INTEGER, new byte[][] {core.format.userKey(user)},
                RecordFormat.bytes(baseId), RecordFormat.ascii(until), RecordFormat.ascii(System.currentTimeMillis()));
    }

    /** Takes a session out of a user's index, after its record stopped naming the user; not awaited. */
    void unindex(String user, String baseId) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = core.redis.async();
        if (cmd == null || user == null || user.isEmpty()) {
            return;
        }
        try {
            cmd.zrem(core.format.userKey(user), RecordFormat.bytes(baseId));
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "Tether: user index", e); // a stale member: pruned by the next reader
        }
    }

    /**
     * The live sessions of a user, least recently used first; members whose record no longer names
     * the user leave the index on the way.
     */
    CompletableFuture<List<Indexed>> sessionsOf(String user) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = core.redis.async();
        if (cmd == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("Tether: not connected to Redis"));
        }
        byte[] key = core.format.userKey(user);
        return cmd.zrangebyscore(key, Range.from(Range.Boundary.including((double) System.currentTimeMillis()), Range.Boundary.unbounded()))
                .toCompletableFuture().thenCompose(members -> {
                    List<CompletableFuture<Indexed>> checks = new ArrayList<>();
                    for (byte[] member : members) {
                        String baseId = RecordFormat.string(member);
                        if (SessionId.parse(baseId) == null) {
                            cmd.zrem(key, member); // not an id of ours: never a key
                            continue;
                        }
                        checks.add(cmd.hmget(core.format.recordKey(baseId), RecordFormat.bytes(RecordFormat.USER),
                                RecordFormat.bytes(RecordFormat.LAST_ACCESSED)).toCompletableFuture().thenApply(kv -> {
                                    if (!names(kv.get(0), user)) {
                                        cmd.zrem(key, member);
                                        return null;
                                    }
                                    return new Indexed(baseId, kv.get(1).hasValue() ? Long.parseLong(RecordFormat.string(kv.get(1).getValue())) : 0);
                                }));
                    }
                    return CompletableFuture.allOf(checks.toArray(new CompletableFuture[0])).thenApply(x -> {
                        List<Indexed> out = new ArrayList<>();
                        for (CompletableFuture<Indexed> c : checks) {
                            Indexed i = c.join();
                            if (i != null) {
                                out.add(i);
                            }
                        }
                        out.sort(Comparator.comparingLong(Indexed::lastAccessed));
                        return out;
                    });
                });
    }

    private static boolean names(KeyValue<byte[], byte[]> field, String user) {
        return field.hasValue() && user.equals(RecordFormat.string(field.getValue()));
    }

    /**
     * After a login: if the user now has more than {@code max} sessions, the least recently used
     * ones go (never {@code keep}, the session that just logged in).
     *
     * @param invalidate how one session is invalidated (the store's own path: held copies end with
     *     their events)
     */
    CompletableFuture<Integer> limit(String user, String keep, int max, Function<String, CompletableFuture<WriteOutcome>> invalidate) {
        return sessionsOf(user).thenCompose(sessions -> {
            List<Indexed> others = new ArrayList<>(sessions);
            others.removeIf(i -> i.baseId().equals(keep));
            int excess = others.size() + 1 - max;
            List<CompletableFuture<WriteOutcome>> done = new ArrayList<>();
            for (int i = 0; i < excess && i < others.size(); i++) {
                done.add(invalidate.apply(others.get(i).baseId()));
            }
            return CompletableFuture.allOf(done.toArray(new CompletableFuture[0])).thenApply(x -> done.size());
        });
    }
}
