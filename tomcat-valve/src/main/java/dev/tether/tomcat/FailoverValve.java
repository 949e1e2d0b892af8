package dev.tether.tomcat;

import dev.tether.store.SessionId;
import dev.tether.store.TrackedSession;
import java.io.IOException;
import jakarta.servlet.ServletException;
import org.apache.catalina.Session;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;

/**
 * Runs first in the context's pipeline. Before the application: if the request carries another
 * node's route, take the session over and re-suffix its id to this node's route the way Tomcat's
 * JvmRouteBinderValve does (listeners fire, a new cookie goes out, encodeURL uses the new id).
 * After the application: write what the request changed, before the response completes.
 */
final class FailoverValve extends ValveBase {

    /** Request attribute holding the id the client sent, when this node re-suffixed it. */
    static final String ORIGINAL_ID_ATTRIBUTE = "dev.tether.originalSessionId";

    private final RedisSessionManager manager;

    FailoverValve(RedisSessionManager manager) {
        super(true);
        this.manager = manager;
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        TrackedSession started = null;
        try {
            String requested = request.getRequestedSessionId();
            if (requested != null && manager.store() != null) {
                Session session = manager.findSession(requested);
                if (session instanceof TomcatSession rs && rs.tracked() != null) {
                    rebind(request, requested, rs);
                    started = rs.tracked();
                    started.requestStarted();
                }
            }
            getNext().invoke(request, response);
        } finally {
            try {
                afterRequest(request, started);
            } finally {
                manager.endRequest();
            }
        }
    }

    /** Gives the session this node's route, once, however many requests race for it. */
    private void rebind(Request request, String requested, TomcatSession session) {
        String local = manager.localRoute();
        if (local == null || hasRoute(requested, local)) {
            return; // the usual case: already this node's id
        }
        SessionId asked = SessionId.parse(requested);
        if (local == null || asked == null || local.equals(asked.route())) {
            return;
        }
        String wanted = asked.withRoute(local);
        synchronized (session) {
            if (!wanted.equals(session.getIdInternal())) {
                String oldId = session.getIdInternal();
                manager.changeSessionId(session, wanted);
                Object formNote = session.getNote(Constants.SESSION_ID_NOTE);
                if (oldId.equals(formNote)) {
                    session.setNote(Constants.SESSION_ID_NOTE, wanted);
                }
            }
        }
        // Every request that still shows the old route gets the new cookie, not just the first.
        request.changeSessionId(wanted);
        request.setAttribute(ORIGINAL_ID_ATTRIBUTE, requested);
    }

    private static boolean hasRoute(String id, String route) {
        int dot = id.length() - route.length() - 1;
        return dot > 0 && id.charAt(dot) == '.' && id.endsWith(route);
    }

    private void afterRequest(Request request, TrackedSession started) {
        if (manager.store() == null) {
            return;
        }
        Session session = request.getSessionInternal(false);
        TrackedSession used = session instanceof TomcatSession rs ? rs.tracked() : null;
        if (started != null && started != used) {
            manager.store().commit(started); // ends its request count; it was replaced or invalidated
        }
        if (used != null && !used.isDropped()) {
            manager.store().await(manager.store().commit(used));
        }
    }
}
