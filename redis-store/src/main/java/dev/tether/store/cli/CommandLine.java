package dev.tether.store.cli;

import dev.tether.store.redis.RedisConnection;
import dev.tether.store.redis.RedisTopology;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * Tether's operator tool, in every shipped jar:
 * {@code java -jar tether-tomcat-<version>.jar <command> <redis-uri> [options]}. It reads the
 * sessions of every node from Redis (summary, list, show) and invalidates them there, which every
 * node honours at once. Errors are one line and an exit code; stack traces only with
 * {@code --verbose}.
 */
public final class CommandLine {

    static final int OK = 0;
    static final int NOTHING_FOUND = 1;
    static final int USAGE = 2;
    static final int REDIS_FAILED = 3;
    static final int FAILED = 4;

    static final String HELP = """
            Tether's operator tool: the sessions of every node, read from Redis; invalidation everywhere.

            usage: java -jar tether-tomcat-<version>.jar <command> <redis-uri> [options]
                   (or tether-jetty-<version>.jar from the Jetty module's lib/tether/)

            commands:
              summary                    per application and owner route: sessions, bytes, age, TTL
              list                       sessions: redacted id, owner, created, last access, bytes, user
              show <id>                  one session: metadata, attribute names, classes and sizes;
                                         values are never shown, nothing is deserialized
              invalidate <id>            delete one session; every node drops its copy at once
              invalidate --user <name>   delete every session of a user (the per-user index)

            <redis-uri> is the nodes' redisUri: redis://[user:password@]host:port[/db], rediss://...,
              redis-sentinel://host:port,host:port[/db]#master, redis-cluster://host:port,host:port
            <id> is a session id as the cookie has it (base or base.route).

            options:
              --prefix <p>     applications whose key prefix starts with <p> (default tether:, which
                               covers every default prefix tether:<container>:<host><path>:)
              --limit <n>      list: at most n sessions (default 100)
              --rate <n>       let Redis examine at most n keys a second (default 10000; 0: no cap)
              --dry-run        invalidate: name what would be invalidated, change nothing
              --json           machine-readable output on stdout
              --progress       the progress line on stderr even when it is not a terminal
              --timeout <ms>   connect and command timeout (default 5000)
              --verbose        stack traces, and the Redis client's own log
              --help

            exit codes: 0 done, 1 the session or user named was not found, 2 usage error,
                        3 Redis unreachable or refused, 4 other failure
            """;

    /** A mistake on the command line: said in one line, with exit code 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /** What the command line asks for. */
    record Invocation(String command, String uri, String id, String user, String prefix, int limit, long rate, Duration timeout,
            boolean json, boolean progress, boolean verbose, boolean dryRun) {
    }

    private CommandLine() {
    }

    public static void main(String[] args) {
        dev.tether.store.redis.SharedResources.quietFlightRecorder(); // seconds of start-up for one command
        boolean verbose = List.of(args).contains("--verbose");
        // Lettuce and Netty log through java.util.logging; their lines are noise for an operator.
        LogManager.getLogManager().reset();
        Logger.getLogger("").setLevel(verbose ? Level.INFO : Level.OFF);
        if (verbose) {
            Logger.getLogger("").addHandler(new java.util.logging.ConsoleHandler());
        }
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command line; returns its exit code. Results go to {@code out}, errors and progress to {@code err}. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Invocation inv;
        try {
            inv = parse(args);
        } catch (UsageException e) {
            err.println("tether: " + e.getMessage() + " (--help for usage)");
            return USAGE;
        }
        if (inv == null) {
            out.print(HELP);
            return OK;
        }
        String where;
        try {
            where = RedisTopology.parse(inv.uri(), inv.timeout()).describe(); // never the password
        } catch (IllegalArgumentException e) {
            err.println("tether: " + e.getMessage());
            return trace(err, inv, e, USAGE);
        }
        try (Keyspace redis = new Keyspace(inv.uri(), inv.timeout(), inv.rate())) {
            Commands commands = new Commands(redis, inv.prefix(), Progress.on(err, inv.progress()), inv.dryRun());
            Commands.Result result = switch (inv.command()) {
                case "summary" -> commands.summary();
                case "list" -> commands.list(inv.limit());
                case "show" -> commands.show(inv.id());
                default -> inv.user() != null ? commands.invalidateUser(inv.user()) : commands.invalidate(inv.id());
            };
            out.print(inv.json() ? Json.write(result.json()) + "\n" : result.text());
            out.flush();
            return result.exitCode();
        } catch (UsageException e) {
            err.println("tether: " + e.getMessage());
            return USAGE;
        } catch (RedisException e) {
            err.println("tether: " + redisProblem(e, where, inv.timeout()));
            return trace(err, inv, e, REDIS_FAILED);
        } catch (RuntimeException e) {
            err.println("tether: failed: " + RedisConnection.describe(e));
            return trace(err, inv, e, FAILED);
        }
    }

    private static int trace(PrintStream err, Invocation inv, Throwable e, int code) {
        if (inv.verbose()) {
            e.printStackTrace(err);
        }
        return code;
    }

    /**
     * What went wrong with Redis, in one line. Lettuce wraps the reason (an error reply such as
     * NOPERM or WRONGPASS, a refused connection) in its own words: the innermost cause says it.
     */
    private static String redisProblem(RedisException e, String where, Duration timeout) {
        Throwable root = e;
        boolean refused = e instanceof RedisCommandExecutionException;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
            refused |= root instanceof RedisCommandExecutionException;
        }
        String reason = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        if (refused) {
            return "Redis at " + where + " refused: " + reason;
        }
        if (e instanceof RedisCommandTimeoutException) {
            return "Redis at " + where + " did not answer within " + timeout.toMillis() + " ms (--timeout)";
        }
        if (e instanceof RedisConnectionException) {
            return "cannot reach Redis at " + where + ": " + reason;
        }
        return "Redis at " + where + ": " + RedisConnection.describe(e);
    }

    /** @return the invocation, or {@code null} when help was asked for */
    static Invocation parse(String[] args) {
        List<String> positional = new ArrayList<>();
        String user = null;
        String prefix = "tether:";
        int limit = 100;
        long rate = 10_000;
        long timeout = 5000;
        boolean json = false;
        boolean progress = false;
        boolean verbose = false;
        boolean dryRun = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--help", "-h", "help" -> {
                    return null;
                }
                case "--json" -> json = true;
                case "--progress" -> progress = true;
                case "--verbose" -> verbose = true;
                case "--dry-run" -> dryRun = true;
                case "--user" -> user = value(args, ++i, a);
                case "--prefix" -> prefix = value(args, ++i, a);
                case "--limit" -> limit = (int) number(value(args, ++i, a), a, 1, Integer.MAX_VALUE);
                case "--rate" -> rate = number(value(args, ++i, a), a, 0, Long.MAX_VALUE);
                case "--timeout" -> timeout = number(value(args, ++i, a), a, 1, 600_000);
                default -> {
                    if (a.startsWith("--")) {
                        throw new UsageException("unknown option " + a);
                    }
                    positional.add(a);
                }
            }
        }
        if (positional.isEmpty()) {
            return null;
        }
        String command = positional.get(0);
        int operands = switch (command) {
            case "summary", "list" -> 0;
            case "show" -> 1;
            case "invalidate" -> user == null ? 1 : 0;
            default -> throw new UsageException("unknown command '" + command + "'");
        };
        if (user != null && !command.equals("invalidate")) {
            throw new UsageException("--user goes with invalidate");
        }
        if (dryRun && !command.equals("invalidate")) {
            throw new UsageException("--dry-run goes with invalidate");
        }
        if (positional.size() < 2) {
            throw new UsageException(command + " needs a Redis URI");
        }
        if (positional.size() != 2 + operands) {
            throw new UsageException(operands == 1 ? command + " needs one session id beside the Redis URI"
                    : "unexpected argument after the Redis URI");
        }
        if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
            throw new UsageException("a key prefix holds no '{' or '}'");
        }
        // The URI and the id may come in either order: the URI is the one with a scheme.
        int uri = operands == 1 && !positional.get(1).contains("://") ? 2 : 1;
        return new Invocation(command, positional.get(uri), operands == 1 ? positional.get(3 - uri) : null, user, prefix, limit,
                rate, Duration.ofMillis(timeout), json, progress, verbose, dryRun);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new UsageException(option + " needs a value");
        }
        return args[i];
    }

    private static long number(String text, String option, long min, long max) {
        try {
            long n = Long.parseLong(text);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new UsageException(option + " takes a number from " + min + " to " + max);
    }
}
