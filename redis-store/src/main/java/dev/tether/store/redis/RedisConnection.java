package dev.tether.store.redis;

import dev.tether.store.SessionStoreOptions;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.push.PushMessage;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One shared, self-pipelining Lettuce connection to a standalone Redis, a Sentinel-managed master
 * or a Redis Cluster, opened lazily and re-opened for as long as it takes. Tracks whether Redis is
 * reachable and says so once when an outage starts and once when it ends, never per request.
 *
 * <p>It also asks Redis to say when another client changes a record this node read: client-side
 * caching ({@code CLIENT TRACKING ON NOLOOP}, RESP3 invalidation pushes on the same connection). A
 * node's copy of a session is current while tracking has been on without a break since the copy
 * was read or written, and no invalidation named it since: {@link #trackingEpoch()}.
 */
public final class RedisConnection implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("dev.tether.store");
    private static final long PROBE_MILLIS = 250;

    public interface Listener {
        /**
         * Redis answers again after an outage (or for the first time). Runs on the probe thread.
         *
         * @return how many queued writes were sent, for the one log line that marks the event
         */
        int onAvailable();

        /** Another client changed (or deleted, or Redis expired) this key. Runs on an I/O thread. */
        void onInvalidated(String key);
    }

    private final RedisTopology topology;
    private final SharedResources resources;
    private final AbstractRedisClient client;
    private final ScheduledExecutorService probe;
    private final Listener listener;
    private final AtomicBoolean up = new AtomicBoolean(false);
    private final AtomicBoolean probing = new AtomicBoolean(false);
    private final AtomicBoolean firstFailureLogged = new AtomicBoolean(false);
    private final AtomicBoolean clusterCheck = new AtomicBoolean(false);
    private final java.util.concurrent.atomic.AtomicLong disconnects = new java.util.concurrent.atomic.AtomicLong();
    private volatile StatefulConnection<byte[], byte[]> connection;
    private volatile RedisClusterAsyncCommands<byte[], byte[]> commands;
    private volatile boolean closed;
    private volatile long downSince;
    private volatile long lastRecovered = Long.MIN_VALUE / 2;
    private volatile boolean outageLogged;
    private volatile boolean everConnected;
    /** Raised each time tracking is switched on; a copy read under an older epoch is not current. */
    private volatile long trackingEpoch;
    private volatile boolean trackingOn;
    /** Redis refused client-side caching (too old, or disabled by the provider): copies are checked per request. */
    private volatile boolean trackingRefused;
    /** Cluster masters tracking is on at; probe thread only. */
    private Set<String> trackedNodes = Set.of();
    private int failedConnects; // probe thread only
    private volatile java.util.function.LongSupplier pauses = RedisConnection::collections;
    /** The pause count as of the last catch-up that completed. */
    private volatile long caughtUpTo = collections();
    private CompletableFuture<Void> catchingUp; // guarded by this
    private long catchingUpFor; // guarded by this
    private final java.util.Map<StatefulRedisConnection<byte[], byte[]>, WaitGroup> waitGroups = new java.util.WeakHashMap<>();

    public RedisConnection(SessionStoreOptions options, Listener listener) {
        this.listener = listener;
        // The URI's timeout bounds the connection handshake (HELLO/AUTH/PING), which on a busy host
        // at start-up can take longer than a command may; commands get commandTimeout below.
        Duration handshake = options.connectTimeout().compareTo(options.commandTimeout()) > 0 ? options.connectTimeout() : options.commandTimeout();
        this.topology = RedisTopology.parse(options.redisUri(), handshake);
        this.resources = SharedResources.acquire();
        SocketOptions socket = SocketOptions.builder().connectTimeout(options.connectTimeout()).keepAlive(true).build();
        if (topology.isCluster()) {
            RedisClusterClient cluster = RedisClusterClient.create(resources.lettuce(), topology.uris());
            cluster.setOptions(ClusterClientOptions.builder()
                    .autoReconnect(true)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .protocolVersion(ProtocolVersion.RESP3)
                    .timeoutOptions(TimeoutOptions.enabled(options.commandTimeout()))
                    .socketOptions(socket)
                    // Follow fail-overs and slot migrations at once, and re-check every 30 s anyway.
                    .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                            .enablePeriodicRefresh(Duration.ofSeconds(30))
                            .enableAllAdaptiveRefreshTriggers()
                            .adaptiveRefreshTriggersTimeout(Duration.ofSeconds(5))
                            .build())
                    .build());
            this.client = cluster;
        } else {
            RedisClient single = RedisClient.create(resources.lettuce(), topology.uris().get(0));
            single.setOptions(ClientOptions.builder()
                    .autoReconnect(true)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .pingBeforeActivateConnection(true)
                    .protocolVersion(ProtocolVersion.RESP3)
                    .timeoutOptions(TimeoutOptions.enabled(options.commandTimeout()))
                    .socketOptions(socket)
                    .build());
            this.client = single;
        }
        // Notice a lost connection even when no command is in flight (Redis restarted empty while
        // the site was idle). Any lost connection ends tracking: invalidations sent while it was
        // down are lost, so every copy must be checked again once it is back on.
        client.addListener(new RedisConnectionStateListener() {
            @Override
            public void onRedisDisconnected(RedisChannelHandler<?, ?> lost) {
                disconnects.incrementAndGet();
                if (closed || !everConnected) {
                    return;
                }
                trackingOn = false;
                if (lost == connection && !topology.isCluster()) {
                    reportFailure(new RedisConnectionException("connection to " + where() + " lost"));
                } else if (probing.compareAndSet(false, true)) {
                    probe.schedule(RedisConnection.this::probeOnce, 50, TimeUnit.MILLISECONDS);
                }
            }
        });
        this.probe = Executors.newSingleThreadScheduledExecutor(SharedResources.threads("tether-redis-probe"));
        this.downSince = System.currentTimeMillis();
        probing.set(true);
        probe.execute(this::probeOnce);
    }

    /** Where Redis is, for log lines: never the password. */
    public String where() {
        return topology.describe();
    }

    public boolean isUp() {
        return up.get();
    }

    public boolean isCluster() {
        return topology.isCluster();
    }

    /**
     * The tracking epoch a copy read or written now belongs to, or -1 when tracking is off (such a
     * copy must be checked again at its next use).
     */
    public long trackingEpoch() {
        return trackingOn ? trackingEpoch : -1;
    }

    /** Whether a copy of that epoch is still covered by tracking (and no invalidation named it). */
    public boolean isTracked(long epoch) {
        return trackingOn && epoch >= 0 && epoch == trackingEpoch;
    }

    /**
     * How many times a connection was lost so far: a command that timed out while this moved lost
     * its connection, rather than met a slow Redis.
     */
    /** Test hook: runs on the probe thread when Redis has switched client-side caching on, before this node relies on it. */
    public void onTrackingReply(Runnable hook) {
        trackingReply = hook;
    }

    private volatile Runnable trackingReply;

    public long disconnects() {
        return disconnects.get();
    }

    /**
     * Whether every message Redis sent this node before now has been read: true unless the JVM
     * stopped (a garbage collection) since the connection last read past such messages. During a
     * pause of the whole JVM, Redis's message about another node's write and the request that
     * follows it both wait in their sockets; once it ends, the request's thread and the I/O thread
     * race, and the request could trust a copy the unread message names. Call after reading the
     * copy's tracking state; when false, {@link #catchUp} before trusting it.
     */
    public boolean isCaughtUp() {
        return pauses.getAsLong() == caughtUpTo;
    }

    /**
     * Completes once each tracking connection has read past everything Redis sent it before this
     * call: one PING per connection, whose answer comes behind those messages on the same
     * connection. One at a time; requests arriving meanwhile wait for the same one.
     */
    public synchronized CompletableFuture<Void> catchUp() {
        long pausesNow = pauses.getAsLong();
        if (catchingUp != null && catchingUpFor >= pausesNow && !catchingUp.isCompletedExceptionally()) {
            return catchingUp;
        }
        RedisClusterAsyncCommands<byte[], byte[]> cmd = commands;
        StatefulConnection<byte[], byte[]> c = connection;
        if (cmd == null || c == null) {
            return CompletableFuture.failedFuture(new RedisConnectionException("not connected"));
        }
        CompletableFuture<?> pinged;
        if (c instanceof StatefulRedisClusterConnection<byte[], byte[]> cluster) {
            List<CompletableFuture<?>> each = new ArrayList<>();
            for (String node : trackedNodes) {
                int colon = node.lastIndexOf(':');
                each.add(cluster.getConnectionAsync(node.substring(0, colon), Integer.parseInt(node.substring(colon + 1)))
                        .thenCompose(n -> n.async().ping().toCompletableFuture()).toCompletableFuture());
            }
            pinged = CompletableFuture.allOf(each.toArray(new CompletableFuture<?>[0]));
        } else {
            pinged = cmd.ping().toCompletableFuture();
        }
        CompletableFuture<Void> done = pinged.thenRun(() -> {
            synchronized (this) {
                caughtUpTo = Math.max(caughtUpTo, pausesNow);
            }
        });
        catchingUp = done;
        catchingUpFor = pausesNow;
        return done;
    }

    /** Collections so far of this JVM's garbage collectors (each stops every thread for a moment). */
    private static long collections() {
        long n = 0;
        for (java.lang.management.GarbageCollectorMXBean gc : COLLECTORS) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }

    private static final List<java.lang.management.GarbageCollectorMXBean> COLLECTORS =
            java.lang.management.ManagementFactory.getGarbageCollectorMXBeans();

    /** Counts pauses of the JVM; tests count their own. */
    public void countPausesWith(java.util.function.LongSupplier counter) {
        pauses = counter;
        caughtUpTo = counter.getAsLong();
    }

    /** Whether Redis refused client-side caching, so that copies must be checked on each use. */
    public boolean isTrackingRefused() {
        return trackingRefused;
    }

    /** The async API of the shared connection, or {@code null} while there is none. */
    public RedisClusterAsyncCommands<byte[], byte[]> async() {
        return commands;
    }

    /**
     * Sends WAIT on the connection that carried the write to {@code key}, so that it counts that
     * write: the shared connection, or in a cluster the connection to the key's master.
     */
    public CompletableFuture<Long> waitForReplicas(byte[] key, int replicas, long timeoutMillis) {
        StatefulConnection<byte[], byte[]> c = connection;
        if (c instanceof StatefulRedisClusterConnection<byte[], byte[]> cluster) {
            RedisClusterNode master = cluster.getPartitions().getMasterBySlot(SlotHash.getSlot(key));
            if (master == null) {
                return CompletableFuture.failedFuture(new RedisConnectionException("no master for the key's slot"));
            }
            // Lettuce routes a slot's writes over the node connection keyed by host and port; the one
            // keyed by node id is another connection, on which WAIT would count no write at all.
            RedisURI uri = master.getUri();
            return cluster.getConnectionAsync(uri.getHost(), uri.getPort())
                    .thenCompose(node -> waitGroup(node).await(replicas, timeoutMillis));
        }
        if (c instanceof StatefulRedisConnection<byte[], byte[]> single) {
            return waitGroup(single).await(replicas, timeoutMillis);
        }
        return CompletableFuture.failedFuture(new RedisConnectionException("not connected"));
    }

    private WaitGroup waitGroup(StatefulRedisConnection<byte[], byte[]> c) {
        synchronized (waitGroups) {
            return waitGroups.computeIfAbsent(c, WaitGroup::new);
        }
    }

    /**
     * WAIT blocks the connection it is sent on until the replicas answer or the timeout passes, and
     * that connection carries every request's commands. So at most one WAIT is in flight per
     * connection: writes that complete meanwhile share the next one, which counts every write sent
     * before it on that connection. Other commands then queue behind one WAIT at most, never behind
     * one per concurrent write (which made them time out and the store call Redis unreachable).
     */
    private static final class WaitGroup {
        private final StatefulRedisConnection<byte[], byte[]> connection;
        private boolean inFlight;
        private CompletableFuture<Long> next;

        WaitGroup(StatefulRedisConnection<byte[], byte[]> connection) {
            this.connection = connection;
        }

        CompletableFuture<Long> await(int replicas, long timeoutMillis) {
            synchronized (this) {
                if (inFlight) {
                    if (next == null) {
                        next = new CompletableFuture<>();
                    }
                    return next;
                }
                inFlight = true;
            }
            return send(replicas, timeoutMillis);
        }

        private CompletableFuture<Long> send(int replicas, long timeoutMillis) {
            CompletableFuture<Long> sent;
            try {
                sent = connection.async().waitForReplication(replicas, timeoutMillis).toCompletableFuture();
            } catch (RuntimeException e) {
                sent = CompletableFuture.failedFuture(e);
            }
            sent.whenComplete((acked, error) -> {
                CompletableFuture<Long> waiting;
                synchronized (this) {
                    waiting = next;
                    next = null;
                    if (waiting == null) {
                        inFlight = false;
                        return;
                    }
                }
                send(replicas, timeoutMillis).whenComplete((a, e) -> {
                    if (e != null) {
                        waiting.completeExceptionally(e);
                    } else {
                        waiting.complete(a);
                    }
                });
            });
            return sent;
        }
    }

    /**
     * Redis Cluster: reads the cluster's current topology now. Lettuce refreshes it on its own only
     * on redirects, on repeated reconnects, or every 30 s, and never notices that a master it held no
     * connection to has died and been replaced by its replica. Bounded by the command timeout; does
     * nothing for a standalone or Sentinel-managed Redis.
     */
    public void refreshTopology() {
        if (client instanceof RedisClusterClient cluster && !closed) {
            try {
                cluster.refreshPartitionsAsync().toCompletableFuture().get(topology.timeout().toMillis() + 250, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
                LOG.log(Level.FINE, "Tether: reading the cluster topology failed", e);
            }
        }
    }

    /** Runs a task on the probe thread after a delay: a retry that is no reason to call Redis down. */
    public void later(Runnable task, long millis) {
        if (!closed) {
            try {
                probe.schedule(task, millis, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing
            }
        }
    }

    /** A command failed for a reason that is about Redis being reachable, not about the command. */
    public void reportFailure(Throwable cause) {
        if (closed) {
            return;
        }
        if (up.compareAndSet(true, false)) {
            long now = System.currentTimeMillis();
            downSince = now;
            // One line per outage: a connection that flaps (a cluster shard switching over) is one
            // outage until it has stayed up for two seconds.
            boolean quiet = now - lastRecovered < 2_000;
            outageLogged = !quiet;
            LOG.log(quiet ? Level.FINE : Level.WARNING, "Tether: Redis at " + where() + " is unreachable (" + describe(cause)
                    + "); serving sessions from local memory and queueing their writes until it returns");
        }
        if (probing.compareAndSet(false, true)) {
            probe.schedule(this::probeOnce, PROBE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private void probeOnce() {
        if (closed) {
            return;
        }
        try {
            RedisClusterAsyncCommands<byte[], byte[]> c = commands;
            if (c == null) {
                connect();
            } else {
                refreshTopology(); // a cluster node may have died: find its promoted replica now
                ping(c);
            }
            try {
                track();
            } catch (Exception e) {
                // Without tracking every copy is checked against Redis on its next use: slower, still
                // correct. Tried again shortly; never a reason to call Redis unreachable.
                LOG.log(Level.FINE, "Tether: switching client-side caching on failed", e);
                probe.schedule(this::retryTracking, 1, TimeUnit.SECONDS);
            }
            probing.set(false);
            if (topology.isCluster() && !closed && clusterCheck.compareAndSet(false, true)) {
                // A new master (fail-over, resharding) has no tracking yet: look every second.
                probe.schedule(this::checkClusterTracking, 1, TimeUnit.SECONDS);
            }
            if (up.compareAndSet(false, true)) {
                long seconds = (System.currentTimeMillis() - downSince + 500) / 1000;
                boolean recovery = everConnected;
                everConnected = true;
                int replayed = listener.onAvailable();
                // One line per event, with what was done about it.
                if (recovery) {
                    lastRecovered = System.currentTimeMillis();
                    LOG.log(outageLogged ? Level.INFO : Level.FINE, // the line that closes the outage's line
                            "Tether: Redis at " + where() + " is reachable again after " + seconds + " s; replaying "
                            + replayed + " queued session write(s) and checking every session this node holds");
                } else {
                    LOG.info("Tether: connected to Redis at " + where()
                            + (replayed > 0 ? "; wrote " + replayed + " session(s) created while connecting" : ""));
                }
            }
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                return;
            }
            if (!everConnected && firstFailureLogged.compareAndSet(false, true)) {
                LOG.warning("Tether: Redis at " + where() + " is not reachable (" + describe(e)
                        + "); the application starts anyway, serves sessions from local memory, and Tether keeps retrying");
            }
            if (!closed) {
                // Before the first connection, back off from 250 ms to 2 s so a wrong password does not
                // hammer Redis; once connected, Lettuce reconnects and the probe only pings.
                long delay = commands == null ? Math.min(2000, PROBE_MILLIS << Math.min(3, failedConnects++)) : PROBE_MILLIS;
                probe.schedule(this::probeOnce, delay, TimeUnit.MILLISECONDS);
            }
        }
    }

    /** Standalone: PING. Cluster: PING every serving master; one answer is enough (a shard may be switching). */
    private void ping(RedisClusterAsyncCommands<byte[], byte[]> c) throws Exception {
        long wait = topology.timeout().toMillis() + 250;
        if (!(connection instanceof StatefulRedisClusterConnection<byte[], byte[]> cluster)) {
            c.ping().get(wait, TimeUnit.MILLISECONDS);
            return;
        }
        Exception last = new RedisConnectionException("no serving master in the cluster topology");
        for (RedisClusterNode n : cluster.getPartitions()) {
            if (isServingMaster(n)) {
                try {
                    cluster.getConnectionAsync(n.getUri().getHost(), n.getUri().getPort())
                            .thenCompose(nc -> nc.async().ping().toCompletableFuture())
                            .get(wait, TimeUnit.MILLISECONDS);
                    return;
                } catch (Exception e) {
                    last = e;
                }
            }
        }
        throw last;
    }

    private void connect() {
        if (client instanceof RedisClusterClient cluster) {
            StatefulRedisClusterConnection<byte[], byte[]> c = cluster.connect(ByteArrayCodec.INSTANCE);
            c.addListener((node, message) -> pushed(message));
            connection = c;
            commands = c.async();
        } else {
            StatefulRedisConnection<byte[], byte[]> c = ((RedisClient) client).connect(ByteArrayCodec.INSTANCE, topology.uris().get(0));
            c.addListener(this::pushed);
            connection = c;
            commands = c.async();
        }
    }

    /** An invalidation push: one key per changed record, or none at all when Redis flushed everything. */
    private void pushed(PushMessage message) {
        if (!"invalidate".equals(message.getType())) {
            return;
        }
        List<Object> content = message.getContent();
        Object keys = content.size() > 1 ? content.get(1) : null;
        if (!(keys instanceof List<?> list)) {
            trackingEpoch++; // FLUSHALL, or tracking table overflow: nothing read before is current
            return;
        }
        for (Object k : list) {
            if (k instanceof ByteBuffer b) {
                listener.onInvalidated(StandardCharsets.UTF_8.decode(b.duplicate()).toString());
            } else if (k instanceof byte[] b) {
                listener.onInvalidated(new String(b, StandardCharsets.UTF_8));
            }
        }
    }

    /**
     * Switches client-side caching on for the record prefix, on the shared connection (or on the
     * connection to each cluster master), if it is not on. Probe thread only.
     */
    /** Switching tracking on failed for a passing reason (a busy Redis, a lost connection): again, until it is on. */
    private void retryTracking() {
        if (closed || trackingOn || trackingRefused || !up.get()) {
            return; // on, refused for good, or the next probe (after an outage) does it
        }
        try {
            track();
        } catch (Exception e) {
            LOG.log(Level.FINE, "Tether: switching client-side caching on failed again", e);
            probe.schedule(this::retryTracking, 5, TimeUnit.SECONDS);
        }
    }

    private void track() throws Exception {
        if (trackingOn || trackingRefused || closed) {
            return;
        }
        long lostBefore = disconnects.get();
        // Default mode, not BCAST: in BCAST mode Redis 7.0 does not recognise a script's writes as
        // this connection's own (NOLOOP compares the script's internal client), so every node would
        // hear of its own writes. In default mode Redis tracks the keys this connection reads; the
        // scripts read their record after writing it, so the node stays registered.
        TrackingArgs args = TrackingArgs.Builder.enabled().noloop();
        long wait = topology.timeout().toMillis() + 250;
        try {
            if (connection instanceof StatefulRedisClusterConnection<byte[], byte[]> cluster) {
                Set<String> nodes = new HashSet<>();
                for (RedisClusterNode n : cluster.getPartitions()) {
                    if (isServingMaster(n)) {
                        RedisURI uri = n.getUri();
                        cluster.getConnectionAsync(uri.getHost(), uri.getPort())
                                .thenCompose(c -> c.async().clientTracking(args).toCompletableFuture())
                                .get(wait, TimeUnit.MILLISECONDS);
                        nodes.add(uri.getHost() + ":" + uri.getPort());
                    }
                }
                trackedNodes = nodes;
            } else {
                commands.clientTracking(args).get(wait, TimeUnit.MILLISECONDS);
            }
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof io.lettuce.core.RedisCommandExecutionException refused
                    && (Failure.of(refused) == Failure.NO_PERMISSION || Failure.of(refused) == Failure.OTHER)) {
                // For good (an ACL, an old Redis); BUSY, LOADING and the like pass, and are tried again.
                trackingRefused = true;
                LOG.warning("Tether: Redis at " + where() + " refused client-side caching (" + refused.getMessage()
                        + "); each request now checks its session's version in Redis (one round trip). Redis 6 or later"
                        + " with CLIENT TRACKING allowed (ACL: +client|tracking) avoids it");
                return;
            }
            throw e;
        }
        Runnable hook = trackingReply;
        if (hook != null) {
            hook.run();
        }
        if (disconnects.get() != lostBefore) {
            // A connection went (and came back, untracked) while tracking was being switched on:
            // relied on, every copy read from now on would look current and hear of nothing.
            throw new IllegalStateException("a connection to Redis was lost while client-side caching was switched on");
        }
        trackingEpoch++;
        trackingOn = true;
    }

    private static boolean isServingMaster(RedisClusterNode n) {
        return n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.is(RedisClusterNode.NodeFlag.FAIL)
                && !n.is(RedisClusterNode.NodeFlag.EVENTUAL_FAIL) && !n.getSlots().isEmpty();
    }

    /** Cluster: a master tracking is not on at (promoted replica, new node) turns tracking off until it is. */
    private void checkClusterTracking() {
        if (closed || !(connection instanceof StatefulRedisClusterConnection<byte[], byte[]> cluster)) {
            return;
        }
        Set<String> masters = new HashSet<>();
        for (RedisClusterNode n : cluster.getPartitions()) {
            if (isServingMaster(n)) {
                masters.add(n.getUri().getHost() + ":" + n.getUri().getPort());
            }
        }
        if (!masters.equals(trackedNodes)) {
            trackingOn = false;
            if (probing.compareAndSet(false, true)) {
                clusterCheck.set(false); // the probe schedules the next check
                probe.execute(this::probeOnce);
                return;
            }
        }
        probe.schedule(this::checkClusterTracking, 1, TimeUnit.SECONDS);
    }

    public static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        return root.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }

    @Override
    public void close() {
        closed = true;
        probe.shutdownNow();
        List<StatefulConnection<?, ?>> open = new ArrayList<>();
        if (connection != null) {
            open.add(connection);
        }
        for (StatefulConnection<?, ?> c : open) {
            try {
                c.close();
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "closing a Redis connection", e);
            }
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        try {
            probe.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        resources.release();
    }
}
