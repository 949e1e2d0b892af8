package dev.tether.example;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * Shows who is served by which node: the node's route, the session id, the logged-in user and the
 * cart. Mapped to {@code /shop/} and {@code /shop/cart}. With {@code ?format=text} it answers in
 * {@code key=value} lines for scripts:
 *
 * <pre>
 * node=node2
 * session=0A1B...F.node2
 * route=node2
 * user=alice
 * items=apple,pear,plum
 * count=3
 * </pre>
 */
public class CartServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault());

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        if ("/shop".equals(request.getServletPath())) {
            // Keep relative links working: the page lives in the /shop/ "directory".
            response.sendRedirect(request.getContextPath() + "/shop/");
            return;
        }
        HttpSession session = request.getSession();
        Cart cart = (Cart) session.getAttribute(Cart.ATTRIBUTE);
        render(request, response, session, cart, null);
    }

    /** Writes the cart page, as HTML or (with {@code format=text}) as key=value lines. */
    static void render(HttpServletRequest request, HttpServletResponse response, HttpSession session, Cart cart,
            String added) throws IOException {
        response.setHeader("Cache-Control", "no-store");
        String node = Node.name(session);
        String user = request.getRemoteUser();
        if ("text".equals(request.getParameter("format"))) {
            response.setContentType("text/plain;charset=UTF-8");
            PrintWriter out = response.getWriter();
            out.println("node=" + node);
            out.println("session=" + session.getId());
            out.println("route=" + nullToEmpty(Node.routeOf(session.getId())));
            out.println("user=" + nullToEmpty(user));
            out.println("items=" + (cart == null ? "" : cart.names()));
            out.println("count=" + (cart == null ? 0 : cart.size()));
            if (added != null) {
                out.println("added=" + added);
            }
            out.println("port=" + request.getLocalPort());
            return;
        }
        response.setContentType("text/html;charset=UTF-8");
        PrintWriter out = response.getWriter();
        out.println("<!DOCTYPE html>");
        out.println("<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tether shop on " + Node.html(node) + "</title>");
        out.println("<style>body{font-family:sans-serif;max-width:42em;margin:2em auto;padding:0 1em}"
                + "th{text-align:left;padding-right:1em}code{background:#eee;padding:0 .2em}"
                + ".node{font-size:1.6em;font-weight:bold}</style></head><body>");
        out.println("<h1>Tether demo shop</h1>");
        out.println("<p>Served by <span class=\"node\">" + Node.html(node) + "</span> (port " + request.getLocalPort() + ")</p>");
        out.println("<table>");
        out.println("<tr><th>User</th><td>" + Node.html(user) + "</td></tr>");
        out.println("<tr><th>Session id</th><td><code>" + Node.html(session.getId()) + "</code></td></tr>");
        out.println("<tr><th>Session created</th><td>" + TIME.format(Instant.ofEpochMilli(session.getCreationTime())) + "</td></tr>");
        out.println("</table>");
        out.println("<h2>Cart (" + (cart == null ? 0 : cart.size()) + ")</h2>");
        if (cart == null || cart.size() == 0) {
            out.println("<p>Your cart is empty.</p>");
        } else {
            out.println("<ol>");
            for (Item item : cart.getItems()) {
                out.println("<li>" + Node.html(item.getName()) + " <small>(added on " + Node.html(item.getAddedOn())
                        + " at " + TIME.format(Instant.ofEpochMilli(item.getAddedAt())) + ")</small></li>");
            }
            out.println("</ol>");
        }
        out.println("<form method=\"post\" action=\"add\">");
        out.println("<label>Item <input name=\"item\" required maxlength=\"" + AddItemServlet.MAX_LENGTH
                + "\" autofocus></label> <button>Add to cart</button>");
        out.println("</form>");
        out.println("<p><a href=\"cart\">Refresh</a> &middot; <a href=\"cart?format=text\">as text</a> &middot; "
                + "<a href=\"" + Node.html(request.getContextPath()) + "/logout\">Log out</a></p>");
        out.println("</body></html>");
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
