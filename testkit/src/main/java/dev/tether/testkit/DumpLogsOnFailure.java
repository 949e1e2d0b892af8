package dev.tether.testkit;

import java.util.List;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A JUnit 5 extension that prints the end of every node's log when a test, or the set-up before
 * it, fails: register it with {@code @ExtendWith(DumpLogsOnFailure.class)} on a test class that
 * implements {@link WithNodes}.
 */
public final class DumpLogsOnFailure implements TestWatcher, LifecycleMethodExecutionExceptionHandler {

    /** A test class whose nodes' logs are worth reading when it fails. */
    public interface WithNodes {
        /** The nodes; entries not created yet may be null. */
        List<? extends ServerNode> nodes();
    }

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
                .filter(WithNodes.class::isInstance)
                .map(WithNodes.class::cast)
                .ifPresent(t -> System.out.println(ServerNode.dump(context.getRequiredTestClass().getSimpleName() + ": " + why, t.nodes())));
    }
}
