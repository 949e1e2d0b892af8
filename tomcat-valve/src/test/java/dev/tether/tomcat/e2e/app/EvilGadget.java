package dev.tether.tomcat.e2e.app;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.nio.file.Files;

/**
 * A stand-in for a deserialization gadget: reading one has side effects (a counter, a marker file),
 * so a test can tell whether a node ever instantiated it. The hostile-input test's context refuses
 * it with {@code denyClasses="dev.tether.tomcat.e2e.app.Evil*"}; the test JVM only serializes it,
 * which runs none of this.
 */
public class EvilGadget implements Serializable {

    private static final long serialVersionUID = 1L;

    static {
        GadgetTrace.initialized = true;
    }

    private final String payload;

    public EvilGadget(String payload) {
        this.payload = payload;
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        GadgetTrace.READS.incrementAndGet();
        Files.writeString(GadgetTrace.marker(), "EvilGadget.readObject ran: " + payload);
    }

    @Override
    public String toString() {
        return "EvilGadget(" + payload + ")";
    }
}
