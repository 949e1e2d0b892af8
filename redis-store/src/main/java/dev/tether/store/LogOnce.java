package dev.tether.store;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * One log line per kind of problem, not one per request: a kind is reported when it first occurs,
 * and again at most once per {@link #REPEAT_MILLIS} while it goes on or when it comes back, so a
 * second outage or attack weeks later is not silent.
 */
final class LogOnce {

    static final long REPEAT_MILLIS = 60 * 60 * 1000L;

    private final LongSupplier clock;
    private final Map<String, Long> reportedAt = new ConcurrentHashMap<>();

    LogOnce(LongSupplier clock) {
        this.clock = clock;
    }

    /** Whether this occurrence of {@code kind} gets its log line. */
    boolean report(String kind) {
        long now = clock.getAsLong();
        boolean[] report = new boolean[1];
        reportedAt.compute(kind, (k, at) -> {
            report[0] = at == null || now - at >= REPEAT_MILLIS;
            return report[0] ? Long.valueOf(now) : at;
        });
        return report[0];
    }

    /** The problem ended: its next occurrence is reported at once. */
    void reset(String kind) {
        reportedAt.remove(kind);
    }
}
