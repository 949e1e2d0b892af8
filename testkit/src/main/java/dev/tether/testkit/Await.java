package dev.tether.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Bounded waiting: every wait in the tests has a deadline. */
public final class Await {

    private static final long POLL_MILLIS = 20;

    private Await() {
    }

    /**
     * Returns once {@code condition} holds; fails with an {@link AssertionError} naming {@code what}
     * when it does not within {@code timeout}. An exception the condition throws ends the wait.
     */
    public static void await(String what, Duration timeout, BooleanSupplier condition) {
        if (!within(timeout, condition)) {
            throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting until " + what);
        }
    }

    /** Whether {@code condition} held within {@code timeout} (checked every 20 ms, and once more at the end). */
    public static boolean within(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            sleep(POLL_MILLIS);
        }
        return condition.getAsBoolean();
    }

    /** Thread.sleep that keeps the interrupt and turns it into an unchecked exception. */
    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
