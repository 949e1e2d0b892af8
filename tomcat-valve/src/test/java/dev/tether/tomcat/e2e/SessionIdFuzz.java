package dev.tether.tomcat.e2e;

import dev.tether.store.SessionId;
import dev.tether.testkit.Http;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Deterministic (seeded) hostile session ids, as raw bytes, and what a container could make of
 * them. Ids never contain CR or LF (they would end the header line, which is another test);
 * everything else goes: NUL and control bytes, non-ASCII, "../", over-long ids, dots, forged and
 * empty routes, Redis-key look-alikes, and syntactically valid ids that name no session.
 */
final class SessionIdFuzz {

    static final String ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    private static final String HEX = "0123456789ABCDEF";

    /** One fuzzed id: its bytes, what it is meant to exercise, and whether to send it raw in the URL. */
    record FuzzId(byte[] bytes, String kind, boolean rawInUrl) {

        String latin1() {
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
    }

    private final Random random;
    private final List<String> liveBases;

    SessionIdFuzz(long seed, List<String> liveBases) {
        this.random = new Random(seed);
        this.liveBases = liveBases;
    }

    List<FuzzId> generate(int count) {
        List<FuzzId> out = new ArrayList<>(count);
        out.addAll(boundaries());
        int kinds = 13;
        for (int i = 0; out.size() < count; i++) {
            out.add(next(i % kinds));
        }
        return out;
    }

    private FuzzId next(int kind) {
        switch (kind) {
            case 0: { // path traversal
                String[] bits = {"../", "..\\", "..;/", "....//", "/etc/passwd", "%2e%2e%2f", "..%2F", "/..", "./", ".."};
                StringBuilder sb = new StringBuilder(randomChars(random.nextInt(12)));
                for (int n = 1 + random.nextInt(4); n > 0; n--) {
                    sb.append(bits[random.nextInt(bits.length)]);
                    sb.append(randomChars(random.nextInt(10)));
                }
                return new FuzzId(latin1(sb.toString()), "traversal", random.nextBoolean());
            }
            case 1: { // NUL and control bytes in an otherwise valid id
                byte[] b = latin1(hex(32) + (random.nextBoolean() ? ".node1" : ""));
                int n = 1 + random.nextInt(3);
                for (int k = 0; k < n; k++) {
                    int c;
                    do {
                        c = random.nextBoolean() ? random.nextInt(0x20) : 0x7F;
                    } while (c == '\r' || c == '\n');
                    b = insert(b, random.nextInt(b.length + 1), new byte[] {(byte) c});
                }
                return new FuzzId(b, "control", false);
            }
            case 2: { // over-long
                int[] lengths = {129, 194, 200, 256, 512, 1000, 1024, 4096, 10_000, 10_240};
                int len = lengths[random.nextInt(lengths.length)];
                String s = randomChars(len);
                if (random.nextBoolean()) {
                    s = s + ".node" + random.nextInt(3);
                }
                return new FuzzId(latin1(s), "overlong", false);
            }
            case 3: { // non-ASCII: UTF-8 characters or raw high bytes
                byte[] b = latin1(hex(24));
                String[] utf8 = {"é", "ü", "中", "🙂", "\u202E", "\uFEFF", "Å", "ß", "\u0000"};
                int n = 1 + random.nextInt(3);
                for (int k = 0; k < n; k++) {
                    byte[] ins = random.nextBoolean() ? utf8[random.nextInt(utf8.length)].getBytes(StandardCharsets.UTF_8)
                            : new byte[] {(byte) (0x80 + random.nextInt(0x80))};
                    b = insert(b, random.nextInt(b.length + 1), ins);
                }
                return new FuzzId(b, "non-ascii", false);
            }
            case 4: { // many dots
                StringBuilder sb = new StringBuilder();
                int parts = 2 + random.nextInt(40);
                for (int p = 0; p < parts; p++) {
                    if (p > 0) {
                        sb.append(random.nextInt(5) == 0 ? ".." : ".");
                    }
                    sb.append(randomChars(random.nextInt(12)));
                }
                if (random.nextInt(4) == 0) {
                    sb.insert(0, '.');
                }
                return new FuzzId(latin1(sb.toString()), "dots", random.nextBoolean());
            }
            case 5: { // forged route on a valid, unknown base
                String[] routes = {"nodeX", "node3", "evil", "node1", "node2", randomChars(1 + random.nextInt(64))};
                return new FuzzId(latin1(validBase() + "." + routes[random.nextInt(routes.length)]), "forged-route", false);
            }
            case 6: // empty route
                return new FuzzId(latin1(validBase() + "." + (random.nextInt(4) == 0 ? "." : "")), "empty-route", false);
            case 7: { // valid-looking, no such session (Tomcat's format: 32 upper-case hex)
                String[] suffix = {"", ".node1", ".node2"};
                return new FuzzId(latin1(hex(32) + suffix[random.nextInt(suffix.length)]), "unknown-valid", false);
            }
            case 8: // too short
                return new FuzzId(latin1(randomChars(random.nextInt(8))), "short", false);
            case 9: { // delimiters, Redis key syntax, protocol look-alikes
                String[] bits = {"\"", " ", ";", ",", "=", "{", "}", "*", "?", "#", "%", "\\", ":", "\t", "$", "'", "<", ">",
                        "}:gone", "{x}", "tether:tomcat:localhost/app:{", "*1 $8 FLUSHALL", "%0d%0aSet-Cookie:x=y", "%00",
                        "JSESSIONID=", "\"quoted\""};
                StringBuilder sb = new StringBuilder(randomChars(4 + random.nextInt(20)));
                for (int n = 1 + random.nextInt(3); n > 0; n--) {
                    sb.insert(random.nextInt(sb.length() + 1), bits[random.nextInt(bits.length)]);
                }
                return new FuzzId(latin1(sb.toString()), "delimiters", false);
            }
            case 10: { // random bytes
                byte[] b = new byte[1 + random.nextInt(300)];
                random.nextBytes(b);
                for (int k = 0; k < b.length; k++) {
                    if (b[k] == '\r' || b[k] == '\n') {
                        b[k] = ' ';
                    }
                }
                return new FuzzId(b, "random-bytes", false);
            }
            case 11: { // a live session's base with a forged or broken route
                String base = liveBases.get(random.nextInt(liveBases.size()));
                String[] routes = {".nodeX", ".node1", ".node2", ".", "..node1", ".node1.node2", ".node1/../x", ".évil"};
                return new FuzzId(latin1(base + routes[random.nextInt(routes.length)]), "live-base-forged", false);
            }
            default: { // almost valid: one wrong character anywhere
                char[] c = (hex(32) + ".node1").toCharArray();
                String bad = "+/=.~!@()[]|^`";
                c[random.nextInt(c.length)] = bad.charAt(random.nextInt(bad.length()));
                return new FuzzId(latin1(new String(c)), "one-bad-char", false);
            }
        }
    }

    /** Exactly at and around SessionId's limits. */
    private List<FuzzId> boundaries() {
        List<FuzzId> out = new ArrayList<>();
        for (int base : new int[] {7, 8, 128, 129}) {
            out.add(new FuzzId(latin1(randomChars(base)), "boundary-base-" + base, false));
            out.add(new FuzzId(latin1(randomChars(base) + ".node1"), "boundary-base-" + base + "-routed", false));
        }
        for (int route : new int[] {1, 64, 65}) {
            out.add(new FuzzId(latin1(hex(32) + "." + randomChars(route)), "boundary-route-" + route, false));
        }
        out.add(new FuzzId(latin1(randomChars(128) + "." + randomChars(64)), "boundary-193", false));
        out.add(new FuzzId(latin1(randomChars(128) + "." + randomChars(65)), "boundary-194", false));
        out.add(new FuzzId(new byte[0], "empty", false));
        out.add(new FuzzId(latin1("."), "dot", false));
        return out;
    }

    /**
     * A base as containers generate them: 8 to 128 characters. (Not SessionId's limits: the seed's
     * sequence of ids must not change when those do.)
     */
    private String validBase() {
        return randomChars(8 + random.nextInt(SessionId.MAX_BASE_LENGTH - 8 + 1));
    }

    private String randomChars(int n) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(ID_CHARS.charAt(random.nextInt(ID_CHARS.length())));
        }
        return sb.toString();
    }

    private String hex(int n) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(HEX.charAt(random.nextInt(16)));
        }
        return sb.toString();
    }

    private static byte[] latin1(String s) {
        // Characters above U+00FF (none in the ASCII-built strings) would not survive; UTF-8 bits are added as bytes.
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] insert(byte[] b, int at, byte[] ins) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + ins.length);
        out.write(b, 0, at);
        out.writeBytes(ins);
        out.write(b, at, b.length - at);
        return out.toByteArray();
    }

    // ------------------------------------------------------------------ transports

    /** The request target for {@code path;jsessionid=<id>}: the id raw, or percent-encoded except unreserved characters. */
    static byte[] urlTarget(String path, FuzzId id) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(Http.ascii(path + ";jsessionid="));
        if (id.rawInUrl()) {
            out.writeBytes(id.bytes());
        } else {
            for (byte b : id.bytes()) {
                int c = b & 0xff;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                        || c == '.' || c == '~') {
                    out.write(c);
                } else {
                    out.writeBytes(Http.ascii(String.format("%%%02X", c)));
                }
            }
        }
        return out.toByteArray();
    }

    static byte[] cookieHeader(FuzzId id) {
        return Http.concat(Http.ascii("Cookie: JSESSIONID="), id.bytes(), Http.ascii("\r\n"));
    }

    /**
     * Every id a container could reasonably derive from what was sent (the value cut at a
     * delimiter, trimmed, unquoted) that SessionId accepts: only these may ever reach Redis.
     */
    static Set<String> validCandidates(FuzzId id, boolean viaUrl) {
        String s = id.latin1();
        Set<String> candidates = new LinkedHashSet<>();
        candidates.add(s);
        for (String delims : viaUrl ? new String[] {";", "/", "?", ";/?", "#"} : new String[] {";", ",", " ", ";,"}) {
            int cut = s.length();
            for (char d : delims.toCharArray()) {
                int i = s.indexOf(d);
                if (i >= 0) {
                    cut = Math.min(cut, i);
                }
            }
            candidates.add(s.substring(0, cut));
        }
        for (String c : List.copyOf(candidates)) {
            candidates.add(c.trim());
            String t = c.trim();
            if (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
                candidates.add(t.substring(1, t.length() - 1));
            }
        }
        Set<String> valid = new LinkedHashSet<>();
        for (String c : candidates) {
            if (SessionId.parse(c) != null) {
                valid.add(SessionId.parse(c).base());
            }
        }
        return valid;
    }
}
