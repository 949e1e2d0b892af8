package dev.tether.bench.app;

import java.io.Serializable;

/** One line of the page workload's cart: a JavaBean the JSP reads through EL. */
public class CartItem implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String sku;
    private final String name;
    private final String description;
    private final int priceCents;
    private int quantity;

    CartItem(String sku, String name, String description, int priceCents, int quantity) {
        this.sku = sku;
        this.name = name;
        this.description = description;
        this.priceCents = priceCents;
        this.quantity = quantity;
    }

    public String getSku() {
        return sku;
    }

    public String getName() {
        return name;
    }

    public String getDescription() {
        return description;
    }

    public String getPrice() {
        return cents(priceCents);
    }

    public int getQuantity() {
        return quantity;
    }

    public String getSubtotal() {
        return cents((long) priceCents * quantity);
    }

    long subtotalCents() {
        return (long) priceCents * quantity;
    }

    void setQuantity(int quantity) {
        this.quantity = quantity;
    }

    static String cents(long c) {
        return c / 100 + "." + (c % 100 < 10 ? "0" : "") + c % 100;
    }
}
