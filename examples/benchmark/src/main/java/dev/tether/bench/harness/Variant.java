package dev.tether.bench.harness;

/** What is compared: a server and the session implementation on it. */
enum Variant {
    TOMCAT_MEMORY("tomcat-memory", Server.TOMCAT, Impl.MEMORY),
    TOMCAT_TETHER("tomcat-tether", Server.TOMCAT, Impl.TETHER),
    TOMCAT_REDISSON("tomcat-redisson", Server.TOMCAT, Impl.REDISSON),
    JETTY_MEMORY("jetty-memory", Server.JETTY, Impl.MEMORY),
    JETTY_TETHER("jetty-tether", Server.JETTY, Impl.TETHER),
    /** Yardsticks: in-memory sessions plus one acknowledged Redis round trip per changed request. */
    TOMCAT_FLOOR_LETTUCE("tomcat-floor-lettuce", Server.TOMCAT, Impl.FLOOR_LETTUCE),
    TOMCAT_FLOOR_SOCKET("tomcat-floor-socket", Server.TOMCAT, Impl.FLOOR_SOCKET);

    enum Server {
        TOMCAT("Tomcat"), JETTY("Jetty");

        final String label;

        Server(String label) {
            this.label = label;
        }
    }

    enum Impl {
        MEMORY("in-memory"), TETHER("Tether"), REDISSON("Redisson"),
        FLOOR_LETTUCE("floor: in-memory + 1 Lettuce round trip"), FLOOR_SOCKET("floor: in-memory + 1 blocking-socket round trip");

        final String label;

        Impl(String label) {
            this.label = label;
        }
    }

    final String id;
    final Server server;
    final Impl impl;

    Variant(String id, Server server, Impl impl) {
        this.id = id;
        this.server = server;
        this.impl = impl;
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

    /** The bench servlet's -Dbench.floor value for a floor variant. */
    String floorKind() {
        return impl == Impl.FLOOR_LETTUCE ? "lettuce" : "socket";
    }

    /** The in-memory variant on the same server: what ratios are taken against. */
    Variant baseline() {
        return server == Server.TOMCAT ? TOMCAT_MEMORY : JETTY_MEMORY;
    }
}
