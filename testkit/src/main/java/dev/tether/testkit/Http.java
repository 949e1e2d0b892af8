package dev.tether.testkit;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The tests' HTTP/1.1 client, on plain sockets, in three modes:
 * <ul>
 *   <li>one request per connection ({@link #get}, {@link #postForm}): a killed or restarted node
 *       never meets a pooled connection, and the caller names the one session cookie it sends;</li>
 *   <li>one kept-alive {@link Connection}, like a browser tab's, optionally with a cookie jar;</li>
 *   <li>raw bytes ({@link #sendRaw}): request lines and headers no well-behaved client would send.</li>
 * </ul>
 * It never follows redirects and never resends a request by itself (browsers and Java's HttpClient
 * resend an idempotent request whose kept-alive connection closed before any answer byte): what a
 * test counts is what the server did. A request to a port nothing listens on, or a connection that
 * breaks, throws {@link UncheckedIOException} saying so.
 */
public final class Http {

    public static final String SESSION_COOKIE = "JSESSIONID";

    private static final int CONNECT_TIMEOUT_MS = 5_000;
    private static final int READ_TIMEOUT_MS = 30_000;
    private static final int MAX_BODY = 4 * 1024 * 1024;

    private Http() {
    }

    /** {@code GET} on its own connection to 127.0.0.1:port, with {@code JSESSIONID=sessionId} when it is not null. */
    public static Reply get(int port, String target, String sessionId) {
        try (Connection c = new Connection("127.0.0.1", port, false)) {
            return c.send("GET", target, oneShot(sessionId, null), null);
        }
    }

    /** A form {@code POST} on its own connection, with {@code JSESSIONID=sessionId} when it is not null. */
    public static Reply postForm(int port, String target, Map<String, String> form, String sessionId) {
        String body = form.entrySet().stream().map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
                .collect(Collectors.joining("&"));
        try (Connection c = new Connection("127.0.0.1", port, false)) {
            return c.send("POST", target, oneShot(sessionId, "application/x-www-form-urlencoded"), body);
        }
    }

    /** One kept-alive connection to host:port, without a cookie jar: each request says what it sends. */
    public static Connection keepAlive(String host, int port) {
        return new Connection(host, port, false);
    }

    /** One kept-alive connection to host:port with a cookie jar, like a browser tab. */
    public static Connection browser(String host, int port) {
        return new Connection(host, port, true);
    }

    private static Map<String, String> oneShot(String sessionId, String contentType) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Connection", "close");
        if (sessionId != null) {
            headers.put("Cookie", SESSION_COOKIE + "=" + sessionId);
        }
        if (contentType != null) {
            headers.put("Content-Type", contentType);
        }
        return headers;
    }

    static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** The base of a session id {@code <base>.<route>}: the part before the first dot (balancers split there). */
    public static String base(String sessionId) {
        int dot = sessionId == null ? -1 : sessionId.indexOf('.');
        return dot < 0 ? sessionId : sessionId.substring(0, dot);
    }

    /** The route of a session id {@code <base>.<route>}: the part after the first dot, or null. */
    public static String route(String sessionId) {
        int dot = sessionId == null ? -1 : sessionId.indexOf('.');
        return dot < 0 ? null : sessionId.substring(dot + 1);
    }

    // ------------------------------------------------------------------ replies

    /** An answer: status, headers (names lower-cased, every value kept, in order) and the body as text. */
    public record Reply(int status, Map<String, List<String>> headers, String body) {

        public List<String> header(String name) {
            return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
        }

        public String location() {
            List<String> l = header("location");
            return l.isEmpty() ? null : l.get(0);
        }

        public List<SetCookie> setCookies() {
            return header("set-cookie").stream().map(SetCookie::parse).toList();
        }

        /** The one JSESSIONID Set-Cookie, or null; fails if there are several. */
        public SetCookie sessionCookie() {
            List<SetCookie> all = setCookies().stream().filter(c -> c.name().equals(SESSION_COOKIE)).toList();
            if (all.size() > 1) {
                throw new AssertionError("more than one JSESSIONID Set-Cookie: " + all);
            }
            return all.isEmpty() ? null : all.get(0);
        }

        /** The session id a JSESSIONID Set-Cookie carries, or null when none was sent. */
        public String sessionId() {
            SetCookie c = sessionCookie();
            return c == null ? null : c.value();
        }

        /** The body's {@code key=value} lines (the test applications' answer format). */
        public Map<String, String> values() {
            Map<String, String> out = new LinkedHashMap<>();
            for (String line : body.split("\r?\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    out.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return out;
        }

        public String value(String key) {
            return values().get(key);
        }

        /** The {@code attr.<name>=<value>} lines: the session's attributes as the application shows them. */
        public Map<String, String> attributes() {
            Map<String, String> out = new LinkedHashMap<>();
            values().forEach((k, v) -> {
                if (k.startsWith("attr.")) {
                    out.put(k.substring(5), v);
                }
            });
            return out;
        }

        public String attribute(String name) {
            return attributes().get(name);
        }

        @Override
        public String toString() {
            return "HTTP " + status + " Set-Cookie=" + header("set-cookie") + " Location=" + location() + "\n" + body;
        }
    }

    /** One parsed {@code Set-Cookie} header. */
    public record SetCookie(String name, String value, Map<String, String> attributes, String raw) {

        static SetCookie parse(String header) {
            String[] parts = header.split(";");
            String first = parts[0].trim();
            int eq = first.indexOf('=');
            Map<String, String> attrs = new LinkedHashMap<>();
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].trim();
                if (!p.isEmpty()) {
                    int e = p.indexOf('=');
                    attrs.put((e < 0 ? p : p.substring(0, e)).toLowerCase(Locale.ROOT), e < 0 ? "" : p.substring(e + 1));
                }
            }
            return new SetCookie(eq < 0 ? first : first.substring(0, eq).trim(), eq < 0 ? "" : first.substring(eq + 1).trim(),
                    attrs, header);
        }

        public String path() {
            return attributes.get("path");
        }

        public boolean httpOnly() {
            return attributes.containsKey("httponly");
        }

        /** Whether the server deletes the cookie with it (an empty value, Max-Age=0 or an expiry in 1970). */
        public boolean deletes() {
            String expires = attributes.getOrDefault("expires", "").toLowerCase(Locale.ROOT);
            return value.isEmpty() || "0".equals(attributes.get("max-age")) || expires.startsWith("thu, 01 jan 1970")
                    || expires.startsWith("thu, 01-jan-1970");
        }
    }

    // ------------------------------------------------------------------ kept-alive connections

    /**
     * One connection, kept alive across requests (a new one is opened when the server closed it
     * after an answer); with a cookie jar, the cookies the server set are sent back. One thread.
     */
    public static final class Connection implements AutoCloseable {

        private final String host;
        private final int port;
        /** Null without a jar. */
        private final Map<String, String> cookies;
        private Socket socket;
        private InputStream in;
        private OutputStream out;
        private int requestsOnConnection;

        Connection(String host, int port, boolean cookieJar) {
            this.host = host;
            this.port = port;
            this.cookies = cookieJar ? new LinkedHashMap<>() : null;
        }

        public Reply get(String target) {
            return send("GET", target, Map.of(), null);
        }

        /** {@code GET} with {@code JSESSIONID=sessionId} (besides the jar's cookies) when it is not null. */
        public Reply get(String target, String sessionId) {
            return send("GET", target, sessionId == null ? Map.of() : Map.of("Cookie", SESSION_COOKIE + "=" + sessionId), null);
        }

        /** A cookie in the jar, or null. */
        public String cookie(String name) {
            return cookies == null ? null : cookies.get(name);
        }

        /**
         * Sends one request, its headers and body in one write (as a browser's small form POST
         * usually goes), and reads the answer.
         */
        public Reply send(String method, String target, Map<String, String> headers, String body) {
            try {
                return exchange(method, target, headers, body);
            } catch (ConnectException e) {
                close();
                throw new UncheckedIOException(method + " " + target + ": nothing listens on " + host + ":" + port
                        + " (is the server stopped?)", e);
            } catch (IOException | RuntimeException e) {
                close();
                IOException io = e instanceof IOException x ? x : new IOException(e);
                throw new UncheckedIOException(method + " " + target + " on " + host + ":" + port + " failed: " + e.getMessage(), io);
            }
        }

        private Reply exchange(String method, String target, Map<String, String> headers, String body) throws IOException {
            if (socket == null) {
                Socket s = new Socket();
                try {
                    s.setTcpNoDelay(true);
                    s.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
                    s.setSoTimeout(READ_TIMEOUT_MS);
                } catch (IOException e) {
                    s.close();
                    throw e;
                }
                socket = s;
                in = new BufferedInputStream(s.getInputStream(), 16384);
                out = s.getOutputStream();
                requestsOnConnection = 0;
            }
            boolean reused = requestsOnConnection++ > 0;
            byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            StringBuilder req = new StringBuilder().append(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(host).append(':').append(port).append("\r\n");
            String cookieHeader = cookieHeader(headers.get("Cookie"));
            headers.forEach((k, v) -> {
                if (!k.equals("Cookie")) {
                    req.append(k).append(": ").append(v).append("\r\n");
                }
            });
            if (!cookieHeader.isEmpty()) {
                req.append("Cookie: ").append(cookieHeader).append("\r\n");
            }
            if (body != null || !method.equals("GET")) {
                req.append("Content-Length: ").append(payload.length).append("\r\n");
            }
            req.append("\r\n");
            ByteArrayOutputStream all = new ByteArrayOutputStream(req.length() + payload.length);
            all.writeBytes(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            all.writeBytes(payload);
            out.write(all.toByteArray());
            out.flush();

            String statusLine = readLine(true);
            if (statusLine == null) {
                throw new EOFException("the connection closed before any answer byte" + (reused ? " (a kept-alive connection)" : ""));
            }
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP answer: " + statusLine);
            }
            int status = Integer.parseInt(parts[1]);
            Map<String, List<String>> h = new LinkedHashMap<>();
            for (String line = readLine(false); !line.isEmpty(); line = readLine(false)) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    h.computeIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                            .add(line.substring(colon + 1).trim());
                }
            }
            boolean close = parts[0].equals("HTTP/1.0") || first(h, "connection").toLowerCase(Locale.ROOT).contains("close");
            byte[] content;
            if (method.equals("HEAD") || status / 100 == 1 || status == 204 || status == 304) {
                content = new byte[0];
            } else if (first(h, "transfer-encoding").toLowerCase(Locale.ROOT).contains("chunked")) {
                content = readChunked();
            } else if (!first(h, "content-length").isEmpty()) {
                content = readFully(Integer.parseInt(first(h, "content-length")));
            } else {
                content = in.readNBytes(MAX_BODY);
                close = true;
            }
            if (close) {
                close();
            }
            Reply reply = new Reply(status, h, new String(content, StandardCharsets.UTF_8));
            if (cookies != null) {
                for (SetCookie c : reply.setCookies()) {
                    if (c.deletes()) {
                        cookies.remove(c.name());
                    } else {
                        cookies.put(c.name(), c.value());
                    }
                }
            }
            return reply;
        }

        /** The jar's cookies and the explicit ones ({@code a=1; b=2}), the explicit ones winning. */
        private String cookieHeader(String explicit) {
            Map<String, String> all = new LinkedHashMap<>(cookies == null ? Map.of() : cookies);
            if (explicit != null) {
                for (String pair : explicit.split(";")) {
                    int eq = pair.indexOf('=');
                    if (eq > 0) {
                        all.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
                    }
                }
            }
            return all.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("; "));
        }

        private static String first(Map<String, List<String>> h, String name) {
            List<String> v = h.get(name);
            return v == null || v.isEmpty() ? "" : v.get(0);
        }

        /** A header line without its CRLF; null at EOF before the first byte when {@code eofAllowed}. */
        private String readLine(boolean eofAllowed) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream(64);
            int c;
            boolean any = false;
            while ((c = in.read()) != -1) {
                any = true;
                if (c == '\n') {
                    break;
                }
                if (c != '\r') {
                    line.write(c);
                }
                if (line.size() > 16 * 1024) {
                    throw new IOException("header line too long");
                }
            }
            if (!any) {
                if (eofAllowed) {
                    return null;
                }
                throw new EOFException("the connection closed within the answer's headers");
            }
            return line.toString(StandardCharsets.ISO_8859_1);
        }

        private byte[] readFully(int n) throws IOException {
            if (n > MAX_BODY) {
                throw new IOException("answer too large: " + n);
            }
            byte[] b = in.readNBytes(n);
            if (b.length < n) {
                throw new EOFException("the connection closed within the answer's body (" + b.length + " of " + n + " bytes)");
            }
            return b;
        }

        private byte[] readChunked() throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                String size = readLine(false);
                int semi = size.indexOf(';');
                int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (n == 0) {
                    for (String trailer = readLine(false); !trailer.isEmpty(); trailer = readLine(false)) {
                        // trailers are not needed
                    }
                    return body.toByteArray();
                }
                if (body.size() + n > MAX_BODY) {
                    throw new IOException("answer too large");
                }
                body.writeBytes(readFully(n));
                readLine(false);
            }
        }

        @Override
        public void close() {
            Socket s = socket;
            socket = null;
            in = null;
            out = null;
            if (s != null) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    // ------------------------------------------------------------------ raw requests

    /** The status code, or -1 when the connection failed before a status line arrived. */
    public record RawReply(int status, String statusLine, String error) {
    }

    /** Bytes as they are: each char one byte (ISO-8859-1), for raw requests. */
    public static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** {@code GET <target> HTTP/1.1} with Host, Connection: close and optional extra header lines, as raw bytes. */
    public static byte[] rawGet(byte[] target, byte[] extraHeaderLines) {
        return concat(ascii("GET "), target, ascii(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"),
                extraHeaderLines == null ? new byte[0] : extraHeaderLines, ascii("\r\n"));
    }

    /**
     * Sends bytes no well-behaved client would (control bytes, malformed values) on a connection of
     * their own and reads the status line; every wait is bounded. Never throws: a failure is in the reply.
     */
    public static RawReply sendRaw(int port, byte[] request) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), CONNECT_TIMEOUT_MS);
            s.setSoTimeout(15_000);
            String writeError = null;
            try {
                s.getOutputStream().write(request);
                s.getOutputStream().flush();
            } catch (IOException e) {
                writeError = e.toString(); // the server may have answered and closed early: read what it said
            }
            InputStream in = s.getInputStream();
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int c;
            while (head.size() < 512 && (c = in.read()) != -1 && c != '\n') {
                head.write(c);
            }
            String statusLine = head.toString(StandardCharsets.ISO_8859_1).trim();
            try {
                // Drain (bounded) so the server finishes its side cleanly.
                byte[] buf = new byte[8192];
                long total = 0;
                int n;
                while (total < 1 << 20 && (n = in.read(buf)) != -1) {
                    total += n;
                }
            } catch (IOException e) {
                // the status line is what counts
            }
            if (!statusLine.startsWith("HTTP/1.1 ") || statusLine.length() < 12) {
                return new RawReply(-1, statusLine, writeError == null ? "no status line" : writeError);
            }
            return new RawReply(Integer.parseInt(statusLine.substring(9, 12)), statusLine, null);
        } catch (IOException | RuntimeException e) {
            return new RawReply(-1, null, e.toString());
        }
    }
}
