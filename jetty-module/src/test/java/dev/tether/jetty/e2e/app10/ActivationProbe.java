package dev.tether.jetty.e2e.app10;

import jakarta.servlet.http.HttpSessionActivationListener;
import jakarta.servlet.http.HttpSessionEvent;
import java.io.Serializable;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A session attribute that counts activation events in this web application (ee10, jakarta). The
 * counters are static, so they belong to the web application's class loader in one JVM: node2's
 * counts say what happened on node2.
 */
public class ActivationProbe implements HttpSessionActivationListener, Serializable {

    private static final long serialVersionUID = 1L;
    static final AtomicInteger DID_ACTIVATE = new AtomicInteger();
    static final AtomicInteger WILL_PASSIVATE = new AtomicInteger();

    private final String createdOn;
    private transient String activatedOn;

    public ActivationProbe(String createdOn) {
        this.createdOn = createdOn;
    }

    @Override
    public void sessionDidActivate(HttpSessionEvent se) {
        activatedOn = SessionServlet.worker();
        DID_ACTIVATE.incrementAndGet();
    }

    @Override
    public void sessionWillPassivate(HttpSessionEvent se) {
        WILL_PASSIVATE.incrementAndGet();
    }

    @Override
    public String toString() {
        return "probe(createdOn=" + createdOn + ",activatedOn=" + activatedOn + ")";
    }
}
