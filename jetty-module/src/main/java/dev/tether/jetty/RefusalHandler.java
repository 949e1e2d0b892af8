package dev.tether.jetty;

import dev.tether.store.RedisSessionStore;
import dev.tether.store.TrackedSession;
import dev.tether.store.WriteOutcome;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Answers 503 with {@code Retry-After} for a request whose session change Redis did not take, in
 * place of whatever the application answered. Jetty stores a session as its response is being
 * sent (the status and headers are already fixed then), and an exception from the store there
 * breaks the connection instead of answering. So the store only records the refusal, and this
 * handler's stream, which sends the response headers right after Jetty's store, replaces the
 * response while nothing of it has gone out. Inserted in front of every context by the
 * {@code session-store-redis} module; without it the store falls back to failing the request.
 *
 * <p>The same stream also tells the core when each request is done with its sessions: as the last
 * of its response goes out. Jetty itself lets go of a session only when the last request using it
 * has finished sending, and until then the core would keep a stale copy for the user's next
 * request (another node's change unseen behind a balancer without affinity).
 */
public class RefusalHandler extends Handler.Wrapper {

    static final String RETRY_AFTER_SECONDS = "1";

    /** How many handlers run in this JVM: with none, a refusal outside a request's handling is not answered here. */
    private static final AtomicInteger RUNNING = new AtomicInteger();
    /** The request this thread handles now (set while the application runs). */
    private static final ThreadLocal<Exchange> CURRENT = new ThreadLocal<>();
    /** A refusal at a store right before this thread sends a response's headers (outside the handling of its request). */
    private static final ThreadLocal<Refused> AT_SEND = new ThreadLocal<>();

    @Override
    protected void doStart() throws Exception {
        RUNNING.incrementAndGet();
        super.doStart();
    }

    @Override
    protected void doStop() throws Exception {
        RUNNING.decrementAndGet();
        super.doStop();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        AT_SEND.remove();
        Exchange exchange = new Exchange(request);
        request.addHttpStreamWrapper(stream -> new RefusingStream(stream, exchange));
        CURRENT.set(exchange);
        try {
            return super.handle(request, response, callback);
        } finally {
            CURRENT.remove();
            exchange.handled = true;
        }
    }

    /**
     * Records that the current request's session change was not stored, for its response to become
     * a 503. Counted once per request when the response goes out: as refused (a 503), or as
     * acknowledged and not stored when the response had gone out before.
     *
     * @param atSend the store runs right before the response's headers go out (Jetty's flush on
     *     response commit), possibly outside the handling of the request (an asynchronous one)
     * @return whether the refusal is answered here; {@code false} when no handler runs or the
     *     request is not known on this thread: then the caller fails the request itself
     */
    static boolean record(RedisSessionStore store, WriteOutcome outcome, boolean atSend) {
        return record(store, outcome, atSend, null);
    }

    /**
     * As {@link #record(RedisSessionStore, WriteOutcome, boolean)}, for a change of {@code data}:
     * off the request's thread (an asynchronous request's own thread invalidating the session), the
     * asynchronous requests using that session now are refused (one of them made the change; a
     * request still in its handler runs on its own thread and did not).
     */
    static boolean record(RedisSessionStore store, WriteOutcome outcome, boolean atSend, JettySessionData data) {
        Exchange r = CURRENT.get();
        if (r != null) {
            r.refuse(store, outcome);
            return true;
        }
        boolean told = false;
        if (data != null) {
            for (Exchange using : data.exchanges) {
                if (using.handled) {
                    using.refuse(store, outcome);
                    told = true;
                }
            }
        }
        if (told) {
            return true;
        }
        if (atSend && RUNNING.get() > 0) {
            if (AT_SEND.get() == null) {
                AT_SEND.set(new Refused(store, outcome));
            }
            return true;
        }
        return false;
    }

    /** Whether this thread is handling a request now. */
    static boolean handling() {
        return CURRENT.get() != null;
    }

    /**
     * The request on this thread entered a session (the core counted it): it is counted out as
     * the last of its response goes out, before the client can have it. Without a handler, or
     * outside a request, the core counts requests out when the last one leaves.
     */
    static void entered(RedisSessionStore store, TrackedSession session, JettySessionData data) {
        Exchange r = CURRENT.get();
        if (r != null) {
            r.entered(store, session, data);
        }
    }

    /**
     * The route (workerName) with which the request on this thread names session {@code base}, in
     * cookie {@code cookieName} or in the URL's path parameter {@code parameterName}
     * ({@code ;jsessionid=}), or {@code null}: no such id, no route, or no request known on this
     * thread. Other ids (another path's cookie, a stale one) do not count.
     */
    static String requestedRoute(String cookieName, String parameterName, String base) {
        Exchange r = CURRENT.get();
        if (r == null) {
            return null;
        }
        if (cookieName != null) {
            for (org.eclipse.jetty.http.HttpCookie c : Request.getCookies(r.request)) {
                if (cookieName.equals(c.getName())) {
                    String route = routeOf(c.getValue(), base);
                    if (route != null) {
                        return route;
                    }
                }
            }
        }
        String params = parameterName == null ? null : r.request.getHttpURI().getParam();
        if (params != null) {
            for (String p : params.split(";")) {
                if (p.length() > parameterName.length() && p.startsWith(parameterName) && p.charAt(parameterName.length()) == '=') {
                    String route = routeOf(p.substring(parameterName.length() + 1), base);
                    if (route != null) {
                        return route;
                    }
                }
            }
        }
        return null;
    }

    /** The route of {@code id} if it names session {@code base}. */
    private static String routeOf(String id, String base) {
        dev.tether.store.SessionId parsed = dev.tether.store.SessionId.parse(id);
        return parsed != null && parsed.route() != null && parsed.base().equals(base) ? parsed.route() : null;
    }

    private record Refused(RedisSessionStore store, WriteOutcome outcome) {
    }

    private record Entered(RedisSessionStore store, TrackedSession session, JettySessionData data) {
    }

    /** One request's dealings with Tether: the sessions it entered, and its refusal (the first one is what its 503 names). */
    static final class Exchange {
        private final Request request;
        /** Its handler returned: what it still does runs on other threads (an asynchronous request). */
        volatile boolean handled;
        private Refused refused;
        private boolean settled;
        private List<Entered> entered;

        Exchange(Request request) {
            this.request = request;
        }

        synchronized void entered(RedisSessionStore store, TrackedSession session, JettySessionData data) {
            if (entered == null) {
                entered = new ArrayList<>(2);
            }
            entered.add(new Entered(store, session, data));
            data.exchanges.add(this);
        }

        /** The request is done with its sessions (the application's response is complete, or replaced): counted out, once. */
        void leave() {
            List<Entered> done;
            synchronized (this) {
                done = entered;
                entered = null;
            }
            if (done != null) {
                for (Entered e : done) {
                    e.data().exchanges.remove(this);
                    e.store().left(e.session());
                }
            }
        }

        synchronized void refuse(RedisSessionStore store, WriteOutcome outcome) {
            if (refused == null) {
                refused = new Refused(store, outcome);
            }
        }

        /** The refusal to answer as the response goes out, once; {@code null} if none. */
        synchronized Refused answer() {
            Refused late = AT_SEND.get();
            AT_SEND.remove();
            Refused r = refused != null ? refused : late;
            if (r == null || settled) {
                return null;
            }
            settled = true;
            r.store().refused(r.outcome(), false);
            return r;
        }

        /** The request ended: a refusal recorded after its response went out was acknowledged all the same. */
        synchronized void ended() {
            if (entered != null) {
                for (Entered e : entered) {
                    e.data().exchanges.remove(this); // its response failed before its end went out
                }
            }
            if (refused != null && !settled) {
                settled = true;
                refused.store().refused(refused.outcome(), true);
            }
        }
    }

    /** Sends a 503 instead of the response when the request's change was refused; the rest of the application's response is dropped. */
    private static final class RefusingStream extends HttpStream.Wrapper {
        private final Exchange exchange;
        private boolean replaced;

        RefusingStream(HttpStream wrapped, Exchange exchange) {
            super(wrapped);
            this.exchange = exchange;
        }

        @Override
        public void send(MetaData.Request request, MetaData.Response response, boolean last, ByteBuffer content, Callback callback) {
            if (response != null) {
                Refused refused = exchange.answer();
                if (refused != null) {
                    replaced = true;
                    exchange.leave();
                    byte[] body = ("Service unavailable: the session change was not stored (" + refused.outcome() + "). Please retry.\n")
                            .getBytes(StandardCharsets.UTF_8);
                    HttpFields.Mutable fields = HttpFields.build()
                            .put(HttpHeader.RETRY_AFTER, RETRY_AFTER_SECONDS)
                            .put(HttpHeader.CACHE_CONTROL, "no-store")
                            .put(HttpHeader.CONTENT_TYPE, "text/plain;charset=UTF-8")
                            .put(HttpHeader.CONTENT_LENGTH, Integer.toString(body.length));
                    MetaData.Response unavailable = new MetaData.Response(503, null, response.getHttpVersion(), fields, body.length);
                    super.send(request, unavailable, true, ByteBuffer.wrap(body), callback);
                    return;
                }
            }
            if (replaced) {
                callback.succeeded(); // the application's body of a response already replaced
                return;
            }
            if (last) {
                // Jetty stored the session at the response's commit, before this stream (its own
                // stream wrapper is outside this one); Jetty's release comes only after the send.
                exchange.leave();
            }
            super.send(request, response, last, content, callback);
        }

        @Override
        public void succeeded() {
            exchange.ended();
            super.succeeded();
        }

        @Override
        public void failed(Throwable x) {
            exchange.ended();
            super.failed(x);
        }
    }
}
