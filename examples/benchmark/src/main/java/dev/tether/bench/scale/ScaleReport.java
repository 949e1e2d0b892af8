package dev.tether.bench.scale;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** scale.md: what was run, the tables of parts 1 and 2, and part 3's arithmetic from their numbers. */
final class ScaleReport {

    private ScaleReport() {
    }

    static void write(ScaleOptions o, Scale.Run run, Grow.Result grow, List<Storm.Result> storm) throws IOException {
        StringBuilder md = new StringBuilder();
        md.append("# Scale, measured\n\n");
        md.append("Produced by `examples/benchmark/run-scale.sh` (on demand, not part of the build's tests), ").append(run.started)
                .append(" to ").append(run.finished).append(String.format(Locale.ROOT, " (%.0f s).", run.wallSeconds))
                .append(" Every number below is from this one run on this one machine.\n\n");
        machine(md, o, run);
        if (grow != null) {
            grow(md, o, grow);
        }
        if (storm != null) {
            storm(md, storm);
        }
        if (grow != null) {
            paper(md, grow, storm);
        }
        Files.writeString(o.out.resolve("scale.md"), md.toString());
    }

    private static void machine(StringBuilder md, ScaleOptions o, Scale.Run run) {
        md.append("## How it was run\n\n");
        md.append("| | |\n|---|---|\n");
        row(md, "machine", run.cpu + ", " + run.memory + " RAM");
        row(md, "shared machine", "other work (other helpers' builds and tests) may have been running on the same 2 cores during this"
                + " run; the load averages below say how busy the machine was. Busiest processes when the run started (top, 2 s): "
                + (run.busiest.isEmpty() ? "none above 2 %" : String.join(", ", run.busiest)));
        for (String l : run.load) {
            row(md, "uptime", "`" + l + "`");
        }
        row(md, "CPU steal over the run", run.steal);
        row(md, "server", "Apache Tomcat " + o.tomcatHome.getFileName().toString().replace("apache-tomcat-", "")
                + ", Tether's shaded jar in `lib/`, `<Manager className=\"dev.tether.tomcat.RedisSessionManager\""
                + " redisUri=\"redis://127.0.0.1:PORT\"/>` (all other settings default: sticky mode, touchIntervalSeconds 60,"
                + " synchronous writes), `jvmRoute` node1/node2, a `MemoryRealm` of the users");
        row(md, "JVM", run.javaVersion + "; part 1: `" + o.jvmOptsGrow + "`, part 2: `" + o.jvmOptsStorm + "` per node");
        row(md, "Redis", "redis-server " + run.redisVersion + ", on loopback, no persistence, default settings (one I/O thread)");
        row(md, "session", "bench.war's shape: `payload`, a 1 KiB String of its own, and `counter`, an Integer; every session is"
                + " logged in (`request.login` of its own user u<i>, which changes the session id as Tomcat does at every login),"
                + " so each has its record, its expiry-index entry and its user-index entry (the id change happens before the session's"
                + " first write, so it leaves no tombstone). The record holds the payload (1,025 bytes encoded), the counter, the"
                + " principal and roles, metadata and a version stamp per field");
        row(md, "load", "wrk " + run.wrkVersion + ": `" + WrkRun.describe(o) + "` (part 1), each request with the next session's"
                + " cookie, round-robin over all the node's sessions; part 2: its own Java client (below)");
        row(md, "session creations answered 503 and tried again", run.createRetries + " (Tether refuses a write that Redis did not"
                + " confirm within commandTimeoutMillis, 1 s, with 503 and Retry-After; the creating client then tries again)");
        md.append('\n');
    }

    private static void grow(StringBuilder md, ScaleOptions o, Grow.Result g) {
        int max = g.levels().get(g.levels().size() - 1).sessions();
        md.append("## 1. ").append(String.format(Locale.ROOT, "%,d", max)).append(" sessions on one node\n\n");
        md.append("One node; first a warm-up (200 sessions, ").append(3 * o.warmup).append(" s of writes and ").append(o.warmup)
                .append(" s of reads on them, then all 200 invalidated), then the node at **0 sessions** is the baseline. Then it"
                + " grows to each size in turn (sessions created through the HTTP path, 12 connections at once: `GET /bench/s/create"
                + "?u=<user>`, which creates, fills and logs in). At each size: a discarded ").append(o.warmup)
                .append(" s warm-up and a measured ").append(o.duration).append(" s run of read-only (`/b/read`) and of"
                + " write-every-request (`/b/write`: `setAttribute(\"counter\", counter + 1)`), then heap used after"
                + " `System.gc()` (lowest of 4) and Redis `used_memory`.\n\n");
        md.append("### Memory\n\n");
        md.append("| sessions | created at | heap used after GC | heap per session | Redis used_memory | Redis per session | Redis keys |\n");
        md.append("|---:|---:|---:|---:|---:|---:|---:|\n");
        md.append(String.format(Locale.ROOT, "| 0 | | %.1f MiB | | %.1f MiB | | %,d |\n", mib(g.heap0()), mib(g.redis0()), g.redisKeys0()));
        int before = 0;
        for (Grow.Level l : g.levels()) {
            md.append(String.format(Locale.ROOT, "| %,d | %,.0f sessions/s | %.1f MiB | %,.0f B | %.1f MiB | %,.0f B | %,d |\n", l.sessions(),
                    (l.sessions() - before) / l.createSeconds(), mib(l.heapUsed()), (double) (l.heapUsed() - g.heap0()) / l.sessions(),
                    mib(l.redisUsed()), (double) (l.redisUsed() - g.redis0()) / l.sessions(), l.redisKeys()));
            before = l.sessions();
        }
        md.append("\n\"per session\" is (value at that size − value at 0 sessions) / sessions. \"created at\": the rate of"
                + " `/s/create` (new session, 2 attributes, login with its id change; then the user index and the record written)."
                + " The keys at 0 sessions are mostly the 200 warm-up sessions' tombstones, and the node census.\n\n");

        md.append(String.format(Locale.ROOT, "### Redis keys at %,d sessions, by kind\n\n", max));
        md.append("Every key counted with `SCAN`; size from `MEMORY USAGE key SAMPLES 0` on up to 500 random keys of each kind.\n\n");
        md.append("| kind | keys | encoding | MEMORY USAGE, mean | total | per session |\n|---|---:|---|---:|---:|---:|\n");
        double total = 0;
        for (RedisFootprint.Kind k : g.footprint()) {
            total += k.totalBytes();
            md.append(String.format(Locale.ROOT, "| %s | %,d | %s | %,.0f B | %.1f MiB | %,.0f B |\n", k.name(), k.keys(), k.encoding(),
                    k.avgBytes(), mib(k.totalBytes()), k.totalBytes() / max));
        }
        md.append(String.format(Locale.ROOT, "| **all keys** | | | | **%.1f MiB** | **%,.0f B** |\n\n", mib(total), total / max));
        md.append("`MEMORY USAGE` counts a key's own allocations; `used_memory` also counts Redis's key table and expiry table"
                + " entries, allocator rounding and the baseline's buffers, so its per-session figure is the one to plan with.\n\n");

        md.append(String.format(Locale.ROOT, "### Heap at %,d sessions, by class\n\n", max));
        md.append("`jcmd <pid> GC.class_histogram` (live objects after a full GC) at the largest size minus at 0 sessions, the 12"
                + " classes that grew most:\n\n| class | instances per session | bytes per session |\n|---|---:|---:|\n");
        g.classes().stream().limit(12).forEach(c -> md.append(String.format(Locale.ROOT, "| `%s` | %.2f | %,.0f |\n", c.name(),
                (double) c.instances() / max, (double) c.bytes() / max)));
        long sum = g.classes().stream().mapToLong(Grow.ClassDelta::bytes).sum();
        md.append(String.format(Locale.ROOT, "| all classes that grew | | %,.0f |\n\n", (double) sum / max));

        md.append("### Cost per request as the sessions grow\n\n");
        md.append("| sessions | workload | req/s | p50 ms | p99 ms | errors | Redis CPU per request | node CPU per request |"
                + " Redis commands (commandstats: calls per request × µs inside Redis per call) |\n");
        md.append("|---:|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Grow.Level l : g.levels()) {
            for (Grow.Load x : new Grow.Load[] {l.read(), l.write()}) {
                md.append(String.format(Locale.ROOT, "| %,d | %s | %,.0f | %.2f | %.2f | %d | %.1f µs | %.0f µs | %s |\n", l.sessions(),
                        x.mode().equals("read") ? "read-only" : "write-every-request", x.wrk().rps(), x.wrk().p50Ms(), x.wrk().p99Ms(),
                        x.wrk().errors(), x.redisCpuUsPerReq(), x.nodeCpuUsPerReq(), RedisCost.describe(x.commands(), x.wrk().requests())));
            }
        }
        md.append("\nRedis CPU per request: redis-server's `used_cpu_user + used_cpu_sys` (INFO cpu) over the run / requests:"
                + " everything Redis spent, network system calls included. The µs per call in the last column are only the time"
                + " inside the command: `evalsha` is Tether's script, and the commands it calls (hget, hset, hlen, ...) are listed"
                + " too, their time already included in evalsha's; a read's `evalsha` is a touch (once a minute per session); `hset` and"
                + " `pexpire` are the node's census report on a timer, not per request. Node CPU: the Tomcat JVM's"
                + " user + system time from `/proc` / requests. wrk, Redis and Tomcat share the 2 cores, so throughput here is"
                + " bound by the machine, not by Redis.\n\n");
    }

    private static void storm(StringBuilder md, List<Storm.Result> rounds) {
        Storm.Result s = rounds.get(0);
        md.append(String.format(Locale.ROOT, "## 2. A node holding %,d active sessions is killed under load\n\n", s.sessions()));
        md.append(String.format(Locale.ROOT, "Two nodes behind HAProxy (%s) with `examples/balancers/haproxy/haproxy.cfg` as shipped (route from"
                + " the session id, `retries 3`, `retry-on conn-failure empty-response response-timeout`, `option redispatch 1`,"
                + " health check every 2 s, `fall 3`), only the health-check URL changed to `/bench/b/ping`. node1 holds %,d"
                + " logged-in sessions, node2 %,d of its own. %d client threads, each with one kept-alive connection to HAProxy and"
                + " every %d-th user, request their users in turn as fast as answers come (closed loop), 80 %% `/b/read`, 20 %%"
                + " `/b/write`; a user takes the new cookie when one comes. After 20 s (the last 8 s measured as the steady"
                + " state), node1 gets `kill -9`. A user of node1 is **served again** when node2 answers it 200 with its new"
                + " id (`<base>.node2`); that request's latency is its **take-over latency** (it includes HAProxy's"
                + " retry of the refused connection). The storm ends when every user of node1 has been served again.\n\n"
                + "Round 1 is node2's first failover: the take-over code has never run in its JVM, so the JIT compiles it during"
                + " the storm, as on a real node's first failover. Round 2: node1 restarted, %,d new users logged in on it, the"
                + " same load (node1's new users and node2's own), node1 killed again; node2 now also holds round 1's users, idle.\n\n",
                s.haproxyVersion(), s.sessions(), s.others(), s.clients(), s.clients(), s.sessions()));
        md.append("| |");
        rounds.forEach(r -> md.append(" round ").append(r.round()).append(" |"));
        md.append("\n|---|");
        rounds.forEach(r -> md.append("---|"));
        md.append('\n');
        stormRow(md, "load average at the kill", rounds, r -> "`" + r.loadAtKill().replaceFirst("^.*load average", "load average") + "`");
        stormRow(md, "steady state before the kill", rounds, r -> String.format(Locale.ROOT, "%,.0f req/s over both nodes; latency p50"
                + " %.2f ms, p99 %.2f ms, max %.2f ms; one pass over all %,d users took %.2f s", r.steadyRps(),
                ms(Storm.percentile(r.steadyUs(), 50)), ms(Storm.percentile(r.steadyUs(), 99)), ms(Storm.percentile(r.steadyUs(), 100)),
                r.sessions() + r.others(), r.passSeconds()));
        stormRow(md, "**time until every user of node1 was served again**", rounds, r -> String.format(Locale.ROOT, "**%.2f s** after"
                + " the kill (half of them by %.2f s, 99 %% by %.2f s); %,d of %,d moved", r.movedAtMs().length == 0 ? Double.NaN
                        : r.movedAtMs()[r.movedAtMs().length - 1] / 1000.0, Storm.percentile(r.movedAtMs(), 50) / 1000.0,
                Storm.percentile(r.movedAtMs(), 99) / 1000.0, r.movedAtMs().length, r.sessions())
                + (r.movedEarly() > 0 ? String.format(Locale.ROOT, "; %d more had been moved by HAProxy before the kill (node1's health"
                        + " check failed on the busy machine)", r.movedEarly()) : ""));
        stormRow(md, "**take-over latency** (first request of each user on node2)", rounds, r -> String.format(Locale.ROOT,
                "**p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms**", ms(Storm.percentile(r.takeoverUs(), 50)),
                ms(Storm.percentile(r.takeoverUs(), 90)), ms(Storm.percentile(r.takeoverUs(), 99)),
                ms(Storm.percentile(r.takeoverUs(), 100))));
        stormRow(md, "answered during the storm", rounds, r -> String.format(Locale.ROOT, "%,d requests in %.2f s = %,.0f req/s",
                r.stormRequests(), r.stormSeconds(), r.stormRequests() / r.stormSeconds()));
        stormRow(md, "failed requests after the kill", rounds, r -> String.format(Locale.ROOT, "%,d of %,d (%d users had at least one;"
                + " at most %d before their take-over)%s", r.errorsAfterKill(), r.errorsAfterKill() + r.requestsAfterKill(),
                r.usersWithFailures(), r.maxFailuresBeforeMove(), r.errorSamples().isEmpty() ? "" : "; e.g. " + r.errorSamples().get(0)));
        stormRow(md, "writes lost (a counter that went back, or a write answered 200 without raising it)", rounds,
                r -> String.valueOf(r.lostWrites()));
        stormRow(md, "**Redis CPU during the storm**", rounds, r -> String.format(Locale.ROOT, "**%.3f s** (user + sys) over %.2f s = %.0f %%"
                + " of one core (steady state before: %.0f %%); per answered request %.1f µs (before: %.1f µs)", r.redisCpuStorm(),
                r.stormSeconds(), 100 * r.redisCpuStorm() / r.stormSeconds(), 100 * r.redisCpuSteadyPerSec(),
                1e6 * r.redisCpuStorm() / Math.max(1, r.stormRequests()), 1e6 * r.redisCpuSteadyPerRequest()));
        stormRow(md, "Redis CPU per take-over", rounds, r -> String.format(Locale.ROOT, "%.0f µs", takeoverMicros(r)));
        stormRow(md, "Redis commands during the storm, per moved user", rounds,
                r -> RedisCost.describe(r.stormCommands(), r.sessions()).replace("/req", ""));
        stormRow(md, "node2 CPU during the storm", rounds, r -> String.format(Locale.ROOT, "%.2f s over %.2f s (%.0f µs per answered"
                + " request)", r.node2CpuStorm(), r.stormSeconds(), 1e6 * r.node2CpuStorm() / Math.max(1, r.stormRequests())));
        md.append("\nRedis CPU per take-over: the storm's Redis CPU minus what its answered requests would have cost at the steady"
                + " state's µs per request, divided by the users moved. The time until everyone is served is bound by how fast"
                + " the users come back: each client requests its users one after the other, so it is at least one pass over"
                + " them (see the steady state), and on a machine this loaded every Redis round trip also waits for a core."
                + " Timeline after the kill (per 0.5 s; answered 200 / failed / users of node1 moved so far):\n\n| t after kill |");
        rounds.forEach(r -> md.append(" round ").append(r.round()).append(" |"));
        md.append("\n|---:|");
        rounds.forEach(r -> md.append("---:|"));
        md.append('\n');
        int last = 0;
        for (Storm.Result r : rounds) {
            for (int i = 0; i < r.movedTimeline().length; i++) {
                if (r.okTimeline()[i] + r.errorTimeline()[i] > 0) {
                    last = Math.max(last, i);
                }
            }
        }
        long[] cum = new long[rounds.size()];
        for (int i = 0; i <= last; i++) {
            md.append(String.format(Locale.ROOT, "| %.1f–%.1f s |", i * StormLoad.bucketMs() / 1000.0, (i + 1) * StormLoad.bucketMs() / 1000.0));
            for (int k = 0; k < rounds.size(); k++) {
                Storm.Result r = rounds.get(k);
                cum[k] += r.movedTimeline()[i];
                md.append(String.format(Locale.ROOT, " %,d / %,d / %,d |", r.okTimeline()[i], r.errorTimeline()[i], cum[k]));
            }
            md.append('\n');
        }
        md.append('\n');
    }

    private static void stormRow(StringBuilder md, String label, List<Storm.Result> rounds, Function<Storm.Result, String> cell) {
        md.append("| ").append(label).append(" |");
        rounds.forEach(r -> md.append(' ').append(cell.apply(r).replace("|", "\\|")).append(" |"));
        md.append('\n');
    }

    static double takeoverMicros(Storm.Result r) {
        return 1e6 * Math.max(0, r.redisCpuStorm() - r.redisCpuSteadyPerRequest() * r.stormRequests()) / r.sessions();
    }

    private static void paper(StringBuilder md, Grow.Result g, List<Storm.Result> storm) {
        Grow.Level big = g.levels().get(g.levels().size() - 1);
        // A write that also refreshes the record's TTL (once per touch interval per session) adds EXPIRE and the
        // expiry index's ZADD; the plain write cost is taken from the size whose writes did that least.
        Grow.Level plain = big;
        for (Grow.Level l : g.levels()) {
            if (refreshShare(l.write()) < refreshShare(plain.write()) - 0.01) {
                plain = l;
            }
        }
        double w = plain.write().redisCpuUsPerReq();
        double inside = plain.write().commands().entrySet().stream().filter(e -> e.getKey().startsWith("eval"))
                .mapToDouble(e -> e.getValue().usec()).sum() / Math.max(1, plain.write().wrk().requests());
        // A touch: what a read-only request costs Redis when it is its session's first in a touch interval.
        Grow.Load touchRun = null;
        for (Grow.Level l : g.levels()) {
            if (calls(l.read(), "evalsha") >= 100 && (touchRun == null || calls(l.read(), "evalsha") > calls(touchRun, "evalsha"))) {
                touchRun = l.read();
            }
        }
        double t = touchRun == null ? Double.NaN : touchRun.redisCpuUsPerReq() * touchRun.wrk().requests() / calls(touchRun, "evalsha");
        // Without touches in a read-only run (its sessions were all used within the last minute), the refresh's cost
        // from the writes: the write that refreshed most often against the plain one.
        Grow.Level refreshing = plain;
        for (Grow.Level l : g.levels()) {
            if (refreshShare(l.write()) > refreshShare(refreshing.write())) {
                refreshing = l;
            }
        }
        double refreshDiff = refreshShare(refreshing.write()) - refreshShare(plain.write());
        double tFromWrites = refreshDiff < 0.1 ? Double.NaN
                : (refreshing.write().redisCpuUsPerReq() - w) / refreshDiff;
        if (touchRun == null && !Double.isNaN(tFromWrites)) {
            t = tFromWrites;
        }
        boolean haveT = !Double.isNaN(t);
        md.append("## 3. On paper: what one Redis core and a 3-master Cluster carry\n\n");
        md.append("Tether gives Redis two kinds of work: **per request that changes a session**, one script (`save.lua`); and"
                + " **per session in use, once per touch interval** (`touchIntervalSeconds`, 60 s), keeping its record alive: a"
                + " touch (script + `ZADD` of the expiry index) if the session was only read in that minute, or `EXPIRE` inside"
                + " the write plus that `ZADD` if it was written. A read-only request costs Redis nothing else.\n\n");
        md.append("| from part 1 | measured |\n|---|---|\n");
        for (Grow.Level l : g.levels()) {
            md.append(String.format(Locale.ROOT, "| write-every-request at %,d sessions | %.1f µs of Redis CPU per request; %.0f %% of the writes also"
                    + " refreshed the TTL |\n", l.sessions(), l.write().redisCpuUsPerReq(), 100 * refreshShare(l.write())));
        }
        md.append(String.format(Locale.ROOT, "| **w**, a write without TTL refresh (at %,d sessions) | **%.1f µs** of Redis CPU (%.1f µs of it inside the"
                + " script; the rest is reading the request and writing the answer) |\n", plain.sessions(), w, inside));
        if (touchRun != null) {
            md.append(String.format(Locale.ROOT, "| **t**, a touch (from the read-only run with the most touches: %,d touches in %,d requests) |"
                    + " **%.0f µs** of Redis CPU |\n", (long) calls(touchRun, "evalsha"), touchRun.wrk().requests(), t));
        } else if (haveT) {
            md.append(String.format(Locale.ROOT, "| **t**, a TTL refresh (no read-only run had touches: every session had been used within the"
                    + " minute; from the writes instead: (%.1f − %.1f µs) / (%.0f %% − %.0f %% of the writes refreshing)) | **%.0f µs** of"
                    + " Redis CPU |\n", refreshing.write().redisCpuUsPerReq(), w, 100 * refreshShare(refreshing.write()),
                    100 * refreshShare(plain.write()), t));
        }
        md.append('\n');
        md.append("Redis CPU per second ≈ W × w + A / 60 × t, for W changing requests per second and A sessions in use within a"
                + " minute. What that allows:\n\n");
        md.append("| load | Redis CPU | one core, at 100 % | one core, planned at 50 % | 3-master Cluster, at 50 % |\n");
        md.append("|---|---:|---:|---:|---:|\n");
        capacity(md, "requests that change the session (w)", w);
        capacity(md, "mix 80/20 (0.2 × w)", 0.2 * w);
        if (haveT) {
            md.append(String.format(Locale.ROOT, "| sessions in use (t / 60 per session per second) | %.2f µs per session per second |"
                    + " %,.0f sessions | %,.0f sessions | %,.0f sessions |\n", t / 60, 60e6 / t, 30e6 / t, 90e6 / t));
        }
        md.append("\n50 % leaves room for what the averages hide: a failover storm (below), persistence (`fork` for RDB/AOF"
                + " rewrite), replication to replicas. The Cluster column is arithmetic, not measured:"
                + " each session's keys share one hash slot (`{<base id>}`), so its script runs on one master and the writes spread"
                + " over the masters with the sessions; the 16 expiry buckets spread too; a user's index is in another slot, written"
                + " only at login and about once per TTL. A client talking to three masters pays for its redirections and for"
                + " uneven slots, so expect somewhat less than 3×. Both terms need the load at the same time: e.g. 20,000 changing"
                + " requests/s and 1,000,000 sessions in use cost ");
        md.append(String.format(Locale.ROOT, "%.2f cores%s.\n\n", (20_000 * w + (haveT ? 1e6 / 60 * t : 0)) / 1e6,
                haveT ? "" : " (without the refreshes: neither the reads nor the writes had enough of them to measure)"));
        if (storm != null && !storm.isEmpty()) {
            StringBuilder each = new StringBuilder();
            double worst = 0;
            for (Storm.Result round : storm) {
                each.append(each.length() > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.0f µs in round %d", takeoverMicros(round),
                        round.round()));
                worst = Math.max(worst, takeoverMicros(round));
            }
            md.append(String.format(Locale.ROOT, "A take-over (part 2) cost Redis %s of CPU per moved user: a node holding N sessions that"
                    + " dies costs Redis up to N × %.0f µs, e.g. %.1f s of one core for 100,000 sessions, spread over the time its"
                    + " users take to come back.\n\n", each, worst, 100_000 * worst / 1e6));
        }
        double perSession = (double) (big.redisUsed() - g.redis0()) / big.sessions();
        md.append("### When to move to Cluster\n\n");
        md.append(String.format(Locale.ROOT, "- **CPU:** when W × %.1f µs + A / 60 × %.0f µs approaches half a second per second: e.g."
                + " **%,.0f changing requests per second** with few sessions, or **%,.0f sessions in use** with few writes, or"
                + " an 80/20 mix of **%,.0f requests per second** over 500,000 sessions in use. Read-only requests beyond the first"
                + " of each session in a minute cost Redis nothing.\n", w, t, 0.5e6 / w, 30e6 / t,
                haveT ? Math.max(0, 0.5e6 - 500_000 / 60.0 * t) / (0.2 * w) : 0.5e6 / (0.2 * w)));
        md.append(String.format(Locale.ROOT, "- **Memory:** %,.0f B per session (this session shape, logged in) is %.1f GiB per million"
                + " sessions; when the sessions alive within one max-inactive period (plus 4 touch intervals, Tether's TTL) no"
                + " longer fit one machine's memory with room for a fork, spread them over masters.\n", perSession,
                perSession * 1e6 / 1073741824.0));
        md.append(String.format(Locale.ROOT, "- Before Cluster, two cheaper steps: a Redis on cores of its own (here it shared 2 cores with"
                + " Tomcat and the load generator, so its µs per request are, if anything, higher than on a dedicated host), and"
                + " Redis's `io-threads`, which take the network I/O (here %.1f of the %.1f µs of a write) off the main thread; the"
                + " script itself (%.1f µs) stays on the one main thread, so it bounds one master at about %,.0f writes/s"
                + " (not measured here).\n", Math.max(0, w - inside), w, inside, 1e6 / Math.max(0.1, inside)));
    }

    /** Share of a run's requests whose write also refreshed the TTL (the expiry index's ZADD goes with it). */
    private static double refreshShare(Grow.Load x) {
        return calls(x, "zadd") / Math.max(1, x.wrk().requests());
    }

    private static double calls(Grow.Load x, String command) {
        RedisCost.Command c = x.commands().get(command);
        return c == null ? 0 : c.calls();
    }

    private static void capacity(StringBuilder md, String label, double us) {
        md.append(String.format(Locale.ROOT, "| %s | %.2f µs | %,.0f req/s | %,.0f req/s | %,.0f req/s |\n", label, us, 1e6 / us,
                0.5e6 / us, 3 * 0.5e6 / us));
    }

    private static void row(StringBuilder md, String k, String v) {
        md.append("| ").append(k).append(" | ").append(v.replace("|", "\\|").replace("\n", " ")).append(" |\n");
    }

    private static double mib(double bytes) {
        return bytes / 1048576.0;
    }

    private static double ms(long us) {
        return us / 1000.0;
    }

}
