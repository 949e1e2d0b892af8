package dev.tether.bench.scale;

import dev.tether.testkit.RedisProcess;
import java.util.LinkedHashMap;
import java.util.Map;

/** What Redis spent, from INFO: CPU seconds and, per command, calls and microseconds inside the command. */
final class RedisCost {

    /** One command's INFO commandstats line: calls and total µs spent executing it (Lua scripts' inner calls included). */
    record Command(long calls, long usec) {
        double usecPerCall() {
            return calls == 0 ? 0 : (double) usec / calls;
        }
    }

    /** A snapshot: redis-server's CPU (user + sys, seconds) and commandstats since the last CONFIG RESETSTAT. */
    record Snapshot(double cpuUser, double cpuSys, Map<String, Command> commands, long nanoTime) {
        double cpu() {
            return cpuUser + cpuSys;
        }
    }

    private RedisCost() {
    }

    static Snapshot snapshot(RedisProcess redis) {
        Map<String, String> cpu = redis.info("cpu");
        Map<String, Command> commands = new LinkedHashMap<>();
        redis.info("commandstats").forEach((stat, values) -> {
            long calls = 0;
            long usec = 0;
            for (String kv : values.split(",")) {
                if (kv.startsWith("calls=")) {
                    calls = Long.parseLong(kv.substring(6));
                } else if (kv.startsWith("usec=")) {
                    usec = Long.parseLong(kv.substring(5));
                }
            }
            commands.put(stat.replaceFirst("^cmdstat_", ""), new Command(calls, usec));
        });
        return new Snapshot(Double.parseDouble(cpu.get("used_cpu_user")), Double.parseDouble(cpu.get("used_cpu_sys")), commands,
                System.nanoTime());
    }

    /** Commands of the session store between two snapshots (without the harness's INFO/CONFIG), by name. */
    static Map<String, Command> delta(Snapshot a, Snapshot b) {
        Map<String, Command> out = new LinkedHashMap<>();
        b.commands().forEach((name, after) -> {
            if (name.equals("info") || name.startsWith("config")) {
                return;
            }
            Command before = a.commands().getOrDefault(name, new Command(0, 0));
            if (after.calls() > before.calls()) {
                out.put(name, new Command(after.calls() - before.calls(), after.usec() - before.usec()));
            }
        });
        return out;
    }

    static long usedMemory(RedisProcess redis) {
        return Long.parseLong(redis.info("memory").get("used_memory"));
    }

    /** "evalsha 1.00 × 21 µs, ..." for a report cell. */
    static String describe(Map<String, Command> commands, long requests) {
        StringBuilder sb = new StringBuilder();
        commands.forEach((name, c) -> {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(String.format(java.util.Locale.ROOT, "%s %.3f/req × %.1f µs", name, requests == 0 ? 0.0 : (double) c.calls() / requests,
                    c.usecPerCall()));
        });
        return sb.length() == 0 ? "none" : sb.toString();
    }
}
