package dev.tether.tomcat.e2e.app;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The end-to-end test application. Every answer is plain text, one {@code key=value} per line,
 * starting with {@code node=} (the JVM that answered). Endpoints (servlet paths):
 * <ul>
 * <li>{@code /ping}: no session involved</li>
 * <li>{@code /set?k=&v=}: {@code getSession(true).setAttribute(k, v)}</li>
 * <li>{@code /get}: the session id and every attribute as {@code attr.<name>=<value>}</li>
 * <li>{@code /list-add?v=}: appends to the ArrayList attribute {@code list} in place (setAttribute only to create it)</li>
 * <li>{@code /probe?label=}: stores an {@link ActivationProbe}</li>
 * <li>{@code /encode}: {@code response.encodeURL("/app/get")}</li>
 * <li>{@code /stats?base=}: this node's listener counters for one session base id</li>
 * <li>{@code /secure/whoami}: {@code getRemoteUser()} (FORM-protected)</li>
 * </ul>
 */
public class AppServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.setContentType("text/plain;charset=UTF-8");
        StringBuilder out = new StringBuilder();
        line(out, "node", System.getProperty("tether.node"));
        String path = req.getServletPath();
        switch (path) {
            case "/ping":
                line(out, "pong", "true");
                break;
            case "/stats": {
                String base = req.getParameter("base");
                line(out, "activations", Counters.get(Counters.ACTIVATIONS, base));
                line(out, "passivations", Counters.get(Counters.PASSIVATIONS, base));
                line(out, "idChanges", Counters.get(Counters.ID_CHANGES, base));
                line(out, "lastNewId", Counters.LAST_NEW_ID.get(base));
                break;
            }
            case "/set": {
                HttpSession s = req.getSession(true);
                s.setAttribute(req.getParameter("k"), req.getParameter("v"));
                session(out, req, s);
                break;
            }
            case "/list-add": {
                HttpSession s = req.getSession(true);
                @SuppressWarnings("unchecked")
                List<String> list = (List<String>) s.getAttribute("list");
                if (list == null) {
                    list = new ArrayList<>();
                    list.add(req.getParameter("v"));
                    s.setAttribute("list", list);
                } else {
                    list.add(req.getParameter("v")); // in place: no setAttribute
                }
                session(out, req, s);
                line(out, "list", list);
                break;
            }
            case "/probe": {
                HttpSession s = req.getSession(true);
                s.setAttribute("probe", new ActivationProbe(req.getParameter("label")));
                session(out, req, s);
                break;
            }
            case "/get": {
                HttpSession s = req.getSession(false);
                session(out, req, s);
                if (s != null) {
                    List<String> names = Collections.list(s.getAttributeNames());
                    Collections.sort(names);
                    for (String name : names) {
                        line(out, "attr." + name, s.getAttribute(name));
                    }
                }
                break;
            }
            case "/encode": {
                HttpSession s = req.getSession(false);
                session(out, req, s);
                line(out, "url", resp.encodeURL("/app/get"));
                break;
            }
            case "/secure/whoami": {
                HttpSession s = req.getSession(false);
                session(out, req, s);
                line(out, "user", req.getRemoteUser());
                line(out, "role.tester", req.isUserInRole("tester"));
                break;
            }
            default:
                resp.setStatus(404);
                line(out, "unknown", path);
        }
        resp.getWriter().write(out.toString());
    }

    private static void session(StringBuilder out, HttpServletRequest req, HttpSession s) {
        line(out, "id", s == null ? "none" : s.getId());
        line(out, "requestedId", req.getRequestedSessionId());
        line(out, "fromCookie", req.isRequestedSessionIdFromCookie());
        line(out, "fromUrl", req.isRequestedSessionIdFromURL());
    }

    private static void line(StringBuilder out, String key, Object value) {
        out.append(key).append('=').append(value).append('\n');
    }
}
