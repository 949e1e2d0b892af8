package dev.tether.bench.harness;

/** What is compared: a server and the session implementation on it. */
enum Variant {
    TOMCAT_MEMORY("tomcat-memory", Server.TOMCAT, Impl.MEMORY),
    TOMCAT_TETHER("tomcat-tether", Server.TOMCAT, Impl.TETHER),
    /** Tether with asyncWrites="true": answers before Redis confirms the write. */
    TOMCAT_TETHER_ASYNC("tomcat-tether-async", Server.TOMCAT, Impl.TETHER_ASYNC),
    TOMCAT_REDISSON("tomcat-redisson", Server.TOMCAT, Impl.REDISSON),
    JETTY_MEMORY("jetty-memory", Server.JETTY, Impl.MEMORY),
    JETTY_TETHER("jetty-tether", Server.JETTY, Impl.TETHER),
    /** Yardsticks: in-memory sessions plus one acknowledged Redis round trip per changed request. */
    TOMCAT_FLOOR_LETTUCE("tomcat-floor-lettuce", Server.TOMCAT, Impl.FLOOR_LETTUCE),
    TOMCAT_FLOOR_SOCKET("tomcat-floor-socket", Server.TOMCAT, Impl.FLOOR_SOCKET),
    /*
     * Two Tomcat nodes behind HAProxy (issue 14): measured as a group of their own, after the
     * single-node variants are stopped, so that eight server JVMs never share the machine with seven.
     */
    BALANCED_MEMORY_STICKY("balanced-memory-sticky", Server.TOMCAT_PAIR, Impl.MEMORY, Balance.STICKY),
    BALANCED_TETHER_STICKY("balanced-tether-sticky", Server.TOMCAT_PAIR, Impl.TETHER, Balance.STICKY),
    /** Shared mode where sticky mode is at home: does it cost anything there? (decides the default mode) */
    BALANCED_TETHER_SHARED_STICKY("balanced-tether-shared-sticky", Server.TOMCAT_PAIR, Impl.TETHER_SHARED, Balance.STICKY),
    BALANCED_TETHER_SHARED_RR("balanced-tether-shared-rr", Server.TOMCAT_PAIR, Impl.TETHER_SHARED, Balance.ROUND_ROBIN),
    BALANCED_REDISSON_RR("balanced-redisson-rr", Server.TOMCAT_PAIR, Impl.REDISSON_REDIS, Balance.ROUND_ROBIN);

    enum Server {
        TOMCAT("Tomcat"), JETTY("Jetty"), TOMCAT_PAIR("2 × Tomcat behind HAProxy");

        final String label;

        Server(String label) {
            this.label = label;
        }
    }

    enum Impl {
        MEMORY("in-memory"), TETHER("Tether"), TETHER_ASYNC("Tether, asyncWrites"), TETHER_SHARED("Tether, mode=shared"),
        REDISSON("Redisson"), REDISSON_REDIS("Redisson, readMode=REDIS"),
        FLOOR_LETTUCE("floor: in-memory + 1 Lettuce round trip"), FLOOR_SOCKET("floor: in-memory + 1 blocking-socket round trip");

        final String label;

        Impl(String label) {
            this.label = label;
        }

        boolean isTether() {
            return this == TETHER || this == TETHER_ASYNC || this == TETHER_SHARED;
        }

        boolean isRedisson() {
            return this == REDISSON || this == REDISSON_REDIS;
        }
    }

    /** How HAProxy spreads the requests of a two-node variant. */
    enum Balance {
        /** Route stickiness: the text after the first dot of JSESSIONID names the node (jvmRoute). */
        STICKY("sticky (route in JSESSIONID)"),
        /** {@code balance roundrobin} and nothing else: a session's requests alternate between the nodes. */
        ROUND_ROBIN("round-robin");

        final String label;

        Balance(String label) {
            this.label = label;
        }
    }

    final String id;
    final Server server;
    final Impl impl;
    /** null for a single node. */
    final Balance balance;

    Variant(String id, Server server, Impl impl) {
        this(id, server, impl, null);
    }

    Variant(String id, Server server, Impl impl, Balance balance) {
        this.id = id;
        this.server = server;
        this.impl = impl;
        this.balance = balance;
    }

    static Variant byId(String id) {
        for (Variant v : values()) {
            if (v.id.equals(id.trim())) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown variant " + id);
    }

    boolean isFloor() {
        return impl == Impl.FLOOR_LETTUCE || impl == Impl.FLOOR_SOCKET;
    }

    boolean isBalanced() {
        return balance != null;
    }

    /** The bench servlet's -Dbench.floor value for a floor variant. */
    String floorKind() {
        return impl == Impl.FLOOR_LETTUCE ? "lettuce" : "socket";
    }

    /** The in-memory variant on the same server: what ratios are taken against. */
    Variant baseline() {
        return switch (server) {
            case TOMCAT -> TOMCAT_MEMORY;
            case JETTY -> JETTY_MEMORY;
            case TOMCAT_PAIR -> BALANCED_MEMORY_STICKY;
        };
    }

    /** The implementation, and for two nodes how they are balanced. */
    String label() {
        return balance == null ? impl.label : impl.label + ", " + balance.label;
    }
}
