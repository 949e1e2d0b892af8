package dev.tether.tomcat;

import dev.tether.store.RedisSessionStore;
import dev.tether.store.SessionId;
import dev.tether.store.TrackedSession;
import dev.tether.store.WriteOutcome;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.ServletException;
import java.io.IOException;
import org.apache.catalina.Session;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;

/**
 * Runs first in the context's pipeline.
 *
 * <p>Before the application: finds the request's session, current (read again from Redis if
 * another node changed it), and in sticky mode re-suffixes a session of another node's route to
 * this node's route the way Tomcat's JvmRouteBinderValve does (listeners fire, a new cookie goes
 * out, encodeURL uses the new id). If Redis cannot be asked, the request is refused with 503 rather
 * than served with a new, empty session.
 *
 * <p>After the application (for an asynchronous request: when it completes): writes what the
 * request changed, before the response goes out. A change that was not stored is never answered
 * with a 2xx: 503 with {@code Retry-After} while the response is open, else counted and logged.
 */
final class FailoverValve extends ValveBase {

    /** Request attribute holding the id the client sent, when this node re-suffixed it. */
    static final String ORIGINAL_ID_ATTRIBUTE = "dev.tether.originalSessionId";
    /** Request note: the commit of an asynchronous request waits for its completion. */
    private static final String PENDING_NOTE = "dev.tether.pendingCommit";
    private static final String RETRY_AFTER_SECONDS = "1";

    private final RedisSessionManager manager;

    FailoverValve(RedisSessionManager manager) {
        super(true);
        this.manager = manager;
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        if (request.getNote(PENDING_NOTE) != null || request.getDispatcherType() == DispatcherType.ASYNC) {
            getNext().invoke(request, response); // an async re-dispatch: the first pass did the work
            return;
        }
        TrackedSession started = null;
        boolean deferred = false;
        CrossContext cross = CrossContext.begin(manager);
        try {
            String requested = request.getRequestedSessionId();
            if (requested != null && manager.store() != null) {
                TomcatSession session;
                try {
                    session = manager.resolve(requested);
                } catch (RedisSessionStore.UnavailableException e) {
                    manager.store().unreadable();
                    unavailable(response, "the session could not be read: " + e.getMessage());
                    return;
                }
                if (session != null && session.tracked() != null) {
                    started = session.tracked(); // counted by resolve
                    if (!manager.store().options().shared()) {
                        rebind(request, requested, session);
                    }
                }
            }
            getNext().invoke(request, response);
            if (request.isAsync()) {
                // Another thread finishes the request: write when it completes, still before the
                // response goes out (Tomcat fires onComplete before it finishes the response).
                PendingCommit pending = new PendingCommit(request, response, started, cross);
                request.setNote(PENDING_NOTE, pending);
                request.getAsyncContextInternal().addListener(pending);
                deferred = true;
            }
        } finally {
            try {
                if (!deferred) {
                    afterRequest(request, response, started, false, cross);
                }
            } finally {
                if (cross != null) {
                    cross.leaveThread();
                }
                manager.endRequest();
            }
        }
    }

    /** Gives the session this node's route, once, however many requests race for it. */
    private void rebind(Request request, String requested, TomcatSession session) {
        String local = manager.localRoute();
        if (local == null || local.isEmpty() || hasRoute(requested, local)) {
            return; // the usual case: already this node's id
        }
        SessionId asked = SessionId.parse(requested);
        if (asked == null || local.equals(asked.route())) {
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

    private void afterRequest(Request request, Response response, TrackedSession started, boolean async, CrossContext cross) {
        WriteOutcome across = cross == null ? null : commitAcross(cross, async); // their counts end even if this store is gone
        RedisSessionStore store = manager.store();
        if (store == null) {
            // The application stopped while this request ran (a reload, an undeploy, the node's
            // shutdown past unloadDelay): what it changed in its session cannot be stored any more.
            if (request.getSessionInternal(false) instanceof TomcatSession && !response.isCommitted()) {
                manager.stoppedUnderARequest();
                unavailable(response, "the application stopped before the session could be stored");
            }
            return;
        }
        Session session = request.getSessionInternal(false);
        TomcatSession used = session instanceof TomcatSession ts ? ts : null;
        TrackedSession tracked = used == null ? null : used.tracked();
        if (started != null && started != tracked) {
            store.commit(started); // ends its request count; it was replaced or invalidated
        }
        WriteOutcome outcome = null;
        if (used != null) {
            outcome = used.takeIdChangeRefused();
            if (outcome != null) {
                used.drop(); // its new id never reached Redis: the next request reads the old record again
            }
        }
        if (outcome == null && tracked != null && !tracked.isDropped()) {
            outcome = store.await(store.commit(tracked));
        }
        WriteOutcome logout = started == null ? null : manager.takeUnstoredInvalidation(started, async);
        if (logout != null && (outcome == null || outcome.stored())) {
            outcome = logout; // a logout Redis did not take is not acknowledged
        }
        if (across != null && (outcome == null || outcome.stored())) {
            outcome = across; // a change in another application's session, not stored
        }
        WriteOutcome others = async ? null : RedisSessionManager.takeOtherUnstoredInvalidation();
        if (others != null && (outcome == null || outcome.stored())) {
            outcome = others; // another application's session this request ended (single sign-on), not in Redis
        }
        if (outcome != null && !outcome.stored()) {
            boolean committed = response.isCommitted();
            store.refused(outcome, committed);
            if (!committed) {
                unavailable(response, "the session change was not stored (" + outcome + ")");
            }
        }
    }

    /**
     * Writes the sessions of other applications the request reached through a cross-context
     * dispatch; the first outcome that is not stored, or {@code null}.
     */
    private static WriteOutcome commitAcross(CrossContext cross, boolean async) {
        WriteOutcome refused = cross.wasUnreadable() ? WriteOutcome.FAILED : null;
        for (TomcatSession other : cross.take()) {
            RedisSessionManager m = other.getManager() instanceof RedisSessionManager r ? r : null;
            RedisSessionStore s = m == null ? null : m.store();
            TrackedSession tracked = other.tracked();
            if (s == null || tracked == null) {
                continue;
            }
            WriteOutcome logout = m.takeUnstoredInvalidation(tracked, async);
            WriteOutcome o = logout;
            if (logout != null || tracked.isDropped() || !other.isValidInternal()) {
                s.commit(tracked); // ended (invalidated, or gone elsewhere): only its count ends
            } else {
                o = s.await(s.commit(tracked));
            }
            if (o != null && !o.stored() && refused == null) {
                refused = o;
            }
        }
        return refused;
    }

    /**
     * 503 with Retry-After, replacing whatever the application put in the (uncommitted) response:
     * its status, headers, cookies and buffered body. Not through the error page machinery: an error
     * page is application code that would run after this valve, its changes unwritten.
     */
    private static void unavailable(Response response, String why) {
        if (response.isCommitted() || response.isError()) {
            return;
        }
        try {
            response.reset();
            response.setSuspended(false);
            response.setStatus(503);
            response.setHeader("Retry-After", RETRY_AFTER_SECONDS);
            response.setHeader("Cache-Control", "no-store");
            response.setContentType("text/plain;charset=UTF-8");
            response.getWriter().write("Service unavailable: " + why + ". Please retry.\n");
        } catch (IOException | IllegalStateException e) {
            // the client went away, or the response was committed meanwhile: nothing more to do
        }
    }

    /** The commit of an asynchronous request, run when it completes. */
    private final class PendingCommit implements AsyncListener {
        private final Request request;
        private final Response response;
        private final TrackedSession started;
        private final CrossContext cross;
        private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();

        PendingCommit(Request request, Response response, TrackedSession started, CrossContext cross) {
            this.request = request;
            this.response = response;
            this.started = started;
            this.cross = cross;
        }

        @Override
        public void onComplete(AsyncEvent event) {
            if (done.compareAndSet(false, true)) {
                afterRequest(request, response, started, true, cross);
            }
        }

        @Override
        public void onStartAsync(AsyncEvent event) {
            event.getAsyncContext().addListener(this); // startAsync() again clears the listeners
        }

        @Override
        public void onTimeout(AsyncEvent event) {
        }

        @Override
        public void onError(AsyncEvent event) {
        }
    }
}
