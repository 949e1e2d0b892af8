package dev.tether.store.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** What an error from a Redis call means, as the log line and the outage decision see it. */
class FailureTest {

    @Test
    void aNodeGivingUpWaitingIsATimeoutNotARefusal() {
        assertEquals(Failure.TIMEOUT, Failure.of(new TimeoutException()));
        assertEquals(Failure.TIMEOUT, Failure.of(new RedisCommandTimeoutException("Command timed out after 1 second(s)")));
        assertEquals(Failure.TIMEOUT, Failure.of(new ExecutionException(new RedisCommandTimeoutException("x"))));
        assertFalse(Failure.of(new TimeoutException()).isOutage(), "one slow answer is no outage");
    }

    @Test
    void redisErrorsAreClassifiedByTheirCode() {
        assertEquals(Failure.OUT_OF_MEMORY, Failure.of(new RedisCommandExecutionException("OOM command not allowed")));
        assertEquals(Failure.READ_ONLY, Failure.of(new CompletionException(new RedisCommandExecutionException("READONLY You can't write"))));
        assertEquals(Failure.NO_PERMISSION, Failure.of(new RedisCommandExecutionException("NOPERM this user has no permissions")));
        assertEquals(Failure.OTHER, Failure.of(new RedisCommandExecutionException("ERR something else")));
    }

    @Test
    void aCommandTheClientNeverSentCannotHaveRun() {
        io.lettuce.core.RedisException rejected = new io.lettuce.core.RedisException("Currently not connected. Commands are rejected.");
        assertFalse(Failure.mayHaveRun(rejected, Failure.of(rejected)));
        io.lettuce.core.RedisException closed = new io.lettuce.core.RedisException("Connection closed");
        assertTrue(Failure.mayHaveRun(closed, Failure.of(closed)), "sent, then the connection went: Redis may have run it");
        RedisCommandTimeoutException late = new RedisCommandTimeoutException("Command timed out after 1 second(s)");
        assertTrue(Failure.mayHaveRun(late, Failure.of(late)));
        RedisCommandExecutionException oom = new RedisCommandExecutionException("OOM command not allowed");
        assertFalse(Failure.mayHaveRun(oom, Failure.of(oom)), "refused by Redis: not run");
    }
}
