package dev.tether.bench.harness;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;

final class Log {
    private static final DateTimeFormatter T = DateTimeFormatter.ofPattern("HH:mm:ss");

    private Log() {
    }

    static void info(String format, Object... args) {
        System.out.println("[bench " + LocalTime.now().format(T) + "] " + String.format(java.util.Locale.ROOT, format, args));
        System.out.flush();
    }
}
