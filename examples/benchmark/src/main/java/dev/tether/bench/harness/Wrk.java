package dev.tether.bench.harness;

import dev.tether.testkit.Http;
import dev.tether.testkit.Processes;
import dev.tether.testkit.ServerNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs wrk with sessions.lua for a fixed time and parses the BENCH_JSON line its done() prints. */
final class Wrk {

    record Result(long requests, double seconds, double rps, double meanMs, double maxMs, double p50Ms, double p90Ms,
            double p99Ms, double p999Ms, long errConnect, long errRead, long errWrite, long errStatus, long errTimeout, long bytes) {
        long errors() {
            return errConnect + errRead + errWrite + errStatus + errTimeout;
        }

        /** Response bytes (headers and body) per request, as wrk read them. */
        double bytesPerRequest() {
            return requests == 0 ? Double.NaN : (double) bytes / requests;
        }

        /** Requests, time and errors summed over the rounds; throughput and latencies their medians; max the max. */
        static Result median(List<Result> rounds) {
            long requests = rounds.stream().mapToLong(Result::requests).sum();
            double seconds = rounds.stream().mapToDouble(Result::seconds).sum();
            return new Result(requests, seconds, med(rounds, Result::rps), med(rounds, Result::meanMs),
                    rounds.stream().mapToDouble(Result::maxMs).max().orElse(Double.NaN), med(rounds, Result::p50Ms),
                    med(rounds, Result::p90Ms), med(rounds, Result::p99Ms), med(rounds, Result::p999Ms),
                    rounds.stream().mapToLong(Result::errConnect).sum(), rounds.stream().mapToLong(Result::errRead).sum(),
                    rounds.stream().mapToLong(Result::errWrite).sum(), rounds.stream().mapToLong(Result::errStatus).sum(),
                    rounds.stream().mapToLong(Result::errTimeout).sum(), rounds.stream().mapToLong(Result::bytes).sum());
        }

        private static double med(List<Result> rounds, java.util.function.ToDoubleFunction<Result> f) {
            return Stats.percentile(rounds.stream().map(x -> f.applyAsDouble(x)).toList(), 50);
        }
    }

    private final Options o;

    Wrk(Options o) {
        this.o = o;
    }

    /** The command line, for the report (port and files as placeholders). */
    String describe(int durationSeconds) {
        return String.join(" ", cmd(0, Path.of("COOKIES"), "MODE", durationSeconds)).replace("127.0.0.1:0", "127.0.0.1:PORT")
                .replace(o.lua.toString(), "examples/benchmark/src/main/wrk/sessions.lua").replaceFirst("^\\S*/wrk ", "wrk ");
    }

    private List<String> cmd(int port, Path cookies, String mode, int seconds) {
        List<String> c = new ArrayList<>(List.of(o.wrk, "-t" + o.threads, "-c" + o.connections, "-d" + seconds + "s",
                "--timeout", "5s", "-s", o.lua.toString(), "http://127.0.0.1:" + port, "--", cookies.toString(), mode,
                Servers.CONTEXT, Http.SESSION_COOKIE, String.valueOf(o.threads)));
        return c;
    }

    Result run(ServerNode node, Path cookies, Workload w, int seconds, Path rawOut) throws IOException, InterruptedException {
        return run(node.port(), cookies, w, seconds, rawOut);
    }

    /** wrk against a port: a server's, or the balancer's in front of two. */
    Result run(int port, Path cookies, Workload w, int seconds, Path rawOut) throws IOException, InterruptedException {
        List<String> cmd = cmd(port, cookies, w.mode, seconds);
        Files.createDirectories(rawOut.getParent());
        Process p = Processes.start(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(rawOut.toFile()));
        if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS)) {
            Processes.kill9(p);
            throw new IllegalStateException("wrk did not end within " + (seconds + 60) + " s");
        }
        Processes.kill9(p);
        String out = Files.readString(rawOut);
        if (p.exitValue() != 0) {
            throw new IllegalStateException("wrk failed (exit " + p.exitValue() + "): " + String.join(" ", cmd) + "\n" + out);
        }
        String json = out.lines().filter(l -> l.startsWith("BENCH_JSON ")).findFirst()
                .orElseThrow(() -> new IllegalStateException("no BENCH_JSON line from wrk:\n" + out)).substring(11);
        Map<String, Object> m = Json.parseObject(json);
        long requests = num(m, "requests").longValue();
        double secs = num(m, "durationUs").doubleValue() / 1e6;
        return new Result(requests, secs, requests / secs, ms(m, "latMeanUs"), ms(m, "latMaxUs"), ms(m, "p50Us"), ms(m, "p90Us"),
                ms(m, "p99Us"), ms(m, "p999Us"), num(m, "errConnect").longValue(), num(m, "errRead").longValue(),
                num(m, "errWrite").longValue(), num(m, "errStatus").longValue(), num(m, "errTimeout").longValue(),
                num(m, "bytes").longValue());
    }

    private static Number num(Map<String, Object> m, String k) {
        Object v = m.get(k);
        if (!(v instanceof Number n)) {
            throw new IllegalStateException("wrk summary has no number " + k + ": " + m);
        }
        return n;
    }

    private static double ms(Map<String, Object> m, String k) {
        return num(m, k).doubleValue() / 1000.0;
    }
}
