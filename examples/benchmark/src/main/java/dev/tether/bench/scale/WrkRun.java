package dev.tether.bench.scale;

import dev.tether.testkit.Http;
import dev.tether.testkit.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One wrk run of the benchmark's sessions.lua (read or write, round-robin over a cookie file). */
final class WrkRun {

    record Result(long requests, double seconds, double p50Ms, double p99Ms, long errors) {
        double rps() {
            return requests / seconds;
        }
    }

    private WrkRun() {
    }

    static String describe(ScaleOptions o) {
        return "wrk -t" + o.wrkThreads + " -c" + o.wrkConnections + " -dDs --timeout 5s -s examples/benchmark/src/main/wrk/sessions.lua"
                + " http://127.0.0.1:PORT -- COOKIES MODE /bench JSESSIONID " + o.wrkThreads;
    }

    static Result run(ScaleOptions o, int port, Path cookies, String mode, int seconds, Path raw) throws Exception {
        List<String> cmd = List.of(o.wrk, "-t" + o.wrkThreads, "-c" + o.wrkConnections, "-d" + seconds + "s", "--timeout", "5s",
                "-s", o.lua.toString(), "http://127.0.0.1:" + port, "--", cookies.toString(), mode, ScaleNodes.CONTEXT,
                Http.SESSION_COOKIE, String.valueOf(o.wrkThreads));
        Files.createDirectories(raw.getParent());
        Process p = Processes.start(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(raw.toFile()));
        if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS)) {
            Processes.kill9(p);
            throw new IllegalStateException("wrk did not end");
        }
        String out = Files.readString(raw);
        if (p.exitValue() != 0) {
            throw new IllegalStateException("wrk failed: " + out);
        }
        String json = out.lines().filter(l -> l.startsWith("BENCH_JSON ")).findFirst()
                .orElseThrow(() -> new IllegalStateException("no BENCH_JSON from wrk: " + out));
        long errors = num(json, "errConnect") + num(json, "errRead") + num(json, "errWrite") + num(json, "errStatus")
                + num(json, "errTimeout");
        return new Result(num(json, "requests"), num(json, "durationUs") / 1e6, num(json, "p50Us") / 1e3, num(json, "p99Us") / 1e3,
                errors);
    }

    private static long num(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9.]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + key + " in " + json);
        }
        return (long) Double.parseDouble(m.group(1));
    }
}
