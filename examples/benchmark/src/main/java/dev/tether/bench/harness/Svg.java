package dev.tether.bench.harness;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The plot: throughput relative to in-memory, bars per workload and variant, grouped by server. */
final class Svg {

    private Svg() {
    }

    private static String color(Variant v) {
        return switch (v.impl) {
            case TETHER, TETHER_SHARED -> "#2b7bba";
            case TETHER_ASYNC -> "#5fa8d3";
            case REDISSON, REDISSON_REDIS -> "#d9534f";
            case MEMORY, FLOOR_LETTUCE, FLOOR_SOCKET -> "#999999";
        };
    }

    static String throughput(Options o, Results r) {
        record Group(Variant.Server server, Workload workload, List<Results.Run> runs) {
        }
        List<Group> groups = new ArrayList<>();
        double max = 1.0;
        int maxBars = 1;
        for (Variant.Server s : Variant.Server.values()) {
            for (Workload w : Workload.values()) {
                List<Results.Run> runs = new ArrayList<>();
                for (Variant v : Variant.values()) {
                    Results.Run run = r.run(v, w);
                    if (v.server == s && v.impl != Variant.Impl.MEMORY && !v.isFloor() && run != null && !Double.isNaN(Report.rpsRatio(r, run))) {
                        runs.add(run);
                        max = Math.max(max, Report.rpsRatio(r, run));
                    }
                }
                if (!runs.isEmpty()) {
                    groups.add(new Group(s, w, runs));
                    maxBars = Math.max(maxBars, runs.size());
                }
            }
        }
        double top = Math.ceil(max * 1.15 * 4) / 4.0;
        int left = 70;
        int right = 20;
        int plotTop = 60;
        int plotHeight = 300;
        int groupWidth = 130;
        int width = left + right + Math.max(1, groups.size()) * groupWidth;
        int height = plotTop + plotHeight + 80;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
                + " font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">%n", width, height, width, height));
        sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Throughput relative to"
                + " in-memory sessions on the same server (higher is better)</text>%n", left));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"40\" fill=\"#555\">%s; wrk %d threads, %d connections, %d s runs, %d"
                + " sessions; %s</text>%n", left, esc(r.machine.getOrDefault("CPU", "?") + ", " + r.machine.getOrDefault("nproc", "?")
                + " CPUs"), o.threads, o.connections, o.duration, o.sessions, esc(r.machine.getOrDefault("date", ""))));
        // axis and grid
        for (double t = 0; t <= top + 1e-9; t += top > 3 ? 1 : 0.25) {
            double y = plotTop + plotHeight - t / top * plotHeight;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>%n", left,
                    width - right, y, y));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%.2f</text>%n", left - 6,
                    y + 4, t));
        }
        double y1 = plotTop + plotHeight - 1.0 / top * plotHeight;
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-dasharray=\"6 4\"/>%n",
                left, width - right, y1, y1));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">in-memory = 1.00</text>%n",
                width - right - 4, y1 - 5));
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333\"/>%n", left, width - right,
                plotTop + plotHeight, plotTop + plotHeight));
        sb.append(String.format(Locale.ROOT, "<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">"
                + "req/s ÷ in-memory req/s</text>%n", plotTop + plotHeight / 2));
        double barWidth = (groupWidth * 0.7) / maxBars;
        for (int g = 0; g < groups.size(); g++) {
            Group grp = groups.get(g);
            double gx = left + g * groupWidth + groupWidth * 0.15 + (maxBars - grp.runs().size()) * barWidth / 2;
            for (int b = 0; b < grp.runs().size(); b++) {
                Results.Run run = grp.runs().get(b);
                double ratio = Report.rpsRatio(r, run);
                double h = ratio / top * plotHeight;
                double x = gx + b * barWidth;
                double y = plotTop + plotHeight - h;
                sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                        + "<title>%s %s %s: %.0f req/s, %.2f× in-memory</title></rect>%n", x + 2, y, barWidth - 4, h, color(run.variant()),
                        esc(grp.server().label), esc(Report.variantLabel(o, run.variant())), esc(grp.workload().label), run.wrk().rps(), ratio));
                sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">%.2f</text>%n",
                        x + barWidth / 2, y - 4, ratio));
            }
            double cx = left + g * groupWidth + groupWidth / 2.0;
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>%n", cx,
                    plotTop + plotHeight + 18, esc(grp.server().label)));
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", cx,
                    plotTop + plotHeight + 34, esc(grp.workload().label)));
        }
        // legend
        int lx = left;
        int ly = plotTop + plotHeight + 60;
        for (Variant v : List.of(Variant.TOMCAT_TETHER, Variant.TOMCAT_REDISSON)) {
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>%n", lx, ly - 10, color(v)));
            String label = v.impl == Variant.Impl.TETHER ? "Tether" : "Redisson " + o.redissonVersion
                    + " (readMode=MEMORY, updateMode=AFTER_REQUEST; Tomcat only)";
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", lx + 18, ly, esc(label)));
            lx += 100;
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
