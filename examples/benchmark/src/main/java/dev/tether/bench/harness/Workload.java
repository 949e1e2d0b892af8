package dev.tether.bench.harness;

enum Workload {
    READ("read", "read-only"),
    WRITE("write", "write-every-request"),
    MIX("mix", "mix 80/20");

    final String mode;
    final String label;

    Workload(String mode, String label) {
        this.mode = mode;
        this.label = label;
    }

    static Workload byMode(String mode) {
        for (Workload w : values()) {
            if (w.mode.equals(mode.trim())) {
                return w;
            }
        }
        throw new IllegalArgumentException("unknown workload " + mode + " (read, write or mix)");
    }
}
