package dev.tether.bench.app;

import jakarta.servlet.http.HttpSession;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.Enumeration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The page workload's session: a {@link Profile} and a {@link Cart} of {@value #ITEMS} items with
 * text of their own (about 10 KB serialized), and a counter. {@code page.jsp} renders it.
 */
public final class PageSession {

    static final int ITEMS = 30;

    /** What the page recommends: the same for every user, in application memory. */
    private static final java.util.List<CartItem> CATALOG = catalog(30);

    private PageSession() {
    }

    static void fill(HttpSession session) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        session.setAttribute("user", new Profile("User " + text(random, 12), text(random, 16) + "@example.com",
                text(random, 120), text(random, 1200)));
        Cart cart = new Cart();
        for (int i = 0; i < ITEMS; i++) {
            cart.getItems().add(new CartItem("SKU-" + (100000 + random.nextInt(900000)), "Item " + text(random, 20),
                    text(random, 230), 100 + random.nextInt(99_900), 1 + random.nextInt(5)));
        }
        session.setAttribute("cart", cart);
        session.setAttribute("counter", Integer.valueOf(0));
    }

    /** A write request: one cart line changed in place and set again, the counter set. */
    public static void change(HttpSession session, Cart cart) {
        cart.changeOne();
        session.setAttribute("cart", cart);
        Object c = session.getAttribute("counter");
        session.setAttribute("counter", Integer.valueOf(c instanceof Integer i ? i + 1 : 1));
    }

    public static java.util.List<CartItem> recommendations() {
        return CATALOG;
    }

    private static java.util.List<CartItem> catalog(int n) {
        java.util.Random random = new java.util.Random(42);
        java.util.List<CartItem> items = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            char[] d = new char[180];
            for (int j = 0; j < d.length; j++) {
                d[j] = (char) ('a' + random.nextInt(26));
            }
            items.add(new CartItem("SKU-" + (200000 + i), "Recommended item " + i, new String(d), 500 + random.nextInt(20_000), 1));
        }
        return java.util.List.copyOf(items);
    }

    /** Serialized size of the session's attributes (Java serialization, each on its own), for the report. */
    static int serializedBytes(HttpSession session) throws IOException {
        int bytes = 0;
        for (Enumeration<String> names = session.getAttributeNames(); names.hasMoreElements();) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ObjectOutputStream oos = new ObjectOutputStream(out)) {
                oos.writeObject(session.getAttribute(names.nextElement()));
            }
            bytes += out.size();
        }
        return bytes;
    }

    private static String text(ThreadLocalRandom random, int chars) {
        char[] c = new char[chars];
        for (int i = 0; i < chars; i++) {
            c[i] = (char) ('a' + random.nextInt(26));
        }
        return new String(c);
    }
}
