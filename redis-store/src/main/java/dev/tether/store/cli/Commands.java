package dev.tether.store.cli;

import dev.tether.store.SessionId;
import dev.tether.store.cli.Keyspace.Row;
import dev.tether.store.record.RecordFormat;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The tool's commands. Each builds one result: a JSON model and the same content as text tables.
 * Session ids appear redacted only, attribute values never.
 */
final class Commands {

    /** What a command produced: its exit code, its JSON model, its text. */
    record Result(int exitCode, Map<String, Object> json, String text) {
    }

    private static final String SHARED = "(shared)";
    private static final String HASH = "hash";
    private static final String SORTED_SET = "zset";
    /** Upper bounds of the age histogram's buckets, in seconds; the last bucket has none. */
    private static final long[] AGE_BOUNDS = {60, 300, 900, 3600, 4 * 3600, 86_400};
    private static final String[] AGE_LABELS = {"<1m", "1-5m", "5-15m", "15m-1h", "1-4h", "4-24h", ">1d"};
    /**
     * A tombstone lives as long as the one a node leaves when it invalidates a session by id (a
     * day), or as the record would have, if longer: every node's copy is gone by then.
     */
    private static final long MIN_TOMBSTONE_SECONDS = 86_400;
    /** Index members read per round of {@code invalidate --user}. */
    private static final int INDEX_BATCH = 500;

    private final Keyspace redis;
    private final RecordFormat format;
    private final String prefix;
    private final Progress progress;
    /** Invalidations name what they would end and change nothing. */
    private final boolean dryRun;

    Commands(Keyspace redis, String prefix, Progress progress, boolean dryRun) {
        this.redis = redis;
        this.format = new RecordFormat(prefix);
        this.prefix = prefix;
        this.progress = progress;
        this.dryRun = dryRun;
    }

    // ---------------------------------------------------------------- summary

    Result summary() {
        long started = System.nanoTime();
        long now = System.currentTimeMillis();
        Map<String, Map<String, Group>> byApplication = new TreeMap<>();
        long[] keys = new long[1];
        redis.scan(format.applicationsKeyPattern(), HASH, null, progress, batch -> {
            keys[0] += batch.size();
            for (Row r : redis.rows(batch, true)) {
                Map<String, Group> owners = byApplication.computeIfAbsent(r.prefix(), p -> new TreeMap<>());
                owners.computeIfAbsent(owner(r), o -> new Group()).add(r, now);
            }
            return true;
        });
        progress.done();
        double seconds = (System.nanoTime() - started) / 1e9;

        List<Object> applications = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        long total = 0;
        for (Map.Entry<String, Map<String, Group>> app : byApplication.entrySet()) {
            Group all = new Group();
            app.getValue().values().forEach(all::addAll);
            total += all.sessions;
            List<Object> owners = new ArrayList<>();
            app.getValue().forEach((owner, g) -> owners.add(g.json(owner)));
            applications.add(map("prefix", app.getKey(), "sessions", all.sessions, "owners", owners, "all", all.json(null)));
            text.append('\n').append(app.getKey()).append("  ").append(sessions(all.sessions)).append('\n');
            appendSummaryTables(text, app.getValue(), all);
        }
        String head = String.format("%s in %s under '%s', %d application(s); %,d keys read in %.1f s%s%n",
                sessions(total), redis.where(), prefix, byApplication.size(), keys[0], seconds,
                redis.rate() > 0 ? String.format(" (at most %,d keys/s)", redis.rate()) : "");
        String foot = byApplication.isEmpty() ? "no sessions found\n"
                : "\nbytes: MEMORY USAGE of each record (Redis' own estimate, overhead included); age: now - created\n";
        Map<String, Object> json = map("command", "summary", "redis", redis.where(), "prefix", prefix, "sessions", total,
                "keysRead", keys[0], "seconds", Math.round(seconds * 1000) / 1000.0, "bytes", "MEMORY USAGE",
                "applications", applications);
        return new Result(CommandLine.OK, json, head + text + foot);
    }

    private static String owner(Row r) {
        return r.owner() == null || r.owner().isEmpty() ? SHARED : r.owner();
    }

    private static void appendSummaryTables(StringBuilder text, Map<String, Group> owners, Group all) {
        Table sizes = new Table("owner", "sessions", "bytes p50", "p99", "max", "TTL min", "p50", "max", "no TTL").right(1);
        Table ages = new Table(concat(new String[] {"age"}, AGE_LABELS)).right(1);
        Map<String, Group> rows = new LinkedHashMap<>(owners);
        if (owners.size() > 1) {
            rows.put("(all)", all);
        }
        rows.forEach((owner, g) -> {
            sizes.row(owner, String.format("%,d", g.sessions), bytes(g.bytes.percentile(50)), bytes(g.bytes.percentile(99)),
                    bytes(g.bytes.max()), seconds(g.ttls.min()), seconds(g.ttls.percentile(50)), seconds(g.ttls.max()),
                    String.format("%,d", g.noTtl));
            String[] cells = new String[AGE_LABELS.length + 1];
            cells[0] = owner;
            for (int i = 0; i < AGE_LABELS.length; i++) {
                cells[i + 1] = String.format("%,d", g.ageBuckets[i]);
            }
            ages.row(cells);
        });
        sizes.appendTo(text, "  ");
        ages.appendTo(text, "  ");
    }

    /** The sessions of one owner (or of all): counts and the samples the percentiles come from. */
    private static final class Group {
        final Samples bytes = new Samples();
        final Samples ages = new Samples();
        final Samples ttls = new Samples();
        final long[] ageBuckets = new long[AGE_LABELS.length];
        long sessions;
        long noTtl;

        void add(Row r, long now) {
            sessions++;
            if (r.bytes() >= 0) {
                bytes.add(r.bytes());
            }
            long age = Math.max(0, (now - r.created()) / 1000);
            ages.add(age);
            int bucket = 0;
            while (bucket < AGE_BOUNDS.length && age >= AGE_BOUNDS[bucket]) {
                bucket++;
            }
            ageBuckets[bucket]++;
            if (r.pttl() < 0) {
                noTtl++;
            } else {
                ttls.add(r.pttl() / 1000);
            }
        }

        void addAll(Group g) {
            sessions += g.sessions;
            noTtl += g.noTtl;
            bytes.addAll(g.bytes);
            ages.addAll(g.ages);
            ttls.addAll(g.ttls);
            for (int i = 0; i < ageBuckets.length; i++) {
                ageBuckets[i] += g.ageBuckets[i];
            }
        }

        Map<String, Object> json(String owner) {
            Map<String, Object> histogram = new LinkedHashMap<>();
            for (int i = 0; i < AGE_LABELS.length; i++) {
                histogram.put(AGE_LABELS[i], ageBuckets[i]);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            if (owner != null) {
                out.put("owner", owner);
            }
            out.put("sessions", sessions);
            out.put("bytes", map("p50", bytes.percentile(50), "p99", bytes.percentile(99), "max", bytes.max(), "total", bytes.sum()));
            out.put("ageSeconds", map("p50", ages.percentile(50), "max", ages.max(), "histogram", histogram));
            out.put("ttlSeconds", map("min", ttls.min(), "p50", ttls.percentile(50), "max", ttls.max(), "none", noTtl));
            return out;
        }
    }

    /** Numbers kept for percentiles; sorted once, when first asked. */
    private static final class Samples {
        private long[] values = new long[64];
        private int size;
        private boolean sorted = true;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
            sorted = false;
        }

        void addAll(Samples other) {
            for (int i = 0; i < other.size; i++) {
                add(other.values[i]);
            }
        }

        /** Nearest rank; -1 when there are no samples. */
        long percentile(int p) {
            if (size == 0) {
                return -1;
            }
            if (!sorted) {
                Arrays.sort(values, 0, size);
                sorted = true;
            }
            int rank = (int) Math.ceil(p / 100.0 * size);
            return values[Math.max(0, rank - 1)];
        }

        long min() {
            return percentile(0);
        }

        long max() {
            return percentile(100);
        }

        long sum() {
            long s = 0;
            for (int i = 0; i < size; i++) {
                s += values[i];
            }
            return s;
        }
    }

    // ---------------------------------------------------------------- list

    Result list(int limit) {
        List<Row> rows = new ArrayList<>();
        redis.scan(format.applicationsKeyPattern(), HASH, null, progress, batch -> {
            for (Row r : redis.rows(batch, true)) {
                if (rows.size() < limit) {
                    rows.add(r);
                }
            }
            return rows.size() < limit;
        });
        progress.done();
        Table table = new Table("id", "owner", "created", "last access", "bytes", "user", "application").right(4, 4);
        List<Object> sessions = new ArrayList<>();
        for (Row r : rows) {
            String id = SessionId.redact(r.baseId());
            table.row(id, owner(r), time(r.created()), time(r.lastAccessed()), bytes(r.bytes()), r.user() == null ? "-" : r.user(),
                    r.prefix());
            sessions.add(map("id", id, "application", r.prefix(), "owner", owner(r), "created", r.created(), "lastAccessed",
                    r.lastAccessed(), "bytes", r.bytes(), "user", r.user()));
        }
        StringBuilder text = new StringBuilder();
        if (rows.isEmpty()) {
            text.append("no sessions found in ").append(redis.where()).append(" under '").append(prefix).append("'\n");
        } else {
            table.appendTo(text, "");
            text.append(rows.size() == limit ? String.format("(the first %,d found; --limit for more)%n", limit)
                    : "(" + sessions(rows.size()) + ")\n");
        }
        return new Result(CommandLine.OK, map("command", "list", "redis", redis.where(), "prefix", prefix, "limit", limit, "sessions", sessions),
                text.toString());
    }

    // ---------------------------------------------------------------- show

    Result show(String rawId) {
        String base = baseOf(rawId);
        List<String> keys = recordKeys(base);
        if (keys.isEmpty()) {
            return notFound("show", base);
        }
        List<Object> sessions = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (String key : keys) {
            Map<String, byte[]> fields = new TreeMap<>();
            redis.fields(key).forEach((f, v) -> fields.put(RecordFormat.string(f), v));
            if (fields.isEmpty()) {
                continue; // gone since it was found
            }
            sessions.add(describe(key, base, fields, redis.pttl(key), text));
        }
        if (sessions.isEmpty()) {
            return notFound("show", base);
        }
        return new Result(CommandLine.OK, map("command", "show", "redis", redis.where(), "sessions", sessions), text.toString());
    }

    /** One record: metadata, attributes (name, class, size, last change), note names. Values never. */
    private static Map<String, Object> describe(String key, String base, Map<String, byte[]> fields, long pttl, StringBuilder text) {
        List<Object> attributes = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Table table = new Table("attribute", "class", "bytes", "last change").right(2, 2);
        long attributeBytes = 0;
        boolean signed = false;
        for (Map.Entry<String, byte[]> f : fields.entrySet()) {
            String name = f.getKey();
            if (name.startsWith(RecordFormat.ATTRIBUTE_PREFIX)) {
                String attribute = name.substring(RecordFormat.ATTRIBUTE_PREFIX.length());
                String type = AttributeTypes.of(f.getValue());
                String stamp = RecordFormat.string(fields.get(RecordFormat.STAMP_PREFIX + name));
                attributeBytes += f.getValue().length;
                String changed = stamp == null ? "-" : "v" + stamp.replaceFirst(":", " by "); // <version>:<node>
                table.row(attribute, type, String.format("%,d", f.getValue().length), changed);
                attributes.add(map("name", attribute, "class", type, "bytes", f.getValue().length, "lastChange", stamp));
            } else if (name.startsWith(RecordFormat.NOTE_PREFIX)) {
                notes.add(name.substring(RecordFormat.NOTE_PREFIX.length()));
            } else if (name.startsWith(RecordFormat.SIGNATURE_PREFIX)) {
                signed = true;
            }
        }
        String id = SessionId.redact(base);
        String prefix = RecordFormat.prefixOfKey(key);
        long created = number(fields.get(RecordFormat.CREATED));
        long accessed = number(fields.get(RecordFormat.LAST_ACCESSED));
        String owner = RecordFormat.string(fields.get(RecordFormat.OWNER));
        String user = RecordFormat.string(fields.get(RecordFormat.USER));
        long now = System.currentTimeMillis();
        Table meta = new Table("", "");
        meta.row("owner", owner == null || owner.isEmpty() ? SHARED : owner);
        meta.row("user", user == null ? "-" : user);
        meta.row("created", time(created) + " (" + seconds((now - created) / 1000) + " ago)");
        meta.row("last access", time(accessed) + " (" + seconds((now - accessed) / 1000) + " ago)");
        meta.row("max inactive", number(fields.get(RecordFormat.MAX_INACTIVE)) + " s");
        meta.row("version", Long.toString(number(fields.get(RecordFormat.VERSION))));
        meta.row("TTL", pttl < 0 ? "none" : seconds(pttl / 1000));
        meta.row("signed", signed ? "yes" : "no");
        text.append("session ").append(id).append(" in ").append(prefix).append('\n');
        meta.appendTo(text, "  ", false);
        text.append(String.format("%d attribute(s), %,d bytes (values are never shown)%n", attributes.size(), attributeBytes));
        if (!attributes.isEmpty()) {
            table.appendTo(text, "  ");
        }
        text.append("notes: ").append(notes.isEmpty() ? "none" : String.join(", ", notes)).append("\n\n");
        return map("id", id, "application", prefix, "owner", owner, "user", user, "created", created, "lastAccessed", accessed,
                "maxInactive", number(fields.get(RecordFormat.MAX_INACTIVE)), "version", number(fields.get(RecordFormat.VERSION)),
                "ttlMillis", pttl, "signed", signed, "attributes", attributes, "notes", notes);
    }

    private static long number(byte[] b) {
        try {
            return b == null ? -1 : Long.parseLong(RecordFormat.string(b));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    // ---------------------------------------------------------------- invalidate

    Result invalidate(String rawId) {
        String base = baseOf(rawId);
        List<Row> rows = redis.rows(recordKeys(base), false);
        if (rows.isEmpty()) {
            return notFound("invalidate", base);
        }
        List<Object> done = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (Row r : rows) {
            if (!dryRun) {
                delete(r);
                if (r.user() != null) {
                    redis.removeMember(new RecordFormat(r.prefix()).userKey(r.user()), r.baseId());
                }
            }
            done.add(map("id", SessionId.redact(r.baseId()), "application", r.prefix()));
            text.append(invalidated()).append(SessionId.redact(r.baseId())).append(" in ").append(r.prefix()).append('\n');
        }
        text.append(dryRun ? "dry run: nothing was changed\n"
                : "every node holding it drops its copy now (Redis tells them); a tombstone keeps it from coming back\n");
        return new Result(CommandLine.OK, map("command", "invalidate", "redis", redis.where(), "dryRun", dryRun, "invalidated", done),
                text.toString());
    }

    /**
     * Every session of a user, through each application's index of that user (base ids scored by
     * expiry). The index may hold stale members (a session since gone, or since bound to another
     * name): only a record whose {@code user} field is that name is deleted; every member read
     * leaves the index.
     */
    Result invalidateUser(String user) {
        List<String> indexes = new ArrayList<>();
        redis.scan(format.applicationsUserKeyPattern(user), SORTED_SET, format.userKey(user), progress, batch -> {
            indexes.addAll(batch);
            return true;
        });
        progress.done();
        List<Object> done = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        long stale = 0;
        for (String index : indexes) {
            String application = RecordFormat.prefixOfUserKey(index);
            if (application == null) {
                continue;
            }
            RecordFormat app = new RecordFormat(application);
            byte[] indexKey = RecordFormat.bytes(index);
            // Each round removes what it read (a dry run pages on instead); the bound stops a round
            // that keeps finding new logins.
            for (int round = 0; round < 10_000; round++) {
                List<String> members = redis.members(indexKey, dryRun ? (long) round * INDEX_BATCH : 0, INDEX_BATCH);
                if (members.isEmpty()) {
                    break;
                }
                List<String> keys = new ArrayList<>();
                members.stream().filter(m -> SessionId.parse(m) != null).forEach(m -> keys.add(app.key(m)));
                for (Row r : redis.rows(keys, false)) {
                    if (user.equals(r.user())) {
                        if (!dryRun) {
                            delete(r);
                        }
                        done.add(map("id", SessionId.redact(r.baseId()), "application", application));
                        text.append(invalidated()).append(SessionId.redact(r.baseId())).append(" in ").append(application).append('\n');
                    }
                }
                for (String m : dryRun ? List.<String>of() : members) {
                    redis.removeMember(indexKey, m);
                }
                stale += members.size();
            }
        }
        stale -= done.size();
        Map<String, Object> json = map("command", "invalidate", "redis", redis.where(), "user", user, "dryRun", dryRun,
                "invalidated", done, "staleIndexEntries", stale);
        if (indexes.isEmpty()) {
            return new Result(CommandLine.NOTHING_FOUND, json, "no sessions indexed for user '" + user + "' under '" + prefix + "'\n");
        }
        if (dryRun) {
            text.append(String.format("dry run: %d session(s) of '%s' would be invalidated; nothing was changed%n", done.size(), user));
        } else {
            text.append(String.format("%d session(s) of '%s' invalidated; every node holding one drops its copy now", done.size(), user));
            text.append(stale > 0 ? String.format("; %d stale index entr%s removed%n", stale, stale == 1 ? "y" : "ies") : "\n");
        }
        return new Result(done.isEmpty() ? CommandLine.NOTHING_FOUND : CommandLine.OK, json, text.toString());
    }

    private String invalidated() {
        return dryRun ? "would invalidate " : "invalidated ";
    }

    private void delete(Row r) {
        long tombstone = Math.max(MIN_TOMBSTONE_SECONDS, r.pttl() / 1000 + 60);
        redis.delete(new RecordFormat(r.prefix()), r.baseId(), tombstone);
    }

    // ---------------------------------------------------------------- shared

    /** The base of an id as typed ({@code base} or {@code base.route}), validated as the nodes validate it. */
    private static String baseOf(String rawId) {
        SessionId id = SessionId.parse(rawId);
        if (id == null) {
            throw new CommandLine.UsageException("not a session id (" + SessionId.MIN_BASE_LENGTH + " to " + SessionId.MAX_BASE_LENGTH + " of [A-Za-z0-9_-], then optionally .route): "
                    + SessionId.redact(rawId));
        }
        return id.base();
    }

    /** The record of one id: under the prefix itself, or else under any application below it. */
    private List<String> recordKeys(String base) {
        String exact = format.key(base);
        if (redis.pttl(exact) != -2) {
            return List.of(exact);
        }
        List<String> found = new ArrayList<>();
        redis.scan(format.applicationsKeyPattern(base), HASH, format.recordKey(base), progress, batch -> {
            found.addAll(batch);
            return true;
        });
        progress.done();
        return found;
    }

    private Result notFound(String command, String base) {
        return new Result(CommandLine.NOTHING_FOUND, map("command", command, "redis", redis.where(), "id", SessionId.redact(base), "found", false),
                "no session " + SessionId.redact(base) + " under '" + prefix + "' in " + redis.where() + "\n");
    }

    private static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static String sessions(long n) {
        return String.format("%,d session%s", n, n == 1 ? "" : "s");
    }

    static String time(long epochMillis) {
        return epochMillis <= 0 ? "-" : Instant.ofEpochMilli(epochMillis).truncatedTo(ChronoUnit.SECONDS).toString();
    }

    static String bytes(long n) {
        if (n < 0) {
            return "-";
        }
        if (n < 1024) {
            return n + "B";
        }
        return n < 1024 * 1024 ? String.format("%.1fK", n / 1024.0) : String.format("%.1fM", n / (1024.0 * 1024));
    }

    static String seconds(long s) {
        if (s < 0) {
            return "-";
        }
        if (s < 120) {
            return s + "s";
        }
        if (s < 2 * 3600) {
            return s / 60 + "m";
        }
        return s < 2 * 86_400 ? String.format("%.1fh", s / 3600.0) : String.format("%.1fd", s / 86_400.0);
    }

    /** A text table, widths from the content; columns left-aligned unless {@link #right} says otherwise. */
    static final class Table {
        private final List<String[]> rows = new ArrayList<>();
        private final boolean[] right;

        Table(String... header) {
            rows.add(header);
            right = new boolean[header.length];
        }

        /** Right-aligns these columns and every one after the last (numbers). */
        Table right(int from) {
            Arrays.fill(right, from, right.length, true);
            return this;
        }

        Table right(int from, int to) {
            Arrays.fill(right, from, to + 1, true);
            return this;
        }

        void row(String... cells) {
            rows.add(cells);
        }

        void appendTo(StringBuilder out, String indent) {
            appendTo(out, indent, true);
        }

        void appendTo(StringBuilder out, String indent, boolean header) {
            int columns = rows.get(0).length;
            int[] width = new int[columns];
            for (String[] r : rows) {
                for (int i = 0; i < columns; i++) {
                    width[i] = Math.max(width[i], r[i].length());
                }
            }
            for (int n = header ? 0 : 1; n < rows.size(); n++) {
                String[] r = rows.get(n);
                StringBuilder line = new StringBuilder(indent);
                for (int i = 0; i < columns; i++) {
                    String cell = r[i];
                    String pad = " ".repeat(width[i] - cell.length());
                    line.append(i == 0 ? "" : "  ").append(right[i] ? pad + cell : cell + pad);
                }
                out.append(line.toString().stripTrailing()).append('\n');
            }
        }
    }
}
