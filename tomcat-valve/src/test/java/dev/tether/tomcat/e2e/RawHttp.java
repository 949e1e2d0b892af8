package dev.tether.tomcat.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * HTTP/1.1 over a plain socket, for requests {@code java.net.http} refuses to send: raw control
 * bytes, non-ASCII bytes and malformed values in the request line or the Cookie header. One
 * request per connection ({@code Connection: close}); every wait is bounded.
 */
final class RawHttp {

    /** The status code, or -1 when the connection failed before a status line arrived. */
    record Result(int status, String statusLine, String error) {
    }

    private RawHttp() {
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** {@code GET <target> HTTP/1.1} with Host, Connection: close and optional extra header lines (raw bytes). */
    static byte[] get(byte[] target, byte[] extraHeaders) {
        return concat(ascii("GET "), target, ascii(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"),
                extraHeaders == null ? new byte[0] : extraHeaders, ascii("\r\n"));
    }

    static Result send(int port, byte[] request) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
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
                return new Result(-1, statusLine, writeError == null ? "no status line" : writeError);
            }
            return new Result(Integer.parseInt(statusLine.substring(9, 12)), statusLine, null);
        } catch (IOException | RuntimeException e) {
            return new Result(-1, null, e.toString());
        }
    }
}
