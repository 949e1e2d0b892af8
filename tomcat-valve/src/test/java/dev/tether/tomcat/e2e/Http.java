package dev.tether.tomcat.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A deliberately dumb HTTP client: no cookie store, no redirects. Each call sends exactly the
 * {@code JSESSIONID} it is given (or none) and hands back the raw {@code Set-Cookie} headers.
 */
final class Http {

    static final String SESSION_COOKIE = "JSESSIONID";

    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    /** One parsed {@code Set-Cookie} header. */
    record SetCookie(String name, String value, Map<String, String> attributes, String raw) {

        static SetCookie parse(String header) {
            String[] parts = header.split(";");
            String first = parts[0].trim();
            int eq = first.indexOf('=');
            Map<String, String> attrs = new LinkedHashMap<>();
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].trim();
                if (p.isEmpty()) {
                    continue;
                }
                int e = p.indexOf('=');
                attrs.put((e < 0 ? p : p.substring(0, e)).toLowerCase(Locale.ROOT), e < 0 ? "" : p.substring(e + 1));
            }
            return new SetCookie(first.substring(0, eq), first.substring(eq + 1), attrs, header);
        }

        String path() {
            return attributes.get("path");
        }

        boolean httpOnly() {
            return attributes.containsKey("httponly");
        }
    }

    /** A response: status, body as text, and the body's {@code key=value} lines. */
    record Reply(int status, String body, HttpResponse<String> response) {

        List<SetCookie> setCookies() {
            return response.headers().allValues("Set-Cookie").stream().map(SetCookie::parse).toList();
        }

        /** The one JSESSIONID Set-Cookie, or null; fails if there are several. */
        SetCookie sessionCookie() {
            List<SetCookie> all = setCookies().stream().filter(c -> c.name().equals(SESSION_COOKIE)).toList();
            if (all.size() > 1) {
                throw new AssertionError("more than one JSESSIONID Set-Cookie: " + all);
            }
            return all.isEmpty() ? null : all.get(0);
        }

        String location() {
            return response.headers().firstValue("Location").orElse(null);
        }

        /** The body's {@code key=value} lines (the test application's answer format). */
        Map<String, String> values() {
            Map<String, String> out = new LinkedHashMap<>();
            for (String line : body.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    out.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return out;
        }

        String value(String key) {
            return values().get(key);
        }

        /** Only the {@code attr.*} lines, without the prefix. */
        Map<String, String> attributes() {
            return values().entrySet().stream().filter(e -> e.getKey().startsWith("attr."))
                    .collect(Collectors.toMap(e -> e.getKey().substring(5), Map.Entry::getValue, (a, b) -> b, LinkedHashMap::new));
        }

        @Override
        public String toString() {
            return "HTTP " + status + " " + response.uri() + " Set-Cookie=" + response.headers().allValues("Set-Cookie")
                    + " Location=" + location() + "\n" + body;
        }
    }

    Reply get(int port, String pathAndQuery, String sessionId) {
        return send(request(port, pathAndQuery, sessionId).GET().build());
    }

    Reply postForm(int port, String path, Map<String, String> form, String sessionId) {
        String body = form.entrySet().stream()
                .map(e -> enc(e.getKey()) + "=" + enc(e.getValue()))
                .collect(Collectors.joining("&"));
        return send(request(port, path, sessionId)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build());
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static HttpRequest.Builder request(int port, String pathAndQuery, String sessionId) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
                .timeout(Duration.ofSeconds(20));
        if (sessionId != null) {
            b.header("Cookie", SESSION_COOKIE + "=" + sessionId);
        }
        return b;
    }

    private Reply send(HttpRequest request) {
        try {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Reply(r.statusCode(), r.body(), r);
        } catch (IOException e) {
            throw new IllegalStateException(request.method() + " " + request.uri() + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String base(String id) {
        int dot = id == null ? -1 : id.indexOf('.');
        return dot < 0 ? id : id.substring(0, dot);
    }

    static String route(String id) {
        int dot = id == null ? -1 : id.indexOf('.');
        return dot < 0 ? null : id.substring(dot + 1);
    }
}
