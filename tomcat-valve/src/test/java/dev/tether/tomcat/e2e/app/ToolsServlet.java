package dev.tether.tomcat.e2e.app;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.nio.file.Files;

/**
 * Endpoints of the reliability and hostile-input tests ({@code /t/*}), in the same
 * {@code key=value} format as {@link AppServlet}:
 * <ul>
 * <li>{@code /t/step?seq=N}: sets {@code seq=N} (String), {@code k<N%4>=vN} (String) and increments
 * {@code count} (Integer); answers the new {@code count}</li>
 * <li>{@code /t/big?big=&n=&small=&v=}: sets a String of {@code n} characters as {@code big} and
 * {@code v} as {@code small}, in one request</li>
 * <li>{@code /t/gadget}: whether {@link EvilGadget} ran in this context, and the heap in use</li>
 * </ul>
 */
public class ToolsServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.setContentType("text/plain;charset=UTF-8");
        StringBuilder out = new StringBuilder();
        line(out, "node", System.getProperty("tether.node"));
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        switch (path) {
            case "/step": {
                HttpSession s = req.getSession(true);
                long seq = Long.parseLong(req.getParameter("seq"));
                Integer count = (Integer) s.getAttribute("count");
                int next = count == null ? 1 : count + 1;
                s.setAttribute("count", next);
                s.setAttribute("seq", Long.toString(seq));
                s.setAttribute("k" + (seq % 4), "v" + seq);
                line(out, "id", s.getId());
                line(out, "count", next);
                break;
            }
            case "/big": {
                HttpSession s = req.getSession(true);
                int n = Integer.parseInt(req.getParameter("n"));
                s.setAttribute(req.getParameter("big"), "x".repeat(n));
                s.setAttribute(req.getParameter("small"), req.getParameter("v"));
                line(out, "id", s.getId());
                break;
            }
            case "/gadget": {
                Runtime rt = Runtime.getRuntime();
                if (req.getParameter("gc") != null) {
                    System.gc();
                }
                line(out, "gadgetReads", GadgetTrace.READS.get());
                line(out, "gadgetClassInitialized", GadgetTrace.initialized);
                line(out, "gadgetMarker", Files.exists(GadgetTrace.marker()));
                line(out, "heapUsedBytes", rt.totalMemory() - rt.freeMemory());
                line(out, "heapMaxBytes", rt.maxMemory());
                break;
            }
            default:
                resp.setStatus(404);
                line(out, "unknown", path);
        }
        resp.getWriter().write(out.toString());
    }

    private static void line(StringBuilder out, String key, Object value) {
        out.append(key).append('=').append(value).append('\n');
    }
}
