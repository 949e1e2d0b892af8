package dev.tether.tomcat.e2e.app;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What {@link EvilGadget} did in this web application (one class loader, so one per context and
 * node): whether its class was initialized, how often its {@code readObject} ran, and the marker
 * file it writes. Deliberately not named {@code Evil*}, so reading it never touches the gadget.
 */
public final class GadgetTrace {

    static final AtomicInteger READS = new AtomicInteger();
    static volatile boolean initialized;

    private GadgetTrace() {
    }

    /** The marker file of this class loader's gadget, in {@code java.io.tmpdir} (CATALINA_TMPDIR). */
    static Path marker() {
        return Path.of(System.getProperty("java.io.tmpdir"),
                "tether-evil-gadget-" + Integer.toHexString(System.identityHashCode(GadgetTrace.class.getClassLoader())) + ".marker");
    }
}
