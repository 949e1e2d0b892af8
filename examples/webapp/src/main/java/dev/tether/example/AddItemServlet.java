package dev.tether.example;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.util.regex.Pattern;

/**
 * Adds {@code item} to the cart: {@code POST /shop/add} (form field) or {@code GET /shop/add?item=apple}.
 * Then redirects to the cart page, or with {@code format=text} answers with the cart as text.
 *
 * <p>The cart is changed the legacy way: read once with {@code getAttribute}, mutated in place, and
 * never put back with {@code setAttribute}. With {@code mode=set} the modern way instead: a new cart
 * with the item is put with {@code setAttribute} (the fault suite uses both).
 */
public class AddItemServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    static final int MAX_LENGTH = 40;
    private static final Pattern VALID = Pattern.compile("[\\p{L}\\p{N} _\\-]{1," + MAX_LENGTH + "}");

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        add(request, response);
    }

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
        add(request, response);
    }

    private void add(HttpServletRequest request, HttpServletResponse response) throws IOException {
        request.setCharacterEncoding("UTF-8");
        String name = request.getParameter("item");
        name = name == null ? "" : name.trim();
        if (!VALID.matcher(name).matches()) {
            response.sendError(HttpServletResponse.SC_BAD_REQUEST,
                    "item must be 1 to " + MAX_LENGTH + " letters, digits, spaces, '_' or '-'");
            return;
        }
        HttpSession session = request.getSession();
        Item item = new Item(name, Node.name(session), System.currentTimeMillis());
        Cart cart;
        // Two requests of one user at once (two tabs, a double click) would otherwise both find no
        // cart and both put a new one, and one item would be gone with any session store: the
        // usual idiom locks the session object the container hands out (one per session and node).
        synchronized (session) {
            cart = (Cart) session.getAttribute(Cart.ATTRIBUTE);
            if ("set".equals(request.getParameter("mode"))) {
                Cart copy = new Cart();
                if (cart != null) {
                    cart.getItems().forEach(copy::add);
                }
                copy.add(item);
                session.setAttribute(Cart.ATTRIBUTE, copy); // a new value, put back
                cart = copy;
            } else {
                if (cart == null) {
                    cart = new Cart();
                    session.setAttribute(Cart.ATTRIBUTE, cart); // the only setAttribute of the legacy way
                }
                cart.add(item); // mutated in place
            }
        }
        if ("text".equals(request.getParameter("format"))) {
            CartServlet.render(request, response, session, cart, name);
        } else {
            response.setStatus(HttpServletResponse.SC_SEE_OTHER);
            response.setHeader("Location", request.getContextPath() + "/shop/cart");
        }
    }
}
