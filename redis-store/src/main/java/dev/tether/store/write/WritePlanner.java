package dev.tether.store.write;

import dev.tether.store.SaveMode;
import dev.tether.store.SessionSnapshot;
import dev.tether.store.codec.AttributeCodec;
import dev.tether.store.codec.RecordSigner;
import dev.tether.store.record.RecordFormat;
import java.io.IOException;
import java.io.NotSerializableException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns one session's snapshot, the names its requests touched and what was last written into one
 * write plan. A pure function of its inputs: it reads {@link Saved} and changes nothing; the store
 * applies the plan.
 */
public final class WritePlanner {

    private final SaveMode mode;
    private final long touchMillis;
    private final AttributeCodec codec;
    private final RecordFormat format;
    /** Signs each data field; {@code null}: records are not signed. */
    private final RecordSigner signer;

    public WritePlanner(SaveMode mode, long touchMillis, AttributeCodec codec, RecordFormat format, RecordSigner signer) {
        this.mode = mode;
        this.touchMillis = touchMillis;
        this.codec = codec;
        this.format = format;
        this.signer = signer;
    }

    /** What one write starts from. */
    public record Input(
            /* the record's base id: signatures are bound to it */
            String baseId,
            SessionSnapshot snapshot,
            Changes.Drained changes,
            Saved saved,
            /* the record does not exist yet, or must be replaced (after an outage, or lost by Redis) */
            boolean full,
            /* the record exists in Redis */
            boolean persisted,
            /* sticky mode: the route written as owner in a full write; null leaves it out */
            byte[] owner,
            long now,
            /* write the access time whatever the touch interval (flush, replay, id change) */
            boolean forceTouch) {
    }

    /**
     * The common case, decided without locks or allocation: nothing set or removed, nothing mutable
     * read (when that counts), no touch due, times and notes unchanged.
     */
    public boolean nothingToWrite(Changes changes, Saved saved, SessionSnapshot snapshot, long now) {
        if (mode == SaveMode.ALWAYS || !changes.isEmpty(mode == SaveMode.ON_GET_ATTRIBUTE)) {
            return false;
        }
        if (snapshot.lastAccessedTime() != saved.accessed && now - saved.writeMillis >= touchMillis(snapshot.maxInactiveSeconds())) {
            return false;
        }
        return snapshot.maxInactiveSeconds() == saved.maxInactive && !saved.notesChanged(snapshot.notes())
                && !saved.userChanged(snapshot.user());
    }

    public WritePlan plan(Input in) {
        Builder b = new Builder(in);
        Map<String, Object> attributes = in.snapshot().attributes();
        if (in.full()) {
            for (Map.Entry<String, Object> e : attributes.entrySet()) {
                b.encode(e.getKey(), e.getValue(), true);
            }
        } else {
            delta(b, in.changes(), attributes);
        }
        return b.finish();
    }

    /**
     * A delta: the names the application set (always encoded), the mutable values it read (encoded,
     * written only if their bytes changed), every attribute in {@link SaveMode#ALWAYS}, and removals.
     */
    private void delta(Builder b, Changes.Drained changes, Map<String, Object> attributes) {
        List<String> explicit = changes.set();
        for (String name : explicit) {
            b.encodeCurrent(name, attributes.get(name), true);
        }
        Set<String> explicitSet = explicit.size() > 8 ? new HashSet<>(explicit) : null;
        if (mode != SaveMode.ON_SET_ATTRIBUTE) {
            for (String name : changes.read()) {
                Object value = attributes.get(name);
                if (!contains(explicit, explicitSet, name) && (value == null || mode != SaveMode.ALWAYS)) {
                    b.encodeCurrent(name, value, false);
                }
            }
        }
        if (mode == SaveMode.ALWAYS) {
            for (Map.Entry<String, Object> e : attributes.entrySet()) {
                if (!contains(explicit, explicitSet, e.getKey())) {
                    b.encode(e.getKey(), e.getValue(), false);
                }
            }
        }
        for (String name : changes.removed()) {
            if (!attributes.containsKey(name)) {
                b.delete(name); // whether or not this node wrote it: a refused value read from Redis goes too
            }
        }
    }

    private static boolean contains(List<String> list, Set<String> set, String name) {
        return set != null ? set.contains(name) : list.contains(name);
    }

    /**
     * Records outlive their max-inactive interval by four touch intervals: a read-only request's
     * touch may come one interval late, and the expiry sweep (every touch interval) must find an
     * abandoned session before Redis' TTL removes it, so that its destruction events fire.
     */
    /** How far the record's last-access time may lag behind a request served elsewhere, at most. */
    public long touchMillis() {
        return touchMillis;
    }

    /**
     * The touch interval for a session of this max-inactive interval: at most a quarter of it, so
     * that the record's last-access time never lags so far that another node sees an active session
     * as expired (a 60 s touch interval on a 2-minute session would).
     */
    public long touchMillis(int maxInactive) {
        return maxInactive <= 0 ? touchMillis : Math.min(touchMillis, Math.max(1000, maxInactive * 1000L / 4));
    }

    public long ttlSeconds(int maxInactive) {
        return maxInactive <= 0 ? -1 : maxInactive + 4 * Math.max(1, touchMillis(maxInactive) / 1000);
    }

    /** One plan being built: the hashes it writes shadow those of {@link Saved}. */
    private final class Builder {
        private final Input in;
        private final List<byte[]> sets = new ArrayList<>();
        private final List<byte[]> dels = new ArrayList<>();
        private final Map<String, Long> hashesSet = new HashMap<>();
        private final Set<String> hashesRemoved = new HashSet<>();
        private final List<WritePlan.Problem> problems = new ArrayList<>(0);
        /** Attributes whose serialization failed for now: not written, and the write not a success. */
        private final List<String> unwritten = new ArrayList<>(0);

        Builder(Input in) {
            this.in = in;
        }

        /** The hash this node last wrote for an attribute, as of this plan. */
        private Long hash(String name) {
            Long h = hashesSet.get(name);
            if (h != null || hashesRemoved.contains(name) || in.full()) {
                return h;
            }
            return in.saved().hash(name);
        }

        /** One attribute of a delta: its current value, or its deletion when it has none any more. */
        void encodeCurrent(String name, Object value, boolean explicit) {
            if (value != null) {
                encode(name, value, explicit);
            } else {
                removeStored(name);
            }
        }

        /** Deletes an attribute's field, if this node ever wrote it. */
        void removeStored(String name) {
            if (hash(name) != null) {
                delete(name);
            }
        }

        void delete(String name) {
            drop(name);
            dels.add(format.attributeField(name));
            if (signer != null) {
                dels.add(format.signatureField(RecordFormat.ATTRIBUTE_PREFIX + name));
            }
        }

        /** Adds a data field, and its signature when records are signed. */
        private void data(String prefix, String name, byte[] field, byte[] value) {
            sets.add(field);
            sets.add(value);
            if (signer != null) {
                String dataField = prefix + name;
                sets.add(format.signatureField(dataField));
                sets.add(signer.sign(in.baseId(), dataField, value));
            }
        }

        void encode(String name, Object value, boolean explicit) {
            Long saved = hash(name);
            if (saved != null && !explicit && AttributeCodec.isImmutable(value)) {
                return;
            }
            byte[] encoded;
            try {
                encoded = encodeSteady(value);
            } catch (AttributeCodec.AttributeTooLargeException e) {
                problems.add(new WritePlan.Problem(name, value.getClass().getName(), true, e.size));
                leaveOut(name, saved);
                return;
            } catch (NotSerializableException e) {
                problems.add(new WritePlan.Problem(name, e.getMessage(), false, 0));
                leaveOut(name, saved);
                return;
            } catch (IOException | RuntimeException e) {
                // Serializable, but it failed twice as it was written: changed in place by another
                // request meanwhile, or a writeObject that failed. Redis keeps what it has, and this
                // write does not count as storing the request's change.
                unwritten.add(name);
                return;
            }
            long h = AttributeCodec.hash(encoded);
            if (saved != null && saved == h) {
                return;
            }
            hashesRemoved.remove(name);
            hashesSet.put(name, h);
            data(RecordFormat.ATTRIBUTE_PREFIX, name, format.attributeField(name), encoded);
        }

        /**
         * Encodes a value, once more if its serialization fails in a way a concurrent change in
         * place causes (a ConcurrentModificationException from a collection being written): the
         * second try usually finds it steady.
         */
        private byte[] encodeSteady(Object value) throws IOException {
            try {
                return codec.encode(value);
            } catch (NotSerializableException | AttributeCodec.AttributeTooLargeException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                return codec.encode(value);
            }
        }

        /** An attribute that can no longer be written must not survive in Redis with an older value. */
        private void leaveOut(String name, Long saved) {
            if (saved != null || !in.persisted()) {
                delete(name);
            }
        }

        private void drop(String name) {
            hashesSet.remove(name);
            hashesRemoved.add(name);
        }

        WritePlan finish() {
            SessionSnapshot snap = in.snapshot();
            Saved saved = in.saved();
            long now = in.now();
            boolean full = in.full();
            long accessed = snap.lastAccessedTime();
            int maxInactive = snap.maxInactiveSeconds();
            boolean maxInactiveChanged = maxInactive != saved.maxInactive;
            Map<String, String> notes = snap.notes();
            long touch = touchMillis(maxInactive);
            boolean touchDue = accessed != saved.accessed && (in.forceTouch() || now - saved.writeMillis >= touch);
            boolean notesChanged = saved.notesChanged(notes);
            String user = snap.user();
            boolean userChanged = saved.userChanged(user);
            if (!full && sets.isEmpty() && dels.isEmpty() && !touchDue && !notesChanged && !maxInactiveChanged && !userChanged) {
                return new WritePlan(WritePlan.Kind.NONE, false, List.of(), List.of(), 0, now, saved.accessed, saved.maxInactive,
                        notes, snap.extras(), Map.of(), Set.of(), problems, saved.user(), 0, saved.user(), unwritten);
            }
            // A login or logout is data: a 2xx must mean the record (and the index) has it.
            boolean data = full || !sets.isEmpty() || !dels.isEmpty() || notesChanged || maxInactiveChanged || userChanged;
            // The TTL needs setting at most once per touch interval: one command less inside Redis
            // for most writes of a busy session.
            boolean setTtl = full || maxInactiveChanged || now - saved.expireMillis >= touch;
            RecordFormat.meta(sets, accessed, now, maxInactiveChanged || full ? maxInactive : null,
                    full ? snap.creationTime() : null, in.owner());
            if (full || saved.extrasChanged(snap.extras())) {
                for (Map.Entry<String, String> x : snap.extras().entrySet()) {
                    sets.add(format.extraField(x.getKey()));
                    sets.add(RecordFormat.bytes(x.getValue()));
                }
            }
            if (full || notesChanged) {
                for (Map.Entry<String, String> n : notes.entrySet()) {
                    data(RecordFormat.NOTE_PREFIX, n.getKey(), format.noteField(n.getKey()), RecordFormat.bytes(n.getValue()));
                }
            }
            if (!full && notesChanged) {
                for (String gone : saved.removedNotes(notes)) {
                    dels.add(format.noteField(gone));
                    if (signer != null) {
                        dels.add(format.signatureField(RecordFormat.NOTE_PREFIX + gone));
                    }
                }
            }
            if (user != null && (full || userChanged)) {
                sets.add(RecordFormat.bytes(RecordFormat.USER));
                sets.add(RecordFormat.bytes(user));
            } else if (user == null && userChanged && !full) {
                dels.add(RecordFormat.bytes(RecordFormat.USER));
            }
            long ttl = ttlSeconds(maxInactive);
            return new WritePlan(data ? WritePlan.Kind.WRITE : WritePlan.Kind.TOUCH, full, sets, dels,
                    setTtl ? ttl : 0, now, accessed, maxInactive, notes, snap.extras(), hashesSet, hashesRemoved,
                    problems, user, indexUntil(user, full || userChanged, saved.indexedUntil(), ttl, now), saved.user(), unwritten);
        }

        /**
         * When the session must go (again) into its user's index, until when; else 0. The index
         * holds it for twice the record's TTL, and is refreshed once the record could outlive that:
         * about once per TTL, never per request.
         */
        private long indexUntil(String user, boolean always, long indexedUntil, long ttl, long now) {
            if (user == null) {
                return 0;
            }
            long until = ttl <= 0 ? RecordFormat.NEVER : now + 2 * ttl * 1000;
            boolean due = always || indexedUntil == 0 || (ttl > 0 && now + ttl * 1000 > indexedUntil);
            return due ? until : 0;
        }
    }
}
