package dev.tether.bench.harness;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A minimal HTTP/1.1 client on one keep-alive connection: little enough overhead that timing one
 * request (the failover measurement) measures the server, and no cookie jar of its own.
 * Not thread-safe: one per thread.
 */
final class Http implements AutoCloseable {

    record Reply(int status, String body, List<String> setCookies) {
        /** The value of the cookie {@code name} the server set, or null. */
        String cookie(String name) {
            for (String sc : setCookies) {
                String first = sc.split(";", 2)[0].trim();
                if (first.startsWith(name + "=")) {
                    return first.substring(name.length() + 1);
                }
            }
            return null;
        }

        String field(String key) {
            for (String l : body.split("\n")) {
                if (l.startsWith(key + "=")) {
                    return l.substring(key.length() + 1).trim();
                }
            }
            return null;
        }
    }

    private final int port;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    Http(int port) {
        this.port = port;
    }

    Reply get(String path, String cookieName, String cookieValue) throws IOException {
        for (int attempt = 0; ; attempt++) {
            boolean fresh = socket == null;
            try {
                if (fresh) {
                    socket = new Socket();
                    socket.setTcpNoDelay(true);
                    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                    socket.setSoTimeout(30_000);
                    in = new BufferedInputStream(socket.getInputStream(), 16384);
                    out = socket.getOutputStream();
                }
                StringBuilder req = new StringBuilder("GET ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1:")
                        .append(port).append("\r\n");
                if (cookieValue != null) {
                    req.append("Cookie: ").append(cookieName).append('=').append(cookieValue).append("\r\n");
                }
                req.append("\r\n");
                out.write(req.toString().getBytes(StandardCharsets.US_ASCII));
                out.flush();
                return readReply();
            } catch (IOException e) {
                close();
                // A kept-alive connection the server closed meanwhile: one retry on a fresh one.
                if (fresh || attempt > 0) {
                    throw e;
                }
            }
        }
    }

    private Reply readReply() throws IOException {
        String statusLine = line();
        if (statusLine == null) {
            throw new IOException("connection closed before the reply");
        }
        String[] parts = statusLine.split(" ", 3);
        int status = Integer.parseInt(parts[1]);
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        List<String> setCookies = new ArrayList<>();
        String h;
        while ((h = line()) != null && !h.isEmpty()) {
            int i = h.indexOf(':');
            if (i < 0) {
                continue;
            }
            String name = h.substring(0, i).trim().toLowerCase(Locale.ROOT);
            String value = h.substring(i + 1).trim();
            switch (name) {
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "connection" -> close = value.equalsIgnoreCase("close");
                case "set-cookie" -> setCookies.add(value);
                default -> {
                }
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            while (true) {
                String size = line();
                int n = Integer.parseInt(size.split(";")[0].trim(), 16);
                if (n == 0) {
                    while ((h = line()) != null && !h.isEmpty()) {
                        // trailers
                    }
                    break;
                }
                body.writeBytes(in.readNBytes(n));
                line();
            }
        } else if (length >= 0) {
            body.writeBytes(in.readNBytes((int) length));
        } else {
            body.writeBytes(in.readAllBytes());
            close = true;
        }
        if (close) {
            close();
        }
        return new Reply(status, body.toString(StandardCharsets.UTF_8), setCookies);
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                int len = sb.length();
                if (len > 0 && sb.charAt(len - 1) == '\r') {
                    sb.setLength(len - 1);
                }
                return sb.toString();
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    @Override
    public void close() {
        try {
            if (socket != null) {
                socket.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        socket = null;
    }
}
