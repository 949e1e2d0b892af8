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
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
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
 */
public final class RedisConnection implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("dev.tether.store");
    private static final long PROBE_MILLIS = 250;
    private static final long SUBSCRIBE_RETRY_MILLIS = 1000;

    public interface Listener {
        /**
         * Redis answers again after an outage (or for the first time). Runs on the probe thread.
         *
         * @return how many queued writes were sent, for the one log line that marks the event
         */
        int onAvailable();

        /** A message on the ownership channel. */
        void onOwnershipMessage(String message);
    }

    private final RedisTopology topology;
    private final SharedResources resources;
    private final AbstractRedisClient client;
    private final ScheduledExecutorService probe;
    private final Listener listener;
    private final byte[] channel;
    private final String channelName;
    private final AtomicBoolean up = new AtomicBoolean(false);
    private final AtomicBoolean probing = new AtomicBoolean(false);
    private final AtomicBoolean firstFailureLogged = new AtomicBoolean(false);
    private volatile StatefulConnection<byte[], byte[]> connection;
    private volatile RedisClusterAsyncCommands<byte[], byte[]> commands;
    private volatile StatefulRedisPubSubConnection<byte[], byte[]> pubSub;
    private volatile boolean closed;
    private volatile long downSince;
    private volatile boolean everConnected;
    private boolean subscribeFailed; // probe thread only
    private boolean subscribeRetrying; // probe thread only
    private int failedConnects; // probe thread only
    private final java.util.Map<StatefulRedisConnection<byte[], byte[]>, WaitGroup> waitGroups = new java.util.WeakHashMap<>();

    public RedisConnection(SessionStoreOptions options, String channel, Listener listener) {
        this.listener = listener;
        this.channel = channel.getBytes(StandardCharsets.UTF_8);
        this.channelName = channel;
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
                    .timeoutOptions(TimeoutOptions.enabled(options.commandTimeout()))
                    .socketOptions(socket)
                    .build());
            this.client = single;
        }
        // Notice a lost connection even when no command is in flight (Redis restarted empty while
        // the site was idle): the probe then replays every owned session once Redis answers.
        // Only the shared connection counts: the subscription's connection closing says nothing of it.
        client.addListener(new RedisConnectionStateListener() {
            @Override
            public void onRedisDisconnected(RedisChannelHandler<?, ?> lost) {
                if (lost == connection && !closed && everConnected && !topology.isCluster()) {
                    reportFailure(new RedisConnectionException("connection to " + where() + " lost"));
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
            downSince = System.currentTimeMillis();
            LOG.warning("Tether: Redis at " + where() + " is unreachable (" + describe(cause)
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
                c.ping().get(topology.timeout().toMillis() + 250, TimeUnit.MILLISECONDS);
            }
            subscribe();
            probing.set(false);
            if (up.compareAndSet(false, true)) {
                long seconds = (System.currentTimeMillis() - downSince + 500) / 1000;
                boolean recovery = everConnected;
                everConnected = true;
                int replayed = listener.onAvailable();
                // One line per event, with what was done about it.
                if (recovery) {
                    LOG.info("Tether: Redis at " + where() + " is reachable again after " + seconds + " s; replayed "
                            + replayed + " queued session write(s) and rewrote every session this node owns");
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

    private void connect() {
        if (client instanceof RedisClusterClient cluster) {
            StatefulRedisClusterConnection<byte[], byte[]> c = cluster.connect(ByteArrayCodec.INSTANCE);
            connection = c;
            commands = c.async();
        } else {
            StatefulRedisConnection<byte[], byte[]> c = ((RedisClient) client).connect(ByteArrayCodec.INSTANCE, topology.uris().get(0));
            connection = c;
            commands = c.async();
        }
    }

    /**
     * Ownership messages only make stale copies go away sooner; fencing alone keeps data safe, so
     * a missing subscription never blocks anything. It is retried every second until it works
     * (a timeout on a busy host at start-up, or an ACL without the channel), with one warning.
     */
    private void subscribe() {
        if (pubSub != null || closed) {
            return;
        }
        StatefulRedisPubSubConnection<byte[], byte[]> p = null;
        try {
            p = client instanceof RedisClusterClient cluster
                    ? cluster.connectPubSub(ByteArrayCodec.INSTANCE)
                    : ((RedisClient) client).connectPubSub(ByteArrayCodec.INSTANCE, topology.uris().get(0));
            p.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(byte[] ch, byte[] message) {
                    listener.onOwnershipMessage(new String(message, StandardCharsets.UTF_8));
                }
            });
            p.sync().subscribe(channel);
            pubSub = p;
            if (subscribeFailed) {
                LOG.info("Tether: subscribed to the ownership channel " + channelName
                        + " now; stale copies are dropped as soon as another node takes a session over");
            }
        } catch (RuntimeException e) {
            if (p != null) {
                p.closeAsync();
            }
            if (!subscribeFailed) {
                subscribeFailed = true;
                String cause = describe(e);
                LOG.warning("Tether: cannot subscribe to the ownership channel " + channelName + " at " + where() + " (" + cause
                        + "); sessions stay safe, as a stale copy's writes are refused, but a node may serve a session"
                        + " another node took over until its next write; retrying every second"
                        + (cause.contains("NOPERM") ? ". Allow the channel in the ACL: &" + channelName : ""));
            }
            if (!subscribeRetrying) {
                subscribeRetrying = true;
                later(() -> {
                    subscribeRetrying = false;
                    subscribe();
                }, SUBSCRIBE_RETRY_MILLIS);
            }
        }
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
        if (pubSub != null) {
            open.add(pubSub);
        }
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
