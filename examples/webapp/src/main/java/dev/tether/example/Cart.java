package dev.tether.example;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The shopping cart, kept in the HTTP session under {@code "cart"} and changed in place, the way
 * countless legacy applications do it: the servlet reads it with {@code getAttribute("cart")} and
 * calls {@link #add(Item)} without ever calling {@code setAttribute} again. A session store that only
 * saves on {@code setAttribute} silently loses such changes on failover.
 */
public class Cart implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Session attribute holding the cart. */
    public static final String ATTRIBUTE = "cart";

    private final List<Item> items = new ArrayList<>();

    public synchronized void add(Item item) {
        items.add(item);
    }

    public synchronized List<Item> getItems() {
        return new ArrayList<>(items);
    }

    public synchronized int size() {
        return items.size();
    }

    /** Item names in the order they were added, comma-separated. */
    public synchronized String names() {
        StringBuilder out = new StringBuilder();
        for (Item item : items) {
            if (out.length() > 0) {
                out.append(',');
            }
            out.append(item.getName());
        }
        return out.toString();
    }
}
