package dev.tether.store.cli;

import dev.tether.store.record.RecordFormat;
import dev.tether.store.record.Script;
import dev.tether.store.redis.RedisTopology;
import dev.tether.store.redis.SharedResources;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanArgs;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.ByteArrayCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * The tool's side of Redis: one connection (standalone, the master Sentinel names, or a cluster),
 * SCAN over every master, and per-batch reads. Bounded on purpose, so that a scan never hurts the
 * nodes: SCAN with COUNT {@value #COUNT}, never KEYS; one batch in flight at a time (so at most one
 * per Redis node); each batch's reads sent as one pipeline; and a cap of keys per second.
 */
final class Keyspace implements AutoCloseable {

    /** Hash slots SCAN visits per call; its reply is at most about this many keys. */
    static final int COUNT = 500;
    /** The fields a batch reads of each record, in this order. */
    private static final String[] META_FIELDS = {RecordFormat.CREATED, RecordFormat.LAST_ACCESSED, RecordFormat.MAX_INACTIVE,
            RecordFormat.VERSION, RecordFormat.OWNER, RecordFormat.USER};
    private static final int CREATED = 0;
    private static final int LAST_ACCESSED = 1;
    private static final int MAX_INACTIVE = 2;
    private static final int VERSION = 3;
    private static final int OWNER = 4;
    private static final int USER = 5;

    /** One record's metadata, as a batch read it. {@code bytes} is -1 when not measured. */
    record Row(String key, String prefix, String baseId, long created, long lastAccessed, int maxInactive, long version,
            String owner, String user, long pttl, long bytes) {
    }

    private final RedisTopology topology;
    private final Duration timeout;
    private final SharedResources resources;
    private final RedisClient single;
    private final RedisClusterClient cluster;
    private final StatefulConnection<byte[], byte[]> connection;
    private final RedisClusterAsyncCommands<byte[], byte[]> commands;
    private final long rate;
    /** One format per application seen, to split its keys. */
    private final Map<String, RecordFormat> formats = new java.util.HashMap<>();

    /**
     * @param rate most keys a second a scan reads (0: no cap)
     * @throws IllegalArgumentException for a URI that is no Redis URI
     */
    Keyspace(String uri, Duration timeout, long rate) {
        this.topology = RedisTopology.parse(uri, timeout);
        this.timeout = timeout;
        this.rate = rate;
        this.resources = SharedResources.acquire();
        SocketOptions socket = SocketOptions.builder().connectTimeout(timeout).build();
        try {
            if (topology.isCluster()) {
                single = null;
                cluster = RedisClusterClient.create(resources.lettuce(), topology.uris());
                cluster.setOptions(ClusterClientOptions.builder().autoReconnect(false).socketOptions(socket)
                        .timeoutOptions(TimeoutOptions.enabled(timeout)).build());
                StatefulRedisClusterConnection<byte[], byte[]> c = cluster.connect(ByteArrayCodec.INSTANCE);
                connection = c;
                commands = c.async();
            } else {
                cluster = null;
                single = RedisClient.create(resources.lettuce());
                single.setOptions(ClientOptions.builder().autoReconnect(false).socketOptions(socket)
                        .timeoutOptions(TimeoutOptions.enabled(timeout)).build());
                StatefulRedisConnection<byte[], byte[]> c = connect(single, topology.uris().get(0));
                connection = c;
                commands = c.async();
            }
        } catch (RuntimeException e) {
            shutdown();
            throw e;
        }
        // Each batch goes out as one write: fewer packets for Redis to read than one per command.
        connection.setAutoFlushCommands(false);
    }

    /**
     * Connects, once more if Lettuce lost the reason of a failed handshake: when Redis refuses the
     * credentials, Lettuce's handshake handler may be gone from the pipeline before the failure is
     * reported ("RedisHandshakeHandler not registered"), which would hide WRONGPASS from the user.
     */
    private static StatefulRedisConnection<byte[], byte[]> connect(RedisClient client, io.lettuce.core.RedisURI uri) {
        for (int attempt = 1; ; attempt++) {
            try {
                return client.connect(ByteArrayCodec.INSTANCE, uri);
            } catch (io.lettuce.core.RedisConnectionException e) {
                if (attempt == 3 || !handshakeReasonLost(e)) {
                    throw e;
                }
            }
        }
    }

    private static boolean handshakeReasonLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("RedisHandshakeHandler not registered")) {
                return true;
            }
        }
        return false;
    }

    /** Where Redis is, for output: scheme and hosts, never credentials. */
    String where() {
        return topology.describe();
    }

    long rate() {
        return rate;
    }

    /**
     * Scans every master for keys matching {@code pattern} of one {@code type}, and hands each
     * batch to {@code batch} (which may read more), paced to the rate cap.
     *
     * @param sameSlotAs when every match shares this key's hash slot, only its master is scanned
     * @param batch returns false to stop the scan
     */
    void scan(String pattern, String type, byte[] sameSlotAs, Progress progress, Predicate<List<String>> batch) {
        List<StatefulConnection<byte[], byte[]>> masters = masters(sameSlotAs);
        KeyScanArgs args = KeyScanArgs.Builder.matches(pattern).type(type).limit(COUNT);
        long started = System.nanoTime();
        long keys = 0;
        long examined = 0; // what the cap counts: Redis walks about COUNT keys per call, matching or not
        for (int n = 0; n < masters.size(); n++) {
            ScanCursor cursor = ScanCursor.INITIAL;
            do {
                KeyScanCursor<byte[]> page = await(scan(masters.get(n), cursor, args));
                List<String> found = new ArrayList<>(page.getKeys().size());
                page.getKeys().forEach(k -> found.add(RecordFormat.string(k)));
                keys += found.size();
                examined += Math.max(COUNT, found.size());
                if (!found.isEmpty() && !batch.test(found)) {
                    return;
                }
                progress.scanned(n + 1, masters.size(), keys);
                pace(started, examined);
                cursor = page;
            } while (!cursor.isFinished());
        }
    }

    private static RedisFuture<KeyScanCursor<byte[]>> scan(StatefulConnection<byte[], byte[]> node, ScanCursor cursor, KeyScanArgs args) {
        RedisFuture<KeyScanCursor<byte[]>> f = ((StatefulRedisConnection<byte[], byte[]>) node).async().scan(cursor, args);
        node.flushCommands();
        return f;
    }

    /** The masters to scan, each through its own connection (a cluster node's SCAN sees its keys only). */
    private List<StatefulConnection<byte[], byte[]>> masters(byte[] sameSlotAs) {
        if (!(connection instanceof StatefulRedisClusterConnection<byte[], byte[]> c)) {
            return List.of(connection);
        }
        List<RedisClusterNode> nodes = new ArrayList<>();
        RedisClusterNode serving = sameSlotAs == null ? null : c.getPartitions().getMasterBySlot(SlotHash.getSlot(sameSlotAs));
        if (serving != null) {
            nodes.add(serving);
        } else {
            c.getPartitions().forEach(node -> {
                // A master marked failed has handed its slots to a replica, which is a master now.
                if (node.is(RedisClusterNode.NodeFlag.UPSTREAM) && !node.is(RedisClusterNode.NodeFlag.FAIL)) {
                    nodes.add(node);
                }
            });
        }
        List<StatefulConnection<byte[], byte[]>> out = new ArrayList<>();
        for (RedisClusterNode node : nodes) {
            RedisURI uri = node.getUri();
            out.add(c.getConnection(uri.getHost(), uri.getPort()));
        }
        return out;
    }

    /** Sleeps as long as the keys read so far are ahead of the rate cap. */
    private void pace(long startedNanos, long keys) {
        if (rate <= 0) {
            return;
        }
        long dueMillis = keys * 1000 / rate - (System.nanoTime() - startedNanos) / 1_000_000;
        if (dueMillis > 0) {
            try {
                Thread.sleep(dueMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
    }

    /**
     * The metadata of each key, in one pipeline: HMGET, PTTL and, when {@code measure}, MEMORY USAGE.
     * A key that is gone by now, or holds no record, is left out.
     */
    List<Row> rows(List<String> keys, boolean measure) {
        List<RedisFuture<List<KeyValue<byte[], byte[]>>>> fields = new ArrayList<>(keys.size());
        List<RedisFuture<Long>> ttls = new ArrayList<>(keys.size());
        List<RedisFuture<Long>> sizes = new ArrayList<>(keys.size());
        byte[][] names = new byte[META_FIELDS.length][];
        for (int i = 0; i < names.length; i++) {
            names[i] = RecordFormat.bytes(META_FIELDS[i]);
        }
        for (String key : keys) {
            byte[] k = RecordFormat.bytes(key);
            fields.add(commands.hmget(k, names));
            ttls.add(commands.pttl(k));
            if (measure) {
                sizes.add(commands.memoryUsage(k));
            }
        }
        connection.flushCommands();
        List<Row> out = new ArrayList<>(keys.size());
        long now = System.currentTimeMillis();
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            List<KeyValue<byte[], byte[]>> v = await(fields.get(i));
            long pttl = await(ttls.get(i));
            Long bytes = measure ? await(sizes.get(i)) : null;
            String prefix = RecordFormat.prefixOfKey(key);
            String base = prefix == null ? null : formats.computeIfAbsent(prefix, RecordFormat::new).baseOfKey(key);
            if (base == null || pttl == -2 || !v.get(CREATED).hasValue() && !v.get(VERSION).hasValue()) {
                continue; // gone since the scan, or a hash that is no session record
            }
            out.add(new Row(key, prefix, base, number(v.get(CREATED), now), number(v.get(LAST_ACCESSED), now),
                    (int) number(v.get(MAX_INACTIVE), -1), number(v.get(VERSION), 0), text(v.get(OWNER)), text(v.get(USER)), pttl,
                    bytes == null ? -1 : bytes));
        }
        return out;
    }

    private static long number(KeyValue<byte[], byte[]> v, long fallback) {
        try {
            return v.hasValue() ? Long.parseLong(RecordFormat.string(v.getValue())) : fallback;
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private static String text(KeyValue<byte[], byte[]> v) {
        return v.hasValue() ? RecordFormat.string(v.getValue()) : null;
    }

    /** Every field of one record, values as stored. */
    Map<byte[], byte[]> fields(String key) {
        RedisFuture<Map<byte[], byte[]>> f = commands.hgetall(RecordFormat.bytes(key));
        connection.flushCommands();
        return await(f);
    }

    long pttl(String key) {
        RedisFuture<Long> f = commands.pttl(RecordFormat.bytes(key));
        connection.flushCommands();
        return await(f);
    }

    /**
     * Deletes a record the way the nodes do ({@link Script#DELETE}: the record goes, a tombstone
     * stays, so no node's late write brings it back; the script answers the user it named); every node holding it hears of it through
     * client-side caching and drops its copy.
     */
    void delete(RecordFormat format, String baseId, long tombstoneSeconds) {
        byte[][] keys = format.recordAndTombstone(baseId);
        byte[][] args = format.deleteArgs(tombstoneSeconds);
        RedisFuture<Object> f = commands.evalsha(Script.DELETE.sha(), ScriptOutputType.VALUE, keys, args);
        connection.flushCommands();
        try {
            await(f);
        } catch (RedisNoScriptException e) {
            f = commands.eval(Script.DELETE.text(), ScriptOutputType.VALUE, keys, args);
            connection.flushCommands();
            await(f);
        }
    }

    /** The first {@code count} members of an index (base ids), lowest score first. */
    List<String> members(byte[] index, long start, int count) {
        RedisFuture<List<byte[]>> f = commands.zrange(index, start, start + count - 1);
        connection.flushCommands();
        List<String> out = new ArrayList<>();
        await(f).forEach(m -> out.add(RecordFormat.string(m)));
        return out;
    }

    void removeMember(byte[] index, String member) {
        RedisFuture<Long> f = commands.zrem(index, RecordFormat.bytes(member));
        connection.flushCommands();
        await(f);
    }

    /** Waits for one reply; a Redis error is thrown as Lettuce reports it (its own type). */
    private <T> T await(Future<T> reply) {
        try {
            return reply.get(timeout.toMillis() + 250, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new io.lettuce.core.RedisCommandTimeoutException("no reply within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    @Override
    public void close() {
        try {
            connection.close();
        } finally {
            shutdown();
        }
    }

    private void shutdown() {
        if (single != null) {
            single.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        if (cluster != null) {
            cluster.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        resources.release();
    }
}
