package dev.tether.example.balancer;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.channels.UnresolvedAddressException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.ee10.proxy.BalancerServlet;

/**
 * Jetty's {@link BalancerServlet} with {@code stickySessions=true}, plus failover.
 *
 * <p>{@code BalancerServlet} routes a request to the member named by the route suffix of its
 * session id ({@code JSESSIONID} cookie, else {@code ;jsessionid=} in the path), and round-robin
 * when there is none. It has no notion of a member being down: a request for a dead member's
 * session ends in 502 Bad Gateway, for ever. This class adds what httpd's mod_proxy_balancer and
 * HAProxy ({@code option redispatch}) do:
 *
 * <ul>
 *   <li>A member whose connection is refused (or cannot be reached) is marked DOWN, and the request
 *       is sent again, at once, to another member. Nothing had reached the dead member, so
 *       sending it again is safe, also for a POST (request bodies up to 1 MiB are kept for that).</li>
 *   <li>While a member is DOWN, requests routed to it go straight to another member, chosen by the
 *       session id so that all requests of one session land on the same node. That node takes the
 *       session over from Redis and sends a cookie with its own suffix; from then on the session is
 *       sticky to it.</li>
 *   <li>A health check (a TCP connect to every member, every second) notices a member that comes
 *       back, or one that died while nobody was sending it anything.</li>
 *   <li>Each state change is logged once; routing decisions are not logged.</li>
 * </ul>
 *
 * <p>It also answers {@value #STATUS_PATH} itself (members, state, requests served), and adds
 * {@value #MEMBER_HEADER} to every response so that a client can see which member served it.
 */
public class FailoverBalancerServlet extends BalancerServlet {

    private static final long serialVersionUID = 1L;

    static final String STATUS_PATH = "/balancer-status";
    static final String MEMBER_HEADER = "X-Tether-Balancer-Member";
    private static final String MEMBER_ATTRIBUTE = FailoverBalancerServlet.class.getName() + ".member";
    private static final String TRIED_ATTRIBUTE = FailoverBalancerServlet.class.getName() + ".tried";
    private static final String BODY_ATTRIBUTE = FailoverBalancerServlet.class.getName() + ".body";
    /** Request bodies up to this size are held so that the request can be sent to another member. */
    private static final int MAX_REPLAY_BODY = 1024 * 1024;

    private final List<Member> members;
    private final long checkIntervalMillis;
    private final AtomicLong roundRobin = new AtomicLong();
    private transient ScheduledExecutorService healthCheck;

    FailoverBalancerServlet(List<Member> members, long checkIntervalMillis) {
        this.members = List.copyOf(members);
        this.checkIntervalMillis = checkIntervalMillis;
    }

    @Override
    public void init() throws ServletException {
        super.init();
        // Jetty's client waits 15 s for a connect by default: a member that does not answer
        // should cost a user much less before the request goes elsewhere.
        getHttpClient().setConnectTimeout(Math.max(500, Math.min(2000, checkIntervalMillis * 2)));
        if (checkIntervalMillis > 0) {
            healthCheck = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "balancer-health-check");
                t.setDaemon(true);
                return t;
            });
            healthCheck.scheduleWithFixedDelay(this::checkMembers, checkIntervalMillis, checkIntervalMillis,
                    TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void destroy() {
        if (healthCheck != null) {
            healthCheck.shutdownNow();
        }
        super.destroy();
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws ServletException, IOException {
        if (STATUS_PATH.equals(request.getRequestURI())) {
            writeStatus(response);
            return;
        }
        super.service(request, response);
    }

    // ------------------------------------------------------------------------------ routing

    /**
     * Lets {@code BalancerServlet} choose (sticky on the route suffix, else round-robin), then
     * replaces a member that is DOWN with a live one.
     */
    @Override
    protected String rewriteTarget(HttpServletRequest request) {
        String target = super.rewriteTarget(request);
        Member chosen = target == null ? null : memberOf(URI.create(target));
        if (chosen == null) {
            return target;
        }
        Set<Member> tried = new LinkedHashSet<>();
        // Without a health check nothing would ever notice a DOWN member coming back: try it anyway
        // (a refused connection costs little, and the request then goes elsewhere).
        if (!chosen.isUp() && healthCheck != null) {
            Member other = alternative(request, Set.of(chosen));
            if (other != null) {
                chosen = other;
                target = targetFor(other, request);
            }
        }
        tried.add(chosen);
        request.setAttribute(MEMBER_ATTRIBUTE, chosen);
        request.setAttribute(TRIED_ATTRIBUTE, tried);
        return target;
    }

    private Member memberOf(URI target) {
        for (Member m : members) {
            if (m.matches(target)) {
                return m;
            }
        }
        return null;
    }

    /** The same target URI BalancerServlet builds, for another member. */
    private static String targetFor(Member member, HttpServletRequest request) {
        String path = request.getRequestURI();
        String query = request.getQueryString();
        if (query != null) {
            path += "?" + query;
        }
        return URI.create(member.proxyTo() + "/" + path).normalize().toString();
    }

    /**
     * A live member other than {@code excluded}: chosen by the session id when the request has
     * one, so that parallel requests of one session all go to the same node; else round-robin.
     */
    private Member alternative(HttpServletRequest request, Set<Member> excluded) {
        List<Member> live = new ArrayList<>();
        for (Member m : members) {
            if (m.isUp() && !excluded.contains(m)) {
                live.add(m);
            }
        }
        if (live.isEmpty()) {
            return null;
        }
        String base = sessionBase(request);
        long pick = base != null ? base.hashCode() : roundRobin.getAndIncrement();
        return live.get((int) Math.floorMod(pick, (long) live.size()));
    }

    /** The session id without its route suffix, from the cookie or the path parameter. */
    private static String sessionBase(HttpServletRequest request) {
        String id = null;
        Cookie[] cookies = request.getCookies();
        if (cookies != null) {
            for (Cookie c : cookies) {
                if ("jsessionid".equalsIgnoreCase(c.getName())) {
                    id = c.getValue();
                    break;
                }
            }
        }
        if (id == null) {
            String uri = request.getRequestURI();
            int i = uri.lastIndexOf(";jsessionid=");
            if (i >= 0) {
                id = uri.substring(i + ";jsessionid=".length());
            }
        }
        if (id == null || id.isEmpty()) {
            return null;
        }
        int dot = id.indexOf('.');
        return dot < 0 ? id : id.substring(0, dot);
    }

    // ------------------------------------------------------------------------------ request bodies

    @Override
    protected Request.Content proxyRequestContent(HttpServletRequest request, HttpServletResponse response,
            Request proxyRequest) throws IOException {
        long length = request.getContentLengthLong();
        if (length >= 0 && length <= MAX_REPLAY_BODY) {
            byte[] body = request.getInputStream().readNBytes((int) length);
            request.setAttribute(BODY_ATTRIBUTE, body);
            return new BytesRequestContent(request.getContentType(), body);
        }
        return super.proxyRequestContent(request, response, proxyRequest);
    }

    /** Whether the request can be sent again: no body, or a body we kept. */
    private boolean replayable(HttpServletRequest request) {
        return !hasContent(request) || request.getAttribute(BODY_ATTRIBUTE) != null && !expects100Continue(request);
    }

    private void resend(HttpServletRequest request, HttpServletResponse response, Member to) {
        Request proxyRequest = newProxyRequest(request, targetFor(to, request));
        copyRequestHeaders(request, proxyRequest);
        addProxyHeaders(request, proxyRequest);
        proxyRequest.timeout(getTimeout(), TimeUnit.MILLISECONDS);
        byte[] body = (byte[]) request.getAttribute(BODY_ATTRIBUTE);
        if (body != null) {
            proxyRequest.body(new BytesRequestContent(request.getContentType(), body));
        }
        sendProxyRequest(request, response, proxyRequest);
    }

    // ------------------------------------------------------------------------------ responses

    @Override
    protected Response.Listener newProxyResponseListener(HttpServletRequest request, HttpServletResponse response) {
        return new FailoverResponseListener(request, response);
    }

    private final class FailoverResponseListener extends ProxyResponseListener {
        private final HttpServletRequest request;
        private final HttpServletResponse response;

        FailoverResponseListener(HttpServletRequest request, HttpServletResponse response) {
            super(request, response);
            this.request = request;
            this.response = response;
        }

        @Override
        public void onBegin(Response proxyResponse) {
            Member member = (Member) request.getAttribute(MEMBER_ATTRIBUTE);
            if (member != null) {
                member.countServed();
                if (member.markUp()) {
                    Main.log(member.name() + " answers again: it is UP");
                }
                response.setHeader(MEMBER_HEADER, member.name());
            }
            super.onBegin(proxyResponse);
        }

        @Override
        public void onComplete(Result result) {
            Member member = (Member) request.getAttribute(MEMBER_ATTRIBUTE);
            if (result.isFailed() && member != null && unreachable(result.getFailure()) && !response.isCommitted()) {
                if (member.markDown(reason(result.getFailure()))) {
                    logDown(member);
                }
                @SuppressWarnings("unchecked")
                Set<Member> tried = (Set<Member>) request.getAttribute(TRIED_ATTRIBUTE);
                Member next = replayable(request) ? alternative(request, tried) : null;
                if (next != null) {
                    tried.add(next);
                    request.setAttribute(MEMBER_ATTRIBUTE, next);
                    resend(request, response, next);
                    return;
                }
            }
            super.onComplete(result);
        }
    }

    /** Failures that mean nothing reached the member: connection refused, unreachable, connect timeout. */
    static boolean unreachable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ConnectException || t instanceof NoRouteToHostException
                    || t instanceof UnresolvedAddressException
                    || t instanceof SocketTimeoutException && String.valueOf(t.getMessage()).contains("Connect")) {
                return true;
            }
        }
        return false;
    }

    private static String reason(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                return t.getMessage();
            }
        }
        return failure.getClass().getSimpleName();
    }

    private void logDown(Member member) {
        List<String> live = new ArrayList<>();
        for (Member m : members) {
            if (m.isUp()) {
                live.add(m.name());
            }
        }
        Main.log(member.name() + " is DOWN (" + member.downReason() + "); "
                + (live.isEmpty() ? "no member is left to take its users"
                        : "requests for its sessions now go to " + String.join(", ", live)));
    }

    // ------------------------------------------------------------------------------ health check

    private void checkMembers() {
        for (Member m : members) {
            String failure = null;
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(m.host(), m.port()), (int) Math.max(200, Math.min(1000, checkIntervalMillis)));
            } catch (IOException | RuntimeException e) {
                failure = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            }
            if (failure == null) {
                if (m.markUp()) {
                    Main.log(m.name() + " accepts connections again: it is UP");
                }
            } else if (m.markDown(failure)) {
                logDown(m);
            }
        }
    }

    private void writeStatus(HttpServletResponse response) throws IOException {
        response.setContentType("text/plain;charset=UTF-8");
        response.setHeader("Cache-Control", "no-store");
        PrintWriter out = response.getWriter();
        out.println("Tether example balancer (Jetty BalancerServlet, stickySessions=true, with failover)");
        out.println("routes on the JSESSIONID route suffix (cookie, else ;jsessionid=); health check every "
                + checkIntervalMillis + " ms");
        for (Member m : members) {
            out.println(m.status());
        }
    }
}
