package dev.tether.tomcat.e2e.app;

import jakarta.servlet.http.HttpSessionActivationListener;
import jakarta.servlet.http.HttpSessionEvent;
import java.io.Serializable;

/** A session attribute that counts, per node, how often its session was activated or passivated. */
public class ActivationProbe implements HttpSessionActivationListener, Serializable {

    private static final long serialVersionUID = 1L;

    private final String label;

    public ActivationProbe(String label) {
        this.label = label;
    }

    @Override
    public void sessionDidActivate(HttpSessionEvent se) {
        Counters.increment(Counters.ACTIVATIONS, se.getSession().getId());
    }

    @Override
    public void sessionWillPassivate(HttpSessionEvent se) {
        Counters.increment(Counters.PASSIVATIONS, se.getSession().getId());
    }

    @Override
    public String toString() {
        return "probe(" + label + ")";
    }
}
