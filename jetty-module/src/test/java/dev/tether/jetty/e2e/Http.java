package dev.tether.jetty.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A minimal HTTP/1.1 client: one connection per request ({@code Connection: close}), so a killed
 * or restarted node never meets a pooled connection; no cookie jar and no redirects, so every test
 * says exactly which cookie it sends where.
 */
public final class Http {

    private Http() {
    }

    /** A response: status, headers (names lower-cased, every value kept) and body. */
    public record Reply(int status, Map<String, List<String>> headers, String body) {

        public List<String> header(String name) {
            return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
        }

        /** The JSESSIONID value of a Set-Cookie header, or {@code null} when none was sent. */
        public String sessionCookie() {
            for (String h : header("set-cookie")) {
                if (h.startsWith("JSESSIONID=")) {
                    int end = h.indexOf(';');
                    return h.substring("JSESSIONID=".length(), end < 0 ? h.length() : end);
                }
            }
            return null;
        }

        /** A {@code key=value} line of the test servlets' replies, or {@code null}. */
        public String field(String key) {
            for (String line : body.split("\r?\n")) {
                if (line.startsWith(key + "=")) {
                    return line.substring(key.length() + 1);
                }
            }
            return null;
        }

        public String attr(String name) {
            return field("attr." + name);
        }

        @Override
        public String toString() {
            return "HTTP " + status + " " + headers + "\n" + body;
        }
    }

    public static Reply get(int port, String pathAndQuery, String sessionCookie) throws IOException {
        return send(port, "GET", pathAndQuery, sessionCookie, null);
    }

    public static Reply post(int port, String path, String sessionCookie, Map<String, String> form) throws IOException {
        StringBuilder body = new StringBuilder();
        for (Map.Entry<String, String> e : form.entrySet()) {
            if (body.length() > 0) {
                body.append('&');
            }
            body.append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)).append('=')
                    .append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
        }
        return send(port, "POST", path, sessionCookie, body.toString());
    }

    private static Reply send(int port, String method, String target, String sessionCookie, String form) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(15_000);
            StringBuilder req = new StringBuilder();
            req.append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
            req.append("Host: 127.0.0.1:").append(port).append("\r\n");
            req.append("Connection: close\r\n");
            if (sessionCookie != null) {
                req.append("Cookie: JSESSIONID=").append(sessionCookie).append("\r\n");
            }
            byte[] payload = form == null ? new byte[0] : form.getBytes(StandardCharsets.UTF_8);
            if (form != null) {
                req.append("Content-Type: application/x-www-form-urlencoded\r\n");
                req.append("Content-Length: ").append(payload.length).append("\r\n");
            }
            req.append("\r\n");
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(payload);
            out.flush();
            return read(s.getInputStream());
        }
    }

    private static Reply read(InputStream in) throws IOException {
        byte[] all = in.readAllBytes();
        int headEnd = indexOf(all, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        if (headEnd < 0) {
            throw new IOException("incomplete HTTP response: " + new String(all, StandardCharsets.ISO_8859_1));
        }
        String[] lines = new String(all, 0, headEnd, StandardCharsets.ISO_8859_1).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(lines[i].substring(colon + 1).trim());
            }
        }
        byte[] body = java.util.Arrays.copyOfRange(all, headEnd + 4, all.length);
        if (headers.getOrDefault("transfer-encoding", List.of()).stream().anyMatch(v -> v.equalsIgnoreCase("chunked"))) {
            body = dechunk(body);
        }
        return new Reply(status, headers, new String(body, StandardCharsets.UTF_8));
    }

    private static byte[] dechunk(byte[] chunked) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < chunked.length) {
            int eol = indexOf(chunked, i, "\r\n".getBytes(StandardCharsets.ISO_8859_1));
            String sizeLine = new String(chunked, i, eol - i, StandardCharsets.ISO_8859_1);
            int semi = sizeLine.indexOf(';');
            int size = Integer.parseInt((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
            if (size == 0) {
                break;
            }
            out.write(chunked, eol + 2, size);
            i = eol + 2 + size + 2;
        }
        return out.toByteArray();
    }

    private static int indexOf(byte[] data, byte[] pattern) {
        return indexOf(data, 0, pattern);
    }

    private static int indexOf(byte[] data, int from, byte[] pattern) {
        outer:
        for (int i = from; i <= data.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
