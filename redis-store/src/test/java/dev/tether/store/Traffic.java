package dev.tether.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tether.testkit.Await;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * A steady stream of requests over a set of sessions of one store, the way users keep clicking
 * while Redis fails over: every request changes {@code v} (a per-session sequence number) and one of
 * {@code h0..h3}, and commits. It records every outcome, the last acknowledged (SAVED) sequence
 * number of each session, and whether that acknowledgement came with a replica shortfall, so that a
 * test can tell acknowledged-then-lost writes from writes that were queued and replayed.
 */
final class Traffic implements AutoCloseable {

    static final int SLOTS = 4;

    /** One session of the stream. Its {@code seq} and {@code h} are written by the traffic thread only. */
    static final class Tracked {
        final TrackedSession state;
        final TestSession live;
        int seq;
        final int[] h = new int[SLOTS];
        volatile int ackedSeq;
        /** Last sequence number acknowledged without a replica shortfall (waitReplicas stores). */
        volatile int ackedFullySeq;
        volatile long lastSavedNanos;
        volatile WriteOutcome lastOutcome;
        volatile boolean skip;

        Tracked(TrackedSession state, TestSession live) {
            this.state = state;
            this.live = live;
        }

        String base() {
            return state.baseId();
        }

        /** The record fields this session's latest local state implies. */
        Map<String, String> expected() {
            Map<String, String> out = new LinkedHashMap<>();
            out.put("a:v", "I" + seq);
            for (int k = 0; k < SLOTS; k++) {
                if (h[k] > 0) {
                    out.put("a:h" + k, "I" + h[k]);
                }
            }
            return out;
        }
    }

    private final RedisSessionStore store;
    final List<Tracked> sessions;
    private final Map<WriteOutcome, LongAdder> outcomes = new ConcurrentHashMap<>();
    private final List<String> errors = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean running;
    private volatile long markNanos = Long.MAX_VALUE;
    private final Map<WriteOutcome, LongAdder> sinceMark = new ConcurrentHashMap<>();
    private volatile long firstSavedAfterMarkNanos;
    private Thread thread;

    /** Creates the sessions (one SAVED first commit each) under the given base ids. */
    Traffic(RedisSessionStore store, List<String> bases) {
        this.store = store;
        List<Tracked> list = new ArrayList<>();
        for (String base : bases) {
            TestSession live = new TestSession();
            live.attributes.put("user", "user-" + base.substring(0, 6));
            live.attributes.put("v", 0);
            TrackedSession s = store.create(base, live);
            WriteOutcome first = Stores.request(store, s, () -> { });
            if (first != WriteOutcome.SAVED) {
                // A cold JVM on a loaded machine can miss a command timeout: the write is queued and
                // replayed, and the session starts once it is in Redis.
                assertEquals(WriteOutcome.QUEUED, first, "first commit of a traffic session");
                Await.await("the first write of a traffic session reaches Redis", java.time.Duration.ofSeconds(15),
                        () -> store.isRedisAvailable() && store.pendingWrites() == 0 && store.exists(base));
            }
            Tracked t = new Tracked(s, live);
            t.ackedSeq = 0;
            t.lastSavedNanos = System.nanoTime();
            list.add(t);
        }
        this.sessions = List.copyOf(list);
    }

    Traffic(RedisSessionStore store, int n) {
        this(store, newBases(n));
    }

    static List<String> newBases(int n) {
        List<String> bases = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            bases.add(Stores.newBase());
        }
        return bases;
    }

    /** Starts the request loop: one request after another, round robin, {@code pauseMillis} apart. */
    Traffic start(long pauseMillis) {
        running = true;
        thread = new Thread(() -> loop(pauseMillis), "traffic");
        thread.setDaemon(true);
        thread.start();
        return this;
    }

    private void loop(long pauseMillis) {
        int i = 0;
        while (running) {
            Tracked t = sessions.get(i++ % sessions.size());
            if (t.skip || t.state.isDropped()) {
                continue;
            }
            once(t);
            if (pauseMillis > 0) {
                try {
                    Thread.sleep(pauseMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** One request on one session: a change and a commit, its outcome recorded. */
    WriteOutcome once(Tracked t) {
        long shortfallsBefore = store.stats().getReplicaShortfalls();
        WriteOutcome o;
        try {
            o = Stores.request(store, t.state, () -> {
                int seq = t.seq + 1;
                t.seq = seq;
                t.h[seq % SLOTS] = seq;
                t.live.set(t.state, "v", seq);
                t.live.set(t.state, "h" + (seq % SLOTS), seq);
            });
        } catch (AssertionError e) {
            errors.add(t.base().substring(0, 8) + ": " + dev.tether.store.redis.RedisConnection.describe(e));
            return null;
        }
        long now = System.nanoTime();
        t.lastOutcome = o;
        outcomes.computeIfAbsent(o, k -> new LongAdder()).increment();
        if (now >= markNanos) {
            sinceMark.computeIfAbsent(o, k -> new LongAdder()).increment();
        }
        // MERGED is stored too (with another write's fields): this harness never reads a session
        // again, as an adapter does after a merge, so a session may go on merging.
        if (o == WriteOutcome.SAVED || o == WriteOutcome.MERGED) {
            t.ackedSeq = t.seq;
            if (store.stats().getReplicaShortfalls() == shortfallsBefore) {
                t.ackedFullySeq = t.seq;
            }
            t.lastSavedNanos = now;
            if (now >= markNanos && firstSavedAfterMarkNanos == 0) {
                firstSavedAfterMarkNanos = now;
            }
        }
        return o;
    }

    /** From now on outcomes are also counted separately (call right before breaking something). */
    long mark() {
        long now = System.nanoTime();
        markNanos = now;
        return now;
    }

    /** Milliseconds from the mark to the first SAVED commit after it, or -1. */
    long millisToFirstSavedAfterMark() {
        long f = firstSavedAfterMarkNanos;
        return f == 0 ? -1 : (f - markNanos) / 1_000_000;
    }

    boolean allSavedSince(long nanos, java.util.function.Predicate<Tracked> which) {
        return sessions.stream().filter(which).allMatch(t -> t.lastSavedNanos > nanos);
    }

    /** Waits until {@link #allSavedSince}; if that never comes, fails naming the sessions left behind and what the traffic thread is doing. */
    void awaitAllSavedSince(String what, java.time.Duration timeout, long nanos, java.util.function.Predicate<Tracked> which) {
        if (Await.within(timeout, () -> allSavedSince(nanos, which))) {
            return;
        }
        StringBuilder b = new StringBuilder("timed out after " + timeout.toMillis() + " ms waiting until " + what + "; since the mark "
                + outcomesSinceMark() + "; Redis available=" + store.isRedisAvailable() + ", pending writes=" + store.pendingWrites()
                + "; sessions without SAVED:");
        for (Tracked t : sessions) {
            if (which.test(t) && t.lastSavedNanos <= nanos) {
                b.append(' ').append(t.base(), 0, 8).append("(last=").append(t.lastOutcome).append(", writing=")
                        .append(t.state.writing.availablePermits() == 0).append(", unsent=").append(t.state.holdsUnsent)
                        .append(", dropped=").append(t.state.isDropped()).append(')');
            }
        }
        // Where the traffic thread and Tether's own threads are (a write waiting on another, say).
        Thread.getAllStackTraces().forEach((th, stack) -> {
            if (th == thread || th.getName().startsWith("tether")) {
                b.append("\n  thread ").append(th.getName()).append(' ').append(th.getState());
                for (int i = 0; i < Math.min(stack.length, 25); i++) {
                    b.append("\n    at ").append(stack[i]);
                }
            }
        });
        org.junit.jupiter.api.Assertions.fail(b.toString());
    }

    long count(WriteOutcome o) {
        LongAdder a = outcomes.get(o);
        return a == null ? 0 : a.sum();
    }

    long countSinceMark(WriteOutcome o) {
        LongAdder a = sinceMark.get(o);
        return a == null ? 0 : a.sum();
    }

    long total() {
        return outcomes.values().stream().mapToLong(LongAdder::sum).sum();
    }

    Map<WriteOutcome, Long> outcomes() {
        Map<WriteOutcome, Long> out = new EnumMap<>(WriteOutcome.class);
        outcomes.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    Map<WriteOutcome, Long> outcomesSinceMark() {
        Map<WriteOutcome, Long> out = new EnumMap<>(WriteOutcome.class);
        sinceMark.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    List<String> errors() {
        return List.copyOf(errors);
    }

    /** Stops the loop and waits for its last request to finish. */
    void stop() {
        running = false;
        if (thread != null) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The acknowledged sequence numbers right now, by session. */
    Map<Tracked, Integer> acked(boolean fully) {
        Map<Tracked, Integer> out = new LinkedHashMap<>();
        for (Tracked t : sessions) {
            out.put(t, fully ? t.ackedFullySeq : t.ackedSeq);
        }
        return out;
    }

    /**
     * Sessions whose latest local state differs from their record as {@code read} returns it (field
     * to value, values as text); empty when every session's latest state is in Redis.
     */
    List<String> divergent(Function<String, Map<String, byte[]>> read) {
        List<String> out = new ArrayList<>();
        for (Tracked t : sessions) {
            if (t.state.isDropped()) {
                out.add(t.base().substring(0, 8) + " lost");
                continue;
            }
            Map<String, byte[]> record;
            try {
                record = read.apply(store.recordKey(t.base()));
            } catch (RuntimeException e) {
                out.add(t.base().substring(0, 8) + " unreadable: " + e.getMessage());
                continue;
            }
            for (Map.Entry<String, String> e : t.expected().entrySet()) {
                byte[] v = record.get(e.getKey());
                String actual = v == null ? null : new String(v, StandardCharsets.UTF_8);
                if (!e.getValue().equals(actual)) {
                    out.add(t.base().substring(0, 8) + " " + e.getKey() + "=" + actual + " (expected " + e.getValue() + ")");
                    break;
                }
            }
        }
        return out;
    }

    /** The {@code v} sequence number a record holds, or -1 when there is no record. */
    static int seqOf(Map<String, byte[]> record) {
        byte[] v = record.get("a:v");
        if (v == null) {
            return -1;
        }
        String s = new String(v, StandardCharsets.UTF_8);
        return Integer.parseInt(s.substring(1));
    }

    @Override
    public void close() {
        stop();
    }
}
