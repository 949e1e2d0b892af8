package dev.tether.tomcat.e2e;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestWatcher;

/** Prints the tail of every node's log when a test, or the cluster's start-up, fails. */
final class DumpLogsOnFailure implements TestWatcher, LifecycleMethodExecutionExceptionHandler {

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        dump(context, context.getDisplayName() + " failed: " + cause);
    }

    @Override
    public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        dump(context, "@BeforeAll failed: " + throwable);
        throw throwable;
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        dump(context, "@BeforeEach failed: " + throwable);
        throw throwable;
    }

    private static void dump(ExtensionContext context, String why) {
        context.getTestInstance()
                .filter(FailoverScenario.class::isInstance)
                .map(FailoverScenario.class::cast)
                .ifPresent(s -> s.dumpLogs(why));
        context.getTestInstance()
                .filter(DumpsLogs.class::isInstance)
                .map(DumpsLogs.class::cast)
                .ifPresent(s -> s.dumpLogs(why));
    }
}
