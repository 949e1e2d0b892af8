package dev.tether.bench.scale;

import dev.tether.testkit.Processes;
import dev.tether.testkit.RedisProcess;
import java.nio.file.Files;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * The scale measurement (examples/benchmark/run-scale.sh; not part of the build's tests):
 * <ol>
 *   <li>{@link Grow}: one Tomcat 10.1 node with Tether grows to 100,000 sessions: heap and Redis
 *       memory per session, write and read cost as the sessions grow;</li>
 *   <li>{@link Storm}: two nodes behind HAProxy, the one holding 10,000 active sessions is killed
 *       under load: time until every user is served again, take-over latency, Redis CPU;</li>
 *   <li>{@link ScaleReport}: from the measured Redis cost per request, what one Redis core and a
 *       3-master Cluster carry.</li>
 * </ol>
 * Writes {@code scale.md} into {@code --out}.
 */
public final class Scale {

    /** What the report says about the run itself. */
    static final class Run {
        String started;
        String finished;
        String cpu;
        String memory;
        final List<String> load = new ArrayList<>();
        final List<String> busiest = new ArrayList<>();
        String redisVersion;
        String javaVersion;
        String wrkVersion;
        String steal;
        double wallSeconds;
        int createRetries;
    }

    private Scale() {
    }

    public static void main(String[] args) throws Exception {
        ScaleOptions o;
        try {
            o = ScaleOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("scale: " + e.getMessage());
            System.exit(2);
            return;
        }
        Files.createDirectories(o.out);
        Files.createDirectories(o.work);
        long t0 = System.nanoTime();
        Run run = new Run();
        run.started = now();
        run.cpu = Machine.cpu();
        run.memory = Machine.memory();
        run.javaVersion = System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version");
        run.wrkVersion = firstLine(o.wrk, "-v");
        run.load.add("at start: " + Machine.uptime());
        run.busiest.addAll(Machine.busiest());
        long[] j0 = Machine.jiffies();
        Grow.Result grow = null;
        List<Storm.Result> storm = null;
        try (RedisProcess redis = RedisProcess.start("--loglevel", "warning")) {
            run.redisVersion = redis.info("server").get("redis_version");
            log("redis-server %s on port %d (no persistence)", run.redisVersion, redis.port());
            if (o.grow) {
                grow = Grow.run(o, redis);
                run.load.add("after part 1: " + Machine.uptime());
            }
            if (o.storm) {
                storm = Storm.run(o, redis);
                run.load.add("after part 2: " + Machine.uptime());
            }
        }
        long[] j1 = Machine.jiffies();
        run.steal = String.format(java.util.Locale.ROOT, "%.1f %%", 100.0 * (j1[2] - j0[2]) / Math.max(1, j1[1] - j0[1]));
        run.finished = now();
        run.wallSeconds = (System.nanoTime() - t0) / 1e9;
        run.createRetries = SessionMaker.RETRIED.get();
        ScaleReport.write(o, run, grow, storm);
        log("done in %.0f s: %s", run.wallSeconds, o.out.resolve("scale.md"));
    }

    static void log(String format, Object... args) {
        System.out.println("[scale " + java.time.LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + "] " + String.format(java.util.Locale.ROOT, format, args));
        System.out.flush();
    }

    static String now() {
        return ZonedDateTime.now(java.time.ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    }

    private static String firstLine(String... cmd) {
        try {
            return Processes.run(null, Duration.ofSeconds(10), cmd).lines().findFirst().orElse("?").trim();
        } catch (IllegalStateException e) { // wrk -v exits 1 after printing its version
            String m = String.valueOf(e.getMessage());
            return m.contains("\n") ? m.substring(m.indexOf('\n') + 1).lines().findFirst().orElse("?").trim() : "?";
        } catch (Exception e) {
            return "?";
        }
    }
}
