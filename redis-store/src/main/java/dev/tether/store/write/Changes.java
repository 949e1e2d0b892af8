package dev.tether.store.write;

import dev.tether.store.codec.AttributeCodec;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The attribute names a session's requests set, read (mutable values) and removed since its last
 * write. Adapters report here as the application works; a write drains them.
 *
 * <p>Each set is made on first use: most sessions never read a mutable value or remove an
 * attribute, and each empty set would cost about 90 bytes of heap per session.
 */
public final class Changes {

    private static final Set<String> EMPTY = Collections.emptySet();

    private volatile Set<String> set;
    private volatile Set<String> read;
    private volatile Set<String> removed;

    public void attributeSet(String name) {
        names(SET).add(name);
        orEmpty(removed).remove(name);
    }

    /** A read of a mutable value: it may be changed in place, so it is re-checked at the next write. */
    public void attributeRead(String name, Object value) {
        if (value != null && !AttributeCodec.isImmutable(value)) {
            names(READ).add(name);
        }
    }

    public void attributeRemoved(String name) {
        names(REMOVED).add(name);
        orEmpty(set).remove(name);
    }

    /** An attribute whose stored bytes were refused: the next write deletes it from the record. */
    public void removeFromRecord(String name) {
        names(REMOVED).add(name);
    }

    /** Whether nothing was set or removed, and (when {@code reads} counts) nothing mutable read. */
    public boolean isEmpty(boolean reads) {
        return orEmpty(set).isEmpty() && orEmpty(removed).isEmpty() && (!reads || orEmpty(read).isEmpty());
    }

    /**
     * Takes the names out for one write. Each name leaves its set before the planner reads its
     * value, so a change racing the write is either in this write or left for the next one.
     *
     * @param drainReads whether the read names go too; not while another request may still be
     *     changing a value it read (or set) in place: then the set names are kept as read ones
     */
    public Drained drain(boolean drainReads, java.util.Map<String, Object> values) {
        List<String> written = take(set, true);
        Drained out = new Drained(written, take(read, drainReads), take(removed, true));
        if (!drainReads) {
            keepMutable(written, values);
        }
        return out;
    }

    /**
     * Another request may still be filling in place a value it has just set (a new cart, then its
     * first item): the last request's write checks those values again, as values read.
     */
    private void keepMutable(List<String> names, java.util.Map<String, Object> values) {
        for (String name : names) {
            attributeRead(name, values.get(name));
        }
    }

    /** A write that did not reach Redis is kept: its attributes go again with the next one. */
    public void requeue(java.util.Collection<String> set, java.util.Collection<String> removed) {
        for (String name : set) {
            names(SET).add(name);
        }
        for (String name : removed) {
            names(REMOVED).add(name);
        }
    }

    /** Forgets one attribute: set, removed or read (another node's change of it stands). */
    public void forget(String name) {
        orEmpty(set).remove(name);
        orEmpty(read).remove(name);
        orEmpty(removed).remove(name);
    }

    /** Forgets everything, values read included: the copy was replaced by the record. */
    public void clearAll() {
        clear(true, java.util.Map.of());
    }

    /**
     * Forgets what a full write covers: it writes all attributes.
     *
     * @param reads whether the read names go too; if not (other requests still run), the names set
     *     stay as read ones when their values are mutable, as in {@link #drain}
     */
    public void clear(boolean reads, java.util.Map<String, Object> values) {
        if (!reads) {
            keepMutable(take(set, false), values);
        }
        orEmpty(set).clear();
        orEmpty(removed).clear();
        if (reads) {
            orEmpty(read).clear();
        }
    }

    private static List<String> take(Set<String> names, boolean remove) {
        if (names == null || names.isEmpty()) {
            return List.of();
        }
        List<String> out = new ArrayList<>(Math.min(8, names.size()));
        for (Iterator<String> it = names.iterator(); it.hasNext(); ) {
            out.add(it.next());
            if (remove) {
                it.remove();
            }
        }
        return out;
    }

    /** The names one write covers. */
    public record Drained(List<String> set, List<String> read, List<String> removed) {
        public static final Drained NONE = new Drained(List.of(), List.of(), List.of());
    }

    private static Set<String> orEmpty(Set<String> names) {
        return names == null ? EMPTY : names;
    }

    @SuppressWarnings("unchecked")
    private Set<String> names(VarHandle field) {
        Set<String> names = (Set<String>) field.getVolatile(this);
        if (names == null) {
            Set<String> made = ConcurrentHashMap.newKeySet();
            names = field.compareAndSet(this, null, made) ? made : (Set<String>) field.getVolatile(this);
        }
        return names;
    }

    private static final VarHandle SET;
    private static final VarHandle READ;
    private static final VarHandle REMOVED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            SET = lookup.findVarHandle(Changes.class, "set", Set.class);
            READ = lookup.findVarHandle(Changes.class, "read", Set.class);
            REMOVED = lookup.findVarHandle(Changes.class, "removed", Set.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
