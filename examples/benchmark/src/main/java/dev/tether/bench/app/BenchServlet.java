package dev.tether.bench.app;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The benchmark application: one servlet, mapped to {@code /b/*} in {@code web.xml}, the same WAR
 * on every variant. Every session has the same shape: {@code payload}, a 1 KiB String of its own
 * (never shared between sessions, so in-memory stores pay for it too), and {@code counter}, an
 * Integer.
 *
 * <ul>
 *   <li>{@code /b/create}: a new session with that shape; answers its id. With {@code ?shape=page}, a session of
 *       the page workload's shape instead ({@link PageSession}, rendered by {@code page.jsp}); also answers its
 *       serialized size.</li>
 *   <li>{@code /b/read}: reads both attributes, writes nothing.</li>
 *   <li>{@code /b/write}: reads both, {@code setAttribute("counter", counter + 1)}; the payload stays.</li>
 *   <li>{@code /b/heap}: heap in use after {@code System.gc()} (creates no session).</li>
 *   <li>{@code /b/ping}: readiness (creates no session).</li>
 * </ul>
 * On the floor variants, each write also makes one Redis round trip ({@link RoundTripFloor}).
 * A read or write without a valid session answers 410 or 500, which the load generator counts as
 * errors: a variant that loses sessions cannot look fast.
 */
public class BenchServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    static final int PAYLOAD_CHARS = 1024;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String op = req.getPathInfo() == null ? "" : req.getPathInfo();
        switch (op) {
            case "/read" -> access(req, resp, false);
            case "/write" -> access(req, resp, true);
            case "/create" -> create(req, resp);
            case "/heap" -> heap(resp);
            case "/ping" -> text(resp, 200, "pong\n");
            default -> text(resp, 404, "unknown operation " + op + "\n");
        }
    }

    private static void create(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        HttpSession session = req.getSession(true);
        if ("page".equals(req.getParameter("shape"))) {
            PageSession.fill(session);
            text(resp, 200, "id=" + session.getId() + "\nbytes=" + PageSession.serializedBytes(session) + "\n");
            return;
        }
        session.setAttribute("payload", payload());
        session.setAttribute("counter", Integer.valueOf(0));
        text(resp, 200, "id=" + session.getId() + "\n");
    }

    private static void access(HttpServletRequest req, HttpServletResponse resp, boolean write) throws IOException {
        HttpSession session = req.getSession(false);
        if (session == null) {
            text(resp, 410, "no session\n");
            return;
        }
        Object payload = session.getAttribute("payload");
        Object counter = session.getAttribute("counter");
        if (!(payload instanceof String p) || p.length() != PAYLOAD_CHARS || !(counter instanceof Integer c)) {
            text(resp, 500, "session " + session.getId() + " lost its attributes\n");
            return;
        }
        int value = c;
        if (write) {
            value++;
            session.setAttribute("counter", Integer.valueOf(value));
            RoundTripFloor floor = RoundTripFloor.CONFIGURED;
            if (floor != null) {
                floor.set("bench:floor:" + session.getId(), value);
            }
        }
        text(resp, 200, "counter=" + value + "\n");
    }

    private static void heap(HttpServletResponse resp) throws IOException {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        // Several full collections, keeping the lowest figure: what stays is what is reachable.
        for (int i = 0; i < 4; i++) {
            System.gc();
            try {
                Thread.sleep(150);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        text(resp, 200, "heapUsed=" + used + "\n");
    }

    /** 1 KiB of printable ASCII, a new String for every session (also the scale measurement's sessions). */
    static String payload() {
        char[] chars = new char[PAYLOAD_CHARS];
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < chars.length; i++) {
            chars[i] = (char) ('a' + random.nextInt(26));
        }
        return new String(chars);
    }

    private static void text(HttpServletResponse resp, int status, String body) throws IOException {
        resp.setStatus(status);
        resp.setContentType("text/plain;charset=UTF-8");
        resp.setContentLength(body.length());
        resp.getWriter().write(body);
    }
}
