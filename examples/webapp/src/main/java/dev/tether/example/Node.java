package dev.tether.example;

import jakarta.servlet.http.HttpSession;

/** Small helpers shared by the servlets. */
final class Node {

    private Node() {
    }

    /**
     * The name of the node serving this request: the {@code jvmRoute} system property when the
     * container was started with one, otherwise the route suffix of the session id
     * ({@code <base>.<route>}), otherwise {@code "?"}.
     */
    static String name(HttpSession session) {
        String route = System.getProperty("jvmRoute");
        if (route != null && !route.isBlank()) {
            return route.trim();
        }
        String suffix = session == null ? null : routeOf(session.getId());
        return suffix == null ? "?" : suffix;
    }

    /** The route suffix of a session id, or {@code null} when it has none. */
    static String routeOf(String sessionId) {
        if (sessionId == null) {
            return null;
        }
        int dot = sessionId.indexOf('.');
        return dot < 0 || dot == sessionId.length() - 1 ? null : sessionId.substring(dot + 1);
    }

    /** Escapes text for HTML element content and quoted attribute values. */
    static String html(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
