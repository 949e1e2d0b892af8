package dev.tether.failover;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A minimal HTTP/1.1 client with one kept-alive connection, like a browser tab's, that never
 * resends anything by itself. (Browsers and Java's HttpClient silently resend an idempotent
 * request once when a kept-alive connection closes before any answer byte; httpd and HAProxy
 * close the client connection that way when a back end dies under a request they cannot retry.
 * Here every such case counts as a failed request, so the failure counts are what the balancer
 * did, not what a forgiving client made of it.)
 */
final class KeepAliveHttp implements Closeable {

    record Response(int status, Map<String, List<String>> headers, String body) {
    }

    private static final int CONNECT_TIMEOUT_MS = 2_000;
    private static final int READ_TIMEOUT_MS = 20_000;
    private static final int MAX_BODY = 4 * 1024 * 1024;

    private final String host;
    private final int port;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private int requestsOnConnection;

    KeepAliveHttp(String host, int port) {
        this.host = host;
        this.port = port;
    }

    Response send(String method, String target, Map<String, String> headers, String body) throws IOException {
        if (socket == null) {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
            socket.setSoTimeout(READ_TIMEOUT_MS);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
            requestsOnConnection = 0;
        }
        boolean reused = requestsOnConnection > 0;
        requestsOnConnection++;
        byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder req = new StringBuilder();
        req.append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
        req.append("Host: ").append(host).append(':').append(port).append("\r\n");
        headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
        if (body != null || !method.equals("GET")) {
            req.append("Content-Length: ").append(payload.length).append("\r\n");
        }
        req.append("\r\n");
        try {
            // one write: headers and body in the same segment, as a browser's small form POST usually is
            ByteArrayOutputStream all = new ByteArrayOutputStream(req.length() + payload.length);
            all.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            all.write(payload);
            out.write(all.toByteArray());
            out.flush();
            String statusLine = readLine(true);
            if (statusLine == null) {
                throw new EOFException("the connection closed before any answer byte"
                        + (reused ? " (a kept-alive connection)" : ""));
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
            return new Response(status, h, new String(content, StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? io : new IOException(e);
        }
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
                    // ignore trailers
                }
                return body.toByteArray();
            }
            if (body.size() + n > MAX_BODY) {
                throw new IOException("answer too large");
            }
            body.write(readFully(n));
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
