package dev.tether.store;

/**
 * Which attributes a request writes back to Redis, after Spring Session's save modes.
 */
public enum SaveMode {
    /** Only attributes passed to {@code setAttribute}/{@code removeAttribute}. Fastest, but misses in-place mutation. */
    ON_SET_ATTRIBUTE,
    /**
     * Also every mutable attribute read with {@code getAttribute} during the request, re-serialized and
     * written only when its bytes changed. Catches a cart bean or a List mutated in place. The default.
     */
    ON_GET_ATTRIBUTE,
    /** Every attribute of the session, re-serialized on each request and written when changed. */
    ALWAYS;

    public static SaveMode parse(String value) {
        try {
            return SaveMode.valueOf(value.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("saveMode must be one of ON_SET_ATTRIBUTE, ON_GET_ATTRIBUTE, ALWAYS, not '" + value + "'");
        }
    }
}
