package dev.tether.jetty.e2e.app8;

import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import javax.servlet.http.HttpSession;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The ee8 (javax) test application: {@code /s?op=...} changes or shows the session; the reply is
 * {@code key=value} lines that the tests parse. The ee10 twin in {@code app10} behaves identically.
 */
public class SessionServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    static String worker() {
        return System.getProperty("tether.node", "?");
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        handle(req, resp);
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        handle(req, resp);
    }

    private static void pause(HttpServletRequest req) {
        String ms = req.getParameter("sleepMs");
        if (ms != null) {
            try {
                Thread.sleep(Long.parseLong(ms));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void handle(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String op = String.valueOf(req.getParameter("op"));
        resp.setContentType("text/plain;charset=UTF-8");
        HttpSession session;
        switch (op) {
            case "ping":
                // No session: tells which servlet API (environment) the application was deployed with.
                resp.getWriter().println("pong");
                resp.getWriter().println("spec=" + getServletContext().getMajorVersion() + "." + getServletContext().getMinorVersion());
                resp.getWriter().println("api=" + HttpServlet.class.getPackageName());
                return;
            case "counters":
                resp.getWriter().println("didActivate=" + ActivationProbe.DID_ACTIVATE.get());
                resp.getWriter().println("willPassivate=" + ActivationProbe.WILL_PASSIVATE.get());
                return;
            case "set":
                session = req.getSession(true);
                session.setAttribute(req.getParameter("name"), req.getParameter("value"));
                break;
            case "add": {
                // Changes the list in place: no setAttribute after the first value.
                session = req.getSession(true);
                List<String> list = (List<String>) session.getAttribute("list");
                if (list == null) {
                    list = new ArrayList<>();
                    list.add(req.getParameter("value"));
                    session.setAttribute("list", list);
                } else {
                    list.add(req.getParameter("value"));
                }
                break;
            }
            case "probe":
                session = req.getSession(true);
                session.setAttribute("probe", new ActivationProbe(worker()));
                break;
            case "post":
                // Redirect-after-POST: the next request may land on another node.
                session = req.getSession(true);
                session.setAttribute(req.getParameter("name"), req.getParameter("value"));
                resp.sendRedirect(resp.encodeRedirectURL(req.getContextPath() + "/s?op=get"));
                return;
            case "slow-add": {
                // A slow page (or a GC pause): reads the cart, waits, then changes it in place.
                session = req.getSession(true);
                List<String> list = (List<String>) session.getAttribute("list");
                pause(req);
                list.add(req.getParameter("value"));
                break;
            }
            case "slow-set":
                session = req.getSession(true);
                pause(req);
                session.setAttribute(req.getParameter("name"), req.getParameter("value"));
                break;
            case "async-add": {
                // The change is made on another thread after the container thread returned.
                session = req.getSession(true);
                HttpSession async = session;
                String value = req.getParameter("value");
                var context = req.startAsync();
                context.start(() -> {
                    try {
                        Thread.sleep(50);
                        List<String> list = (List<String>) async.getAttribute("list");
                        list.add(value);
                        async.setAttribute("async", value);
                        context.getResponse().getWriter().println("added=" + value);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    } finally {
                        context.complete();
                    }
                });
                return;
            }
            case "login":
                // A login as the container does it: a new id (fixation protection), then the user.
                session = req.getSession(true);
                pause(req);
                req.changeSessionId();
                session.setAttribute("user", req.getParameter("user"));
                break;
            case "logout":
                session = req.getSession(false);
                if (session != null) {
                    session.invalidate();
                }
                resp.getWriter().println("loggedOut=" + (session != null));
                return;
            case "async-logout": {
                // The session ends on another thread after the container thread returned.
                HttpSession ending = req.getSession(false);
                var context = req.startAsync();
                context.start(() -> {
                    try {
                        Thread.sleep(50);
                        if (ending != null) {
                            ending.invalidate();
                        }
                        pause(req); // completes later
                        context.getResponse().getWriter().println("loggedOut=" + (ending != null));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    } finally {
                        context.complete();
                    }
                });
                return;
            }
            case "sleep":
                // Uses the session and changes nothing.
                session = req.getSession(false);
                pause(req);
                resp.getWriter().println("slept=" + (session != null));
                return;
            case "flush-logout":
                // The response goes out first (a streaming page), then the session ends.
                session = req.getSession(false);
                resp.getWriter().println("flushed");
                resp.flushBuffer();
                if (session != null) {
                    session.invalidate();
                }
                return;
            case "stamp":
                session = req.getSession(true);
                session.setAttribute("stamp", new PassivationStamp());
                break;
            case "get":
                session = req.getSession(false);
                if (session == null) {
                    resp.setStatus(404);
                    resp.getWriter().println("session=none");
                    return;
                }
                break;
            default:
                resp.sendError(400, "unknown op " + op);
                return;
        }
        PrintWriter out = resp.getWriter();
        out.println("node=" + worker());
        out.println("id=" + session.getId());
        out.println("new=" + session.isNew());
        out.println("url=" + resp.encodeURL(req.getContextPath() + "/s?op=get"));
        List<String> names = Collections.list(session.getAttributeNames());
        Collections.sort(names);
        for (String name : names) {
            out.println("attr." + name + "=" + session.getAttribute(name));
        }
    }
}
