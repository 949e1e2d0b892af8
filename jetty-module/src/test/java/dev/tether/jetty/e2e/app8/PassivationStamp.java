package dev.tether.jetty.e2e.app8;

import javax.servlet.http.HttpSessionActivationListener;
import javax.servlet.http.HttpSessionEvent;
import java.io.Serializable;

/**
 * A session attribute whose listener writes to the session as the session is passivated: Jetty
 * passivates a session before each store, and once more as the node stops. It counts the
 * passivations in the attribute {@code passivations}, so that a test can see whether the last one,
 * at the stop, reached Redis.
 */
public class PassivationStamp implements HttpSessionActivationListener, Serializable {

    private static final long serialVersionUID = 1L;

    @Override
    public void sessionWillPassivate(HttpSessionEvent se) {
        Object n = se.getSession().getAttribute("passivations");
        se.getSession().setAttribute("passivations", n == null ? 1 : (Integer) n + 1);
    }

    @Override
    public String toString() {
        return "stamp";
    }
}
