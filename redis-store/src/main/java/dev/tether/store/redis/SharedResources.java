package dev.tether.store.redis;

import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.resource.Delay;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.HashedWheelTimer;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The Redis client threads every store of this JVM shares: Lettuce's event loops, computation
 * threads and timer. Reference-counted: the first store
 * to open creates them, the last to close shuts them down and waits for their threads to end.
 *
 * <p>Every thread is made with Tether's own class loader as its context class loader, never the
 * loader of the web application that happened to start it (or to be running when Netty started a
 * thread lazily): a thread holding a web application's loader keeps that application in memory
 * after it is undeployed, and Tomcat reports it as a leak.
 */
public final class SharedResources {

    private static final Logger LOG = Logger.getLogger("dev.tether.store");
    private static final ClassLoader OWN_LOADER = SharedResources.class.getClassLoader();

    private static int users;
    private static SharedResources current;

    private final ClientResources lettuce;
    private final HashedWheelTimer timer;

    private SharedResources() {
        this.timer = new HashedWheelTimer(threads("tether-timer"));
        // Reconnect quickly after an outage: Lettuce's own backoff grows to 30 s.
        this.lettuce = DefaultClientResources.builder()
                .ioThreadPoolSize(2)
                .computationThreadPoolSize(2)
                .threadFactoryProvider(SharedResources::threads)
                .timer(timer)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                // Its pause detector starts a thread and registers a shutdown hook that would pin
                // whichever loader made it; Tether does not read Lettuce's latency metrics.
                .commandLatencyRecorder(CommandLatencyRecorder.disabled())
                .build();
        // Start every thread now, on the thread that starts the first web application and with
        // Tether's loader: Netty would otherwise start them lazily from whichever request thread
        // first needs one, inheriting that request's context and thread-locals.
        timer.start();
        for (EventExecutor e : lettuce.eventExecutorGroup()) {
            e.submit(() -> { }).syncUninterruptibly();
        }
    }

    /**
     * Lettuce registers Flight Recorder events for every command when JFR is present, which costs
     * about two seconds at the first connection and a little on every command. Off unless the
     * administrator set it; in the shaded jars the property is Tether's copy of Lettuce's alone.
     */
    public static void quietFlightRecorder() {
        String key = "io.lettuce.core.jfr";
        if (System.getProperty(key) == null) {
            System.setProperty(key, "false");
        }
    }

    /** Takes a share of the JVM's resources; pair with {@link #release()}. */
    public static synchronized SharedResources acquire() {
        ClassLoader caller = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(OWN_LOADER);
        try {
            if (current == null) {
                quietFlightRecorder();
                current = new SharedResources();
            }
            users++;
            return current;
        } finally {
            Thread.currentThread().setContextClassLoader(caller);
        }
    }

    /** Gives a share back; the last one shuts everything down and waits (bounded) for the threads. */
    public void release() {
        synchronized (SharedResources.class) {
            if (current != this || --users > 0) {
                return;
            }
            current = null;
        }
        try {
            lettuce.shutdown(0, 2, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
            timer.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.log(Level.FINE, "Tether: shutting down the Redis client threads", e);
        }
    }

    /** How many stores share the resources now (for tests). */
    public static synchronized int users() {
        return users;
    }

    public ClientResources lettuce() {
        return lettuce;
    }

    /**
     * Daemon threads named {@code <pool>-<n>}, with Tether's class loader as context loader. Netty's
     * own thread type, so that its thread-locals take their fast path.
     */
    public static ThreadFactory threads(String pool) {
        return new DefaultThreadFactory(pool, true) {
            @Override
            @SuppressWarnings("removal")
            protected Thread newThread(Runnable r, String name) {
                // Privileged, so that on Java 17-23 the thread's inherited access-control context
                // holds only this frame's protection domain, not those of a web application's
                // classes on the calling stack (each of which references its class loader).
                Thread t = java.security.AccessController.doPrivileged(
                        (java.security.PrivilegedAction<Thread>) () -> super.newThread(r, name));
                t.setContextClassLoader(OWN_LOADER);
                return t;
            }
        };
    }
}
