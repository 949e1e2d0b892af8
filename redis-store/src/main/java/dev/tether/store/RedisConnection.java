package dev.tether.store;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.event.connection.DisconnectedEvent;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One shared, self-pipelining Lettuce connection, opened lazily and re-opened for as long as it
 * takes. Tracks whether Redis is reachable and says so once when an outage starts and once when it
 * ends, never per request.
 */
final class RedisConnection implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("dev.tether.store");
    private static final long PROBE_MILLIS = 250;

    interface Listener {
        /** Redis answers again after an outage (or for the first time). Runs on the probe thread. */
        void onAvailable();

        /** A message on the ownership channel. */
        void onOwnershipMessage(String message);
    }

    private final RedisURI uri;
    private final String where;
    private final ClientResources resources;
    private final RedisClient client;
    private final ScheduledExecutorService probe;
    private final Listener listener;
    private final AtomicBoolean up = new AtomicBoolean(false);
    private final AtomicBoolean probing = new AtomicBoolean(false);
    private volatile StatefulRedisConnection<byte[], byte[]> connection;
    private volatile StatefulRedisPubSubConnection<byte[], byte[]> pubSub;
    private final byte[] channel;
    private volatile boolean closed;
    private volatile long downSince;
    private volatile boolean everConnected;

    RedisConnection(SessionStoreOptions options, String channel, Listener listener) {
        this.listener = listener;
        this.channel = channel.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        this.uri = RedisURI.create(options.redisUri());
        this.uri.setTimeout(options.commandTimeout());
        this.where = (uri.isSsl() ? "rediss://" : "redis://") + uri.getHost() + ":" + uri.getPort();
        // Reconnect quickly after an outage: Lettuce's own backoff grows to 30 s.
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                .build();
        this.client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .pingBeforeActivateConnection(true)
                .timeoutOptions(TimeoutOptions.enabled(options.commandTimeout()))
                .socketOptions(SocketOptions.builder().connectTimeout(options.connectTimeout()).keepAlive(true).build())
                .build());
        // Notice a lost connection even when no command is in flight (Redis restarted empty while
        // the site was idle): the probe then replays every owned session once Redis answers.
        resources.eventBus().get().subscribe(event -> {
            if (event instanceof DisconnectedEvent && !closed && everConnected) {
                reportFailure(new RedisConnectionException("connection to " + where + " lost"));
            }
        });
        this.probe = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tether-redis-probe");
            t.setDaemon(true);
            return t;
        });
        this.downSince = System.currentTimeMillis();
        probing.set(true);
        probe.execute(this::probeOnce);
    }

    String where() {
        return where;
    }

    boolean isUp() {
        return up.get();
    }

    /** The async API of the shared connection, or {@code null} while there is none. */
    RedisAsyncCommands<byte[], byte[]> async() {
        StatefulRedisConnection<byte[], byte[]> c = connection;
        return c == null ? null : c.async();
    }

    /** A command failed for a reason that is about Redis being reachable, not about the command. */
    void reportFailure(Throwable cause) {
        if (closed) {
            return;
        }
        if (up.compareAndSet(true, false)) {
            downSince = System.currentTimeMillis();
            LOG.warning("Tether: Redis at " + where + " is unreachable (" + describe(cause)
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
            StatefulRedisConnection<byte[], byte[]> c = connection;
            if (c == null) {
                c = client.connect(ByteArrayCodec.INSTANCE, uri);
                connection = c;
            } else {
                c.sync().ping();
            }
            subscribe();
            probing.set(false);
            if (up.compareAndSet(false, true)) {
                long seconds = (System.currentTimeMillis() - downSince + 500) / 1000;
                if (everConnected) {
                    LOG.info("Tether: Redis at " + where + " is reachable again after " + seconds + " s; replaying queued session writes");
                } else {
                    LOG.info("Tether: connected to Redis at " + where);
                }
                everConnected = true;
                listener.onAvailable();
            }
        } catch (RuntimeException e) {
            if (!everConnected && downSince > 0 && !up.get() && firstFailureLogged.compareAndSet(false, true)) {
                LOG.warning("Tether: Redis at " + where + " is not reachable (" + describe(e)
                        + "); the application starts anyway, serves sessions from local memory, and Tether keeps retrying");
            }
            probe.schedule(this::probeOnce, connection == null ? Math.min(2000, PROBE_MILLIS * 4) : PROBE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Ownership messages only make stale copies go away sooner; fencing alone keeps data safe, so
     * a missing subscription is retried quietly and never blocks anything.
     */
    private void subscribe() {
        if (pubSub != null) {
            return;
        }
        try {
            StatefulRedisPubSubConnection<byte[], byte[]> p = client.connectPubSub(ByteArrayCodec.INSTANCE, uri);
            p.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(byte[] ch, byte[] message) {
                    listener.onOwnershipMessage(new String(message, java.nio.charset.StandardCharsets.UTF_8));
                }
            });
            p.sync().subscribe(channel);
            pubSub = p;
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "Tether: ownership channel not subscribed yet", e);
        }
    }

    private final AtomicBoolean firstFailureLogged = new AtomicBoolean(false);

    static String describe(Throwable t) {
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
        StatefulRedisPubSubConnection<byte[], byte[]> p = pubSub;
        if (p != null) {
            try {
                p.close();
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "closing Redis pub/sub connection", e);
            }
        }
        StatefulRedisConnection<byte[], byte[]> c = connection;
        if (c != null) {
            try {
                c.close();
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "closing Redis connection", e);
            }
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
