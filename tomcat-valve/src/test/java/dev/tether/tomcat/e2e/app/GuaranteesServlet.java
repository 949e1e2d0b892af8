package dev.tether.tomcat.e2e.app;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import jakarta.servlet.http.HttpSessionActivationListener;
import jakarta.servlet.http.HttpSessionEvent;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Endpoints of the guarantee tests: requests that change the session slowly (while another node
 * takes it over), on another thread (asynchronous servlets), or while the node stops.
 */
public class GuaranteesServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    /** Sets an attribute of its session when the session is passivated: its node stops. */
    public static class PassivationStamp implements HttpSessionActivationListener, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public void sessionWillPassivate(HttpSessionEvent se) {
            se.getSession().setAttribute("passivatedBy", System.getProperty("tether.node"));
        }

        @Override
        public void sessionDidActivate(HttpSessionEvent se) {
        }
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException, ServletException {
        String v = req.getParameter("v");
        String included = (String) req.getAttribute(RequestDispatcher.INCLUDE_PATH_INFO);
        switch (included != null ? included : req.getPathInfo()) { // a forward sees its target's path
            case "/include" -> {
                // A page of this application that includes a page of application /b (crossContext="true"):
                // /b's own session, under this session's id, takes the change.
                req.getSession(true);
                String to = req.getParameter("to") != null ? req.getParameter("to") : "add";
                RequestDispatcher other = getServletContext().getContext("/b").getRequestDispatcher("/g/" + to);
                if ("forward".equals(req.getParameter("how"))) {
                    other.forward(req, resp);
                } else {
                    other.include(req, resp);
                }
            }
            case "/change-id" -> {
                HttpSession s = req.getSession(true);
                req.changeSessionId(); // fixation protection, as at a login; the session changes nothing else
                done(resp, s);
            }
            case "/add" -> {
                HttpSession s = req.getSession(true);
                list(s).add(v);
                done(resp, s);
            }
            case "/stamp" -> {
                HttpSession s = req.getSession(true);
                s.setAttribute("stamp", new PassivationStamp());
                done(resp, s);
            }
            case "/slow-add" -> {
                HttpSession s = req.getSession(true);
                sleep(req);
                list(s).add(v); // in place, after another node may have changed the session
                done(resp, s);
            }
            case "/slow-set" -> {
                HttpSession s = req.getSession(true);
                sleep(req);
                s.setAttribute(req.getParameter("k"), v);
                done(resp, s);
            }
            case "/async-add" -> {
                HttpSession s = req.getSession(true);
                AsyncContext async = req.startAsync();
                new Thread(() -> {
                    try {
                        Thread.sleep(200); // the container thread has long returned
                        list(s).add(v);
                        s.setAttribute("async", v);
                        done((HttpServletResponse) async.getResponse(), s);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    } finally {
                        async.complete();
                    }
                }, "async-add").start();
            }
            case "/async-logout" -> {
                HttpSession s = req.getSession(false);
                AsyncContext async = req.startAsync();
                new Thread(() -> {
                    try {
                        Thread.sleep(200); // the container thread has long returned
                        if (s != null) {
                            s.invalidate();
                        }
                        if (req.getParameter("holdMs") != null) {
                            Thread.sleep(Long.parseLong(req.getParameter("holdMs"))); // completes later
                        }
                        HttpServletResponse r = (HttpServletResponse) async.getResponse();
                        r.setContentType("text/plain;charset=UTF-8");
                        r.getWriter().write("loggedOut=true\n");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    } finally {
                        async.complete();
                    }
                }, "async-logout").start();
            }
            case "/sleep" -> {
                HttpSession s = req.getSession(false); // uses the session, changes nothing
                sleep(req);
                resp.setContentType("text/plain;charset=UTF-8");
                resp.getWriter().write("slept=" + (s != null) + "\n");
            }
            case "/expire-in" -> {
                HttpSession s = req.getSession(true);
                s.setMaxInactiveInterval(Integer.parseInt(req.getParameter("s")));
                done(resp, s);
            }
            case "/logout" -> {
                HttpSession s = req.getSession(false);
                if (s != null) {
                    s.invalidate();
                }
                resp.setContentType("text/plain;charset=UTF-8");
                resp.getWriter().write("loggedOut=true\n");
            }
            default -> resp.sendError(404);
        }
    }

    @SuppressWarnings("unchecked")
    private static List<String> list(HttpSession s) {
        List<String> list = (List<String>) s.getAttribute("list");
        if (list == null) {
            list = new ArrayList<>();
            s.setAttribute("list", list);
        }
        return list;
    }

    private static void sleep(HttpServletRequest req) {
        try {
            Thread.sleep(Long.parseLong(req.getParameter("sleepMs")));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void done(HttpServletResponse resp, HttpSession s) throws IOException {
        resp.setContentType("text/plain;charset=UTF-8");
        resp.getWriter().write("node=" + System.getProperty("tether.node") + "\nid=" + s.getId() + "\nlist=" + s.getAttribute("list") + "\n");
    }
}
