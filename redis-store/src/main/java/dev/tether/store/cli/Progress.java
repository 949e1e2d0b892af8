package dev.tether.store.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The progress line of a long scan: on stderr, rewritten in place with {@code \r}, at most five
 * times a second; only on a terminal (or when asked), so that logs and pipes stay clean. Never on
 * stdout, which may carry JSON.
 */
class Progress {

    /** Prints nothing. */
    static final Progress NONE = new Progress(null);

    private final PrintStream err;
    private long lastPrinted;
    private int width;

    private Progress(PrintStream err) {
        this.err = err;
    }

    /** A progress line on {@code err} when it is a terminal or {@code forced}. */
    static Progress on(PrintStream err, boolean forced) {
        return forced || stderrIsTerminal() ? new Progress(err) : NONE;
    }

    /**
     * Whether fd 2 is a terminal. Java 17 can only ask about stdin and stdout together
     * ({@code System.console()}); on Linux, /proc says where fd 2 goes.
     */
    private static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return System.console() != null;
        }
    }

    void scanned(int node, int nodes, long keys) {
        if (err == null) {
            return;
        }
        long now = System.currentTimeMillis();
        if (now - lastPrinted < 200) {
            return;
        }
        lastPrinted = now;
        String line = String.format("scanning%s: %,d keys read", nodes > 1 ? " node " + node + "/" + nodes : "", keys);
        err.print("\r" + line + " ".repeat(Math.max(0, width - line.length())));
        width = line.length();
        err.flush();
    }

    /** Clears the line before the result is printed. */
    void done() {
        if (err != null && width > 0) {
            err.print("\r" + " ".repeat(width) + "\r");
            err.flush();
            width = 0;
        }
    }
}
