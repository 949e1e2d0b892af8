package dev.tether.bench.app;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/** The page workload's shopping cart, kept in the session and changed in place by a write. */
public class Cart implements Serializable {

    private static final long serialVersionUID = 1L;

    private final List<CartItem> items = new ArrayList<>();
    private int changes;

    public List<CartItem> getItems() {
        return items;
    }

    public int getSize() {
        return items.size();
    }

    public String getTotal() {
        long total = 0;
        for (CartItem i : items) {
            total += i.subtotalCents();
        }
        return CartItem.cents(total);
    }

    public int getChanges() {
        return changes;
    }

    /** A write: one more of the next item, round-robin. */
    void changeOne() {
        CartItem item = items.get(changes % items.size());
        item.setQuantity(item.getQuantity() % 9 + 1);
        changes++;
    }
}
