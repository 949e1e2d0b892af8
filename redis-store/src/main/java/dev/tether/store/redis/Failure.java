package dev.tether.store.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;

/**
 * Why a Redis command failed, and what that means. Only a lost connection is an outage (writes
 * are then kept and replayed); every other failure refuses the one write it hit, and says so.
 */
public enum Failure {
    /** No connection: Redis is down or unreachable. The only outage. */
    DISCONNECTED("Redis is unreachable"),
    /** No answer within commandTimeout: the command may or may not have run. */
    TIMEOUT("Redis did not answer within commandTimeout"),
    /** Redis is full ({@code maxmemory} with a no-eviction policy). */
    OUT_OF_MEMORY("Redis is out of memory (OOM)"),
    /** The node is a replica now (a fail-over promoted another): reconnect to the master. */
    READ_ONLY("Redis answered READONLY: the connection is to a replica, not the master"),
    /** Redis is loading its dataset after a restart. */
    LOADING("Redis is loading its dataset"),
    /** A script runs too long. */
    BUSY("Redis is busy running a script"),
    /** The cluster cannot serve the slot. */
    CLUSTER_DOWN("Redis Cluster is down"),
    /** The cluster moves the slot (resharding): retry in a moment. */
    TRY_AGAIN("Redis Cluster is moving the session's slot"),
    /** The cluster says the slot lives elsewhere. */
    REDIRECTED("Redis Cluster redirected the command"),
    /** The ACL user may not run the command or touch the key. */
    NO_PERMISSION("Redis refused the command (ACL, NOPERM)"),
    OTHER("Redis refused the command");

    private final String description;

    Failure(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** Whether the failure means Redis is unreachable, rather than that one command failed. */
    public boolean isOutage() {
        return this == DISCONNECTED;
    }

    public static Failure of(Throwable error) {
        Throwable e = ScriptRunner.unwrap(error);
        if (e instanceof RedisCommandTimeoutException || e instanceof java.util.concurrent.TimeoutException) {
            return TIMEOUT; // Lettuce's own, or this node giving up waiting for an answer
        }
        if (e instanceof RedisCommandExecutionException) {
            String m = String.valueOf(e.getMessage());
            if (m.startsWith("OOM")) {
                return OUT_OF_MEMORY;
            }
            if (m.startsWith("READONLY")) {
                return READ_ONLY;
            }
            if (m.startsWith("LOADING")) {
                return LOADING;
            }
            if (m.startsWith("BUSY")) {
                return BUSY;
            }
            if (m.startsWith("CLUSTERDOWN") || m.startsWith("MASTERDOWN")) {
                return CLUSTER_DOWN;
            }
            if (m.startsWith("TRYAGAIN")) {
                return TRY_AGAIN;
            }
            if (m.startsWith("MOVED") || m.startsWith("ASK")) {
                return REDIRECTED;
            }
            if (m.startsWith("NOPERM") || m.startsWith("NOAUTH") || m.startsWith("WRONGPASS")) {
                return NO_PERMISSION;
            }
            return OTHER;
        }
        if (e instanceof RedisConnectionException || isDisconnected(e)) {
            return DISCONNECTED;
        }
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof java.io.IOException) {
                return DISCONNECTED; // the socket failed (reset, closed): the connection is gone
            }
        }
        return OTHER;
    }

    /** Whether the same command, sent again a moment later, may well succeed (Redis is between states). */
    public boolean isPassing() {
        return this == TRY_AGAIN || this == REDIRECTED || this == LOADING || this == BUSY || this == CLUSTER_DOWN;
    }

    /**
     * Whether the failed command may have run in Redis all the same: it timed out, or its
     * connection went while it was on its way; not when the client refused to send it.
     */
    public static boolean mayHaveRun(Throwable error, Failure failure) {
        if (failure == TIMEOUT) {
            return true;
        }
        return failure == DISCONNECTED && !String.valueOf(ScriptRunner.unwrap(error).getMessage()).contains("not connected");
    }

    private static boolean isDisconnected(Throwable e) {
        if (!(e instanceof RedisException)) {
            return false;
        }
        String m = String.valueOf(e.getMessage());
        return m.contains("not connected") || m.contains("Connection closed") || m.contains("Connection reset")
                || m.contains("connection lost");
    }
}
