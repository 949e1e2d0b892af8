package dev.tether.store;

import dev.tether.store.cli.CommandLine;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** One run of the operator tool, in this JVM: its exit code, stdout and stderr. */
record CliRun(int exit, String out, String err) {

    static CliRun of(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = CommandLine.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        CliRun run = new CliRun(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.println("[cli] " + String.join(" ", args) + " -> " + exit + "\n" + run.out + run.err);
        return run;
    }

    /** Neither output holds the id in full: ids are credentials. */
    boolean mentions(String fullId) {
        return out.contains(fullId) || err.contains(fullId);
    }
}
