package dev.tether.example;

import java.io.Serializable;

/** One line of the cart: what was added, on which node, and when. */
public class Item implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String name;
    private final String addedOn;
    private final long addedAt;

    public Item(String name, String addedOn, long addedAt) {
        this.name = name;
        this.addedOn = addedOn;
        this.addedAt = addedAt;
    }

    public String getName() {
        return name;
    }

    /** The node (route) that served the request adding this item. */
    public String getAddedOn() {
        return addedOn;
    }

    public long getAddedAt() {
        return addedAt;
    }
}
