package dev.tether.bench.app;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;

/**
 * The scale measurement's sessions (mapped to {@code /s/*}; examples/benchmark/run-scale.sh): the
 * benchmark's session shape, logged in, so that each session also has its entries in Tether's
 * per-user index as a real application's would. {@link BenchServlet}'s {@code /b/read} and
 * {@code /b/write} serve them afterwards.
 *
 * <ul>
 *   <li>{@code /s/create?u=NAME}: a new session with {@code payload} (1 KiB String) and {@code counter},
 *       then {@code request.login(NAME, NAME)} against the context's realm (which changes the session
 *       id, as Tomcat does at every login); answers {@code id=<the id after login>}.</li>
 *   <li>{@code /s/invalidate}: invalidates the request's session (a logout).</li>
 * </ul>
 */
public class ScaleServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String op = req.getPathInfo() == null ? "" : req.getPathInfo();
        if (op.equals("/invalidate")) {
            HttpSession session = req.getSession(false);
            if (session != null) {
                session.invalidate();
            }
            text(resp, 200, "invalidated=" + (session != null) + "\n");
            return;
        }
        if (!op.equals("/create")) {
            text(resp, 404, "unknown operation " + op + "\n");
            return;
        }
        String user = req.getParameter("u");
        HttpSession session = req.getSession(true);
        session.setAttribute("payload", BenchServlet.payload());
        session.setAttribute("counter", Integer.valueOf(0));
        if (user != null && !user.isEmpty()) {
            try {
                req.login(user, user);
            } catch (ServletException e) {
                text(resp, 403, "login refused\n");
                return;
            }
        }
        text(resp, 200, "id=" + req.getSession().getId() + "\nuser=" + req.getRemoteUser() + "\n");
    }

    private static void text(HttpServletResponse resp, int status, String body) throws IOException {
        resp.setStatus(status);
        resp.setContentType("text/plain;charset=UTF-8");
        resp.setContentLength(body.length());
        resp.getWriter().write(body);
    }
}
