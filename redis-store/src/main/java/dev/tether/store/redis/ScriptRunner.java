package dev.tether.store.redis;

import dev.tether.store.record.Script;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Runs Tether's scripts by their SHA-1 on the shared connection, and sends the script itself once
 * when Redis does not know it (restarted, or its script cache flushed).
 *
 * <p>That fallback is a second command, sent after the first one failed: any command sent in
 * between overtakes it. Callers therefore keep at most one script of a session in flight
 * ({@code TrackedSession}'s write permit), which makes the fallback safe: nothing of the same
 * session can be sent before it.
 */
public final class ScriptRunner {

    private final RedisConnection redis;

    public ScriptRunner(RedisConnection redis) {
        this.redis = redis;
    }

    /**
     * @return the reply; a failed future for a Redis error or a lost connection
     * @throws RuntimeException when the command cannot even be sent
     */
    public <T> CompletableFuture<T> run(Script script, ScriptOutputType type, byte[][] keys, byte[]... args) {
        RedisClusterAsyncCommands<byte[], byte[]> cmd = redis.async();
        if (cmd == null) {
            return CompletableFuture.failedFuture(new io.lettuce.core.RedisConnectionException("not connected"));
        }
        // One dependent stage per script call: this sits on every write's path.
        CompletableFuture<T> result = new CompletableFuture<>();
        cmd.<T>evalsha(script.sha(), type, keys, args).whenComplete((v, e) -> {
            Throwable cause = unwrap(e);
            if (cause == null) {
                result.complete(v);
            } else if (isNoScript(cause)) {
                cmd.<T>eval(script.text(), type, keys, args).whenComplete((v2, e2) -> {
                    if (e2 == null) {
                        result.complete(v2);
                    } else {
                        result.completeExceptionally(unwrap(e2));
                    }
                });
            } else {
                result.completeExceptionally(cause);
            }
        });
        return result;
    }

    private static boolean isNoScript(Throwable cause) {
        return cause instanceof RedisNoScriptException
                || (cause instanceof RedisCommandExecutionException && String.valueOf(cause.getMessage()).startsWith("NOSCRIPT"));
    }

    /** The failure itself, not the future's wrapper around it. */
    public static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException || error instanceof ExecutionException ? error.getCause() : error;
    }
}
