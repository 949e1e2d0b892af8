package dev.tether.bench.harness;

enum Workload {
    READ("read", "read-only"),
    WRITE("write", "write-every-request"),
    MIX("mix", "mix 80/20"),
    /** page.jsp: about 20 KB of HTML through JSP/EL from a session of about 10 KB, 80 % reads, 20 % writes. */
    PAGE("page", "JSP page 80/20");

    final String mode;
    final String label;

    Workload(String mode, String label) {
        this.mode = mode;
        this.label = label;
    }

    /** Whether it needs sessions of the page's shape (created with /b/create?shape=page). */
    boolean pageShape() {
        return this == PAGE;
    }

    static Workload byMode(String mode) {
        for (Workload w : values()) {
            if (w.mode.equals(mode.trim())) {
                return w;
            }
        }
        throw new IllegalArgumentException("unknown workload " + mode + " (read, write, mix or page)");
    }
}
