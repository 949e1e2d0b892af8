package dev.tether.bench.scale;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The scale measurement's command line (run-scale.sh passes the paths; the rest has defaults). */
final class ScaleOptions {

    Path tomcatHome;
    Path tetherJar;
    Path war;
    Path lua;
    Path haproxyCfg;
    String wrk = "wrk";
    String haproxy = "haproxy";
    Path out;
    Path work;
    /** Session counts of part 1, ascending; the node holds each in turn (cumulative). */
    List<Integer> levels = List.of(1_000, 10_000, 100_000);
    /** Part 2: sessions on the node that is killed, and on the survivor. */
    int stormSessions = 10_000;
    int stormOthers = 2_000;
    /** Part 2: client connections through the balancer. */
    int stormClients = 16;
    /** Seconds of each measured wrk run, and of its discarded warm-up. */
    int duration = 10;
    int warmup = 4;
    int wrkThreads = 2;
    int wrkConnections = 8;
    boolean grow = true;
    boolean storm = true;
    String jvmOptsGrow = "-Xms2g -Xmx2g -XX:+UseG1GC";
    String jvmOptsStorm = "-Xms1g -Xmx1g -XX:+UseG1GC";

    static ScaleOptions parse(String[] args) {
        ScaleOptions o = new ScaleOptions();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (!a.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("expected --name=value: " + a);
            }
            String k = a.substring(2, eq);
            String v = a.substring(eq + 1);
            switch (k) {
                case "tomcat-home" -> o.tomcatHome = Path.of(v);
                case "tether-jar" -> o.tetherJar = Path.of(v);
                case "war" -> o.war = Path.of(v);
                case "lua" -> o.lua = Path.of(v);
                case "haproxy-cfg" -> o.haproxyCfg = Path.of(v);
                case "wrk" -> o.wrk = v;
                case "haproxy" -> o.haproxy = v;
                case "out" -> o.out = Path.of(v);
                case "work" -> o.work = Path.of(v);
                case "levels" -> {
                    List<Integer> l = new ArrayList<>();
                    for (String s : v.split(",")) {
                        l.add(Integer.parseInt(s.trim()));
                    }
                    l.sort(null);
                    o.levels = List.copyOf(l);
                }
                case "storm-sessions" -> o.stormSessions = Integer.parseInt(v);
                case "storm-others" -> o.stormOthers = Integer.parseInt(v);
                case "storm-clients" -> o.stormClients = Integer.parseInt(v);
                case "duration" -> o.duration = Integer.parseInt(v);
                case "warmup" -> o.warmup = Integer.parseInt(v);
                case "parts" -> {
                    o.grow = v.contains("grow");
                    o.storm = v.contains("storm");
                }
                case "jvm-opts-grow" -> o.jvmOptsGrow = v;
                case "jvm-opts-storm" -> o.jvmOptsStorm = v;
                default -> throw new IllegalArgumentException("unknown option --" + k);
            }
        }
        for (Object required : new Object[] {o.tomcatHome, o.tetherJar, o.war, o.lua, o.out, o.work}) {
            if (required == null) {
                throw new IllegalArgumentException("--tomcat-home, --tether-jar, --war, --lua, --out and --work are required");
            }
        }
        if (o.storm && o.haproxyCfg == null) {
            throw new IllegalArgumentException("--haproxy-cfg is required for the storm");
        }
        return o;
    }

    int maxLevel() {
        return levels.get(levels.size() - 1);
    }
}
