package dev.tether.bench.harness;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process's CPU time from Linux /proc, summed over its threads: user and kernel time, the part
 * spent by the JIT compiler threads and by GC threads (by thread name), and context switches.
 * Threads that ended between two snapshots drop out of the sums, which for a server's long-lived
 * threads does not matter.
 */
record ProcStat(double userSeconds, double systemSeconds, double jitSeconds, double gcSeconds, long contextSwitches) {

    /** USER_HZ: /proc reports times in clock ticks, 100 per second on Linux. */
    private static final double TICKS = 100.0;

    static ProcStat of(long pid) {
        double user = 0;
        double sys = 0;
        double jit = 0;
        double gc = 0;
        long ctx = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", String.valueOf(pid), "task"))) {
            for (Path t : tasks) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    // after "pid (comm) ": f[0] is field 3 (state), so utime (14) is f[11], stime (15) f[12]
                    double u = Long.parseLong(f[11]) / TICKS;
                    double s = Long.parseLong(f[12]) / TICKS;
                    user += u;
                    sys += s;
                    if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler")) {
                        jit += u + s;
                    } else if (comm.startsWith("GC Thread") || comm.startsWith("G1 ") || comm.startsWith("VM Thread")) {
                        gc += u + s;
                    }
                    for (String l : Files.readAllLines(t.resolve("status"))) {
                        if (l.startsWith("voluntary_ctxt_switches:") || l.startsWith("nonvoluntary_ctxt_switches:")) {
                            ctx += Long.parseLong(l.substring(l.indexOf(':') + 1).trim());
                        }
                    }
                } catch (IOException | RuntimeException threadGone) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException | RuntimeException e) {
            return new ProcStat(Double.NaN, Double.NaN, Double.NaN, Double.NaN, -1);
        }
        return new ProcStat(user, sys, jit, gc, ctx);
    }

    ProcStat minus(ProcStat b) {
        return new ProcStat(userSeconds - b.userSeconds, systemSeconds - b.systemSeconds, jitSeconds - b.jitSeconds,
                gcSeconds - b.gcSeconds, contextSwitches < 0 || b.contextSwitches < 0 ? -1 : contextSwitches - b.contextSwitches);
    }

    ProcStat plus(ProcStat o) {
        return new ProcStat(userSeconds + o.userSeconds, systemSeconds + o.systemSeconds, jitSeconds + o.jitSeconds,
                gcSeconds + o.gcSeconds, contextSwitches < 0 || o.contextSwitches < 0 ? -1 : contextSwitches + o.contextSwitches);
    }

    double total() {
        return userSeconds + systemSeconds;
    }
}
