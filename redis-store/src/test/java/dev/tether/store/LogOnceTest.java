package dev.tether.store;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogOnceTest {

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final LogOnce once = new LogOnce(now::get);

    @Test
    void aProblemIsReportedOnceThenAgainOnlyAfterTheRepeatInterval() {
        assertTrue(once.report("oom"));
        assertFalse(once.report("oom"), "the same problem within the hour: no second line");
        assertTrue(once.report("timeout"), "another kind has its own line");
        now.addAndGet(LogOnce.REPEAT_MILLIS - 1);
        assertFalse(once.report("oom"));
        now.addAndGet(1);
        assertTrue(once.report("oom"), "a problem that goes on, or comes back weeks later, is not silent");
        assertFalse(once.report("oom"));
    }

    @Test
    void aProblemThatEndedIsReportedAtOnceWhenItComesBack() {
        assertTrue(once.report("pending-full"));
        once.reset("pending-full");
        assertTrue(once.report("pending-full"));
    }
}
