package dev.tether.jetty;

import dev.tether.store.WriteOutcome;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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
 */
public class RefusalHandler extends Handler.Wrapper {

    static final String RETRY_AFTER_SECONDS = "1";

    /** Whether a handler is running in this JVM, so that a refusal recorded on a thread is answered. */
    private static volatile boolean running;
    /** The refusals of the request this thread handles now (set while the application runs). */
    private static final ThreadLocal<Refusal> CURRENT = new ThreadLocal<>();
    /** A refusal at a store right before this thread sends a response's headers (outside the handling of its request). */
    private static final ThreadLocal<WriteOutcome> AT_SEND = new ThreadLocal<>();

    @Override
    protected void doStart() throws Exception {
        running = true;
        super.doStart();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        AT_SEND.remove();
        Refusal refusal = new Refusal();
        request.addHttpStreamWrapper(stream -> new RefusingStream(stream, refusal));
        CURRENT.set(refusal);
        try {
            return super.handle(request, response, callback);
        } finally {
            CURRENT.remove();
        }
    }

    /**
     * Records that the current request's session change was not stored, for its response to become
     * a 503.
     *
     * @param atSend the store runs right before the response's headers go out (Jetty's flush on
     *     response commit), possibly outside the handling of the request (an asynchronous one)
     * @return whether the refusal is answered here, and whether it is the request's first (a
     *     request is counted once); {@link Answer#NOT_HERE} when no handler runs or the request is
     *     not known on this thread: then the caller fails the request itself
     */
    static Answer record(WriteOutcome outcome, boolean atSend) {
        Refusal r = CURRENT.get();
        if (r != null) {
            return r.refuse(outcome) ? Answer.FIRST : Answer.AGAIN;
        }
        if (atSend && running) {
            boolean first = AT_SEND.get() == null;
            AT_SEND.set(outcome);
            return first ? Answer.FIRST : Answer.AGAIN;
        }
        return Answer.NOT_HERE;
    }

    /** What became of a recorded refusal. */
    enum Answer {
        /** The request's first refusal: its response becomes a 503. */
        FIRST,
        /** The request is refused already. */
        AGAIN,
        /** Nothing here answers it. */
        NOT_HERE
    }

    /** The refusals of one request; the first one is what its 503 names. */
    private static final class Refusal {
        private volatile WriteOutcome outcome;

        synchronized boolean refuse(WriteOutcome o) {
            if (outcome != null) {
                return false;
            }
            outcome = o;
            return true;
        }

        WriteOutcome take() {
            WriteOutcome o = outcome;
            WriteOutcome late = AT_SEND.get();
            AT_SEND.remove();
            return o != null ? o : late;
        }
    }

    /** Sends a 503 instead of the response when the request's change was refused; the rest of the application's response is dropped. */
    private static final class RefusingStream extends HttpStream.Wrapper {
        private final Refusal refusal;
        private boolean replaced;

        RefusingStream(HttpStream wrapped, Refusal refusal) {
            super(wrapped);
            this.refusal = refusal;
        }

        @Override
        public void send(MetaData.Request request, MetaData.Response response, boolean last, ByteBuffer content, Callback callback) {
            if (response != null) {
                WriteOutcome refused = refusal.take();
                if (refused != null) {
                    replaced = true;
                    byte[] body = ("Service unavailable: the session change was not stored (" + refused + "). Please retry.\n")
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
            super.send(request, response, last, content, callback);
        }
    }
}
