package dev.tether.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The CI smoke test of the benchmark: {@code run.sh --smoke} (1 s runs, every variant, real Tomcat
 * and Jetty, its own Redis) must produce the report with every row. No assertion on any number's
 * size: the numbers of a smoke run mean nothing.
 */
class BenchmarkSmokeIT {

    private static final String[] WORKLOADS = {"read-only", "write-every-request", "mix 80/20"};

    @Test
    void runShSmokeProducesEveryRow() throws Exception {
        boolean hasWrk = java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, "wrk")));
        if (!hasWrk) {
            System.out.println("SKIPPED: benchmark smoke: wrk is not installed (apt-get install wrk); bash .ci/run installs it");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(hasWrk, "wrk is not installed (apt-get install wrk)");
        Path bench = Path.of(System.getProperty("bench.dir", ".")).toAbsolutePath().normalize();
        Path root = bench.resolve("../..").normalize();
        Path out = Path.of(System.getProperty("bench.smoke.out", bench.resolve("target/smoke-results").toString()));
        Path work = Path.of(System.getProperty("bench.smoke.work", bench.resolve("target/smoke-run").toString()));
        Files.createDirectories(work);
        for (String f : List.of("results.md", "results.json", "results.csv", "throughput.svg", "profile.md")) {
            Files.deleteIfExists(out.resolve(f));
        }
        List<String> cmd = new ArrayList<>(List.of("bash", bench.resolve("run.sh").toString(), "--smoke", "--out", out.toString(),
                "--work", work.toString()));
        boolean tetherBuilt = Files.isRegularFile(root.resolve("tomcat-valve/target/tether-tomcat-1.0.0.jar"))
                && Files.isRegularFile(root.resolve("jetty-module/target/tether-jetty-module-1.0.0.tar.gz"))
                && Files.isRegularFile(root.resolve("testkit/target/tether-testkit-1.0.0.jar"));
        if (tetherBuilt) {
            cmd.add("--skip-build"); // built by this reactor; bench.war and the harness by this module's package phase
        }
        Path log = work.resolve("smoke.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        // Without --skip-build run.sh builds the Tether artifacts; this module is built already.
        pb.environment().put("BENCH_SKIP_SELF_BUILD", "1");
        Process p = pb.start();
        boolean ended = p.waitFor(15, TimeUnit.MINUTES);
        if (!ended) {
            p.destroy(); // SIGTERM: the harness's shutdown hook kills the servers and Redis it started
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        String output = Files.readString(log);
        System.out.println(output);
        if (!ended) {
            fail("run.sh --smoke did not finish within 15 minutes");
        }
        assertEquals(0, p.exitValue(), "run.sh --smoke failed; its output is above");

        String md = Files.readString(out.resolve("results.md"));
        String throughput = section(md, "## Throughput and latency");
        for (String w : WORKLOADS) {
            row(throughput, "Tomcat", "in-memory", w);
            row(throughput, "Tomcat", "Tether", w);
            row(throughput, "Tomcat", "Redisson [^|]+", w);
            row(throughput, "Jetty", "in-memory", w);
            row(throughput, "Jetty", "Tether", w);
            row(throughput, "Tomcat", "floor: in-memory \\+ 1 Lettuce round trip", w);
            row(throughput, "Tomcat", "floor: in-memory \\+ 1 blocking-socket round trip", w);
        }
        String floor = section(md, "## The floor");
        for (String w : WORKLOADS) {
            assertTrue(Pattern.compile("(?m)^\\| " + Pattern.quote(w) + " \\| [0-9.]+× \\| [0-9.]+× \\| [0-9.]+× \\|").matcher(floor).find(),
                    "no floor row for " + w + " in:\n" + floor);
        }
        String tvr = section(md, "## Tether vs Redisson (Tomcat)");
        for (String w : WORKLOADS) {
            assertTrue(Pattern.compile("(?m)^\\| " + Pattern.quote(w) + " \\| [0-9]+ \\| [0-9]+ \\|").matcher(tvr).find(),
                    "no Tether vs Redisson row for " + w + " in:\n" + tvr);
        }
        String failover = section(md, "## Failover takeover");
        assertRow(failover, "^\\| Tomcat [^|]+ \\| Tether \\| [0-9]+ \\| [0-9.]+ \\|");
        assertRow(failover, "^\\| Tomcat [^|]+ \\| Redisson [^|]+ \\| [0-9]+ \\| [0-9.]+ \\|");
        String memory = section(md, "## Memory per 10,000 sessions");
        for (String server : List.of("Tomcat", "Jetty")) {
            assertRow(memory, "^\\| " + server + " [^|]+ \\| in-memory \\| -?[0-9.]+ \\|");
            assertRow(memory, "^\\| " + server + " [^|]+ \\| Tether \\| -?[0-9.]+ \\|");
        }
        assertRow(memory, "^\\| Tomcat [^|]+ \\| Redisson [^|]+ \\| -?[0-9.]+ \\|");
        assertTrue(section(md, "## Targets").contains("| Tomcat: Tether ≥ 10 × Redisson"), "no targets table");
        assertTrue(section(md, "## Machine").contains("| nproc |"), "no machine description");

        String svg = Files.readString(out.resolve("throughput.svg"));
        assertTrue(svg.startsWith("<svg") && svg.contains("</svg>") && svg.contains("<rect"), "no plot in throughput.svg");
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(22, csv.size(), "results.csv: a header and 21 runs, got:\n" + String.join("\n", csv));
        assertTrue(Files.readString(out.resolve("results.json")).contains("\"runs\""), "results.json has no runs");

        // The CPU breakdown (async-profiler attached to the real servers): made, unless run.sh could not fetch the profiler.
        String profile = Files.readString(out.resolve("profile.md"));
        String breakdown = section(profile, "## CPU per write request, side by side");
        if (breakdown.contains("Not made: async-profiler's jar was not available")) {
            System.out.println("SKIPPED: CPU breakdown: async-profiler could not be fetched from Maven Central");
        } else {
            assertRow(breakdown, "^\\| Java: Tether \\(store \\+ adapter\\) \\| [0-9.]+ \\| [0-9.]+ \\|");
            assertRow(breakdown, "^\\| \\*\\*total\\*\\* \\| \\*\\*[0-9.]+\\*\\* \\| \\*\\*[0-9.]+\\*\\* \\|");
            assertTrue(breakdown.contains("what Tether adds to a write request (Tether − in-memory)"), breakdown);
        }
    }

    private static void row(String section, String server, String variant, String workload) {
        assertRow(section, "^\\| " + server + " [^|]+ \\| " + variant + " \\| " + Pattern.quote(workload) + " \\| [0-9]+ \\| ");
    }

    private static void assertRow(String section, String regex) {
        assertTrue(Pattern.compile("(?m)" + regex).matcher(section).find(), "no row matching " + regex + " in:\n" + section);
    }

    private static String section(String md, String heading) throws IOException {
        int i = md.indexOf("\n" + heading);
        if (i < 0) {
            fail("results.md has no section " + heading + ":\n" + md);
        }
        int end = md.indexOf("\n## ", i + 1);
        return md.substring(i, end < 0 ? md.length() : end);
    }
}
