package dev.tether.failover;

import dev.tether.testkit.Http;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * One simulated shop user behind the balancer: a cookie jar of its own, a FORM login, then adds
 * (POST, each item a name no other user and no other scenario uses) and cart reads, with a short
 * think time, until told to stop. Every answer is checked: the right user, the session not
 * renewed, every item acknowledged so far still in the cart, and (where the balancer's affinity
 * names a node) served by the node the affinity names while that node is up.
 */
final class ShopUser {

    record Account(String name, String password) {
    }

    /** A request that did not get a usable answer (I/O error, timeout, a status other than 200). */
    record Failure(long atNanos, String what) {
    }

    /** Whether a node was up (not killed, or started again) for the whole of a request. */
    interface Liveness {
        boolean upThroughout(String node, long fromNanos, long toNanos);

        /** When a node was killed (System.nanoTime()), or Long.MAX_VALUE before that. */
        long killedAt();
    }

    final Account account;
    private final String baseUrl;
    /** One kept-alive connection with a cookie jar, like a browser tab's. */
    private final Http.Connection http;
    private final String itemPrefix;
    private final Balancer.Affinity affinity;
    private final IntFunction<String> nodeByPort;
    private final Liveness liveness;

    // Written by the user's own thread only; read by the driver after it joined that thread.
    final List<String> acked = new ArrayList<>();
    /** When (System.nanoTime()) each item of {@link #acked} was acknowledged: the answer had arrived. */
    final List<Long> ackedAtNanos = new ArrayList<>();
    private final Set<String> ackedSet = new LinkedHashSet<>();
    final List<Failure> failures = Collections.synchronizedList(new ArrayList<>());
    final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    int requests;
    int loggedOut;
    int missingSeen;
    int misroutes;
    int idChanges;
    long maxLatencyNanos;
    String baseIdAtLogin;
    volatile String lastNode;
    /** Nodes that answered requests sent after the kill. */
    final Set<String> nodesAfterKill = ConcurrentHashMap.newKeySet();
    /** Latencies of successful requests, as (start, nanos) pairs, for the switch report. */
    final List<long[]> latencies = new ArrayList<>();

    ShopUser(Account account, String baseUrl, String itemPrefix, Balancer.Affinity affinity, IntFunction<String> nodeByPort,
            Liveness liveness) {
        this.account = account;
        this.baseUrl = baseUrl;
        URI base = URI.create(baseUrl);
        this.http = Http.browser(base.getHost(), base.getPort());
        this.itemPrefix = itemPrefix;
        this.affinity = affinity;
        this.nodeByPort = nodeByPort;
        this.liveness = liveness;
    }

    /** The JSESSIONID the browser holds now, or null. */
    String sessionCookie() {
        return http.cookie(Http.SESSION_COOKIE);
    }

    String cookie(String name) {
        return http.cookie(name);
    }

    // ------------------------------------------------------------------------------ login

    /** FORM login through the balancer; on failure records why and returns false. */
    boolean login() {
        try {
            Reply r = followRedirects(send("GET", "/shop/shop/cart?format=text", null));
            if (r.status != 200 || !r.body.contains("j_security_check")) {
                return loginFailed("the protected page did not lead to the login form: " + r);
            }
            Reply answer = send("POST", "/shop/j_security_check",
                    form("j_username", account.name(), "j_password", account.password()));
            if (answer.status != 302 && answer.status != 303) {
                return loginFailed("j_security_check answered " + answer);
            }
            r = followRedirects(answer);
            Map<String, String> f = fields(r.body);
            if (r.status != 200 || !account.name().equals(f.get("user"))) {
                return loginFailed("after the login the cart page answered " + r);
            }
            baseIdAtLogin = Http.base(sessionCookie());
            if (baseIdAtLogin == null || !samePageSession(f.get("session"))) {
                return loginFailed("cookie " + sessionCookie() + " but the page shows session " + f.get("session"));
            }
            lastNode = nodeByPort.apply(parsePort(f.get("port")));
            return true;
        } catch (UncheckedIOException e) {
            return loginFailed(e.getCause().toString());
        }
    }

    private boolean loginFailed(String why) {
        failures.add(new Failure(System.nanoTime(), "login: " + why));
        problems.add(account.name() + " login failed: " + why);
        return false;
    }

    private Reply followRedirects(Reply r) {
        for (int hops = 0; hops < 5 && (r.status == 301 || r.status == 302 || r.status == 303 || r.status == 307); hops++) {
            String location = r.header("location");
            if (location == null) {
                return r;
            }
            URI target = URI.create(baseUrl + r.path).resolve(location);
            String path = target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
            r = send("GET", path, null);
        }
        return r;
    }

    // ------------------------------------------------------------------------------ shopping

    /** Adds and reads until {@code stop}, the deadline or {@code maxIterations}; stops early when logged out. */
    void shop(BooleanSupplier stop, long deadlineNanos, int maxIterations, long thinkMillis) {
        for (int i = 1; i <= maxIterations && !stop.getAsBoolean() && System.nanoTime() < deadlineNanos && loggedOut == 0; i++) {
            String item = itemPrefix + account.name() + "-" + String.format(Locale.ROOT, "%04d", i);
            call("add " + item, "POST", "/shop/shop/add", form("item", item, "format", "text"), item);
            think(thinkMillis);
            if (loggedOut > 0 || stop.getAsBoolean()) {
                break;
            }
            call("cart", "GET", "/shop/shop/cart?format=text", null, null);
            think(thinkMillis);
        }
    }

    /** The final read after the traffic, the node restarted: returns the cart's items, or null. */
    List<String> finalCart() {
        Map<String, String> f = call("final cart", "GET", "/shop/shop/cart?format=text", null, null);
        if (f == null) {
            return null;
        }
        String items = f.getOrDefault("items", "");
        return items.isEmpty() ? List.of() : List.of(items.split(","));
    }

    /** One request with every check; returns the answer's fields when it was a good one. */
    private Map<String, String> call(String what, String method, String path, String body, String addedItem) {
        String expectedNode = switch (affinity) {
            case ROUTE_SUFFIX -> Http.route(sessionCookie());
            case SERVERID_COOKIE -> cookie("SERVERID");
            case CLIENT_IP, NONE, SERVER_INDEX_COOKIE -> null;
        };
        long t0 = System.nanoTime();
        Reply r;
        try {
            r = send(method, path, body);
        } catch (UncheckedIOException e) {
            failures.add(new Failure(System.nanoTime(), what + ": " + e.getCause()));
            return null;
        }
        long t1 = System.nanoTime();
        if (r.body.contains("j_security_check") || (r.status / 100 == 3 && String.valueOf(r.header("location")).contains("login"))) {
            loggedOut++;
            problems.add(account.name() + " LOGGED OUT at " + what + ": " + r);
            return null;
        }
        if (r.status != 200) {
            failures.add(new Failure(t1, what + ": HTTP " + r.status + " " + abbreviate(r.body)));
            return null;
        }
        Map<String, String> f = fields(r.body);
        if (!account.name().equals(f.get("user"))) {
            loggedOut++;
            problems.add(account.name() + " got another user's or no user's page at " + what + ": " + r);
            return null;
        }
        if (addedItem != null && !addedItem.equals(f.get("added"))) {
            failures.add(new Failure(t1, what + ": the answer does not confirm the item: " + abbreviate(r.body)));
            return null;
        }
        String node = nodeByPort.apply(parsePort(f.get("port")));
        // The session: same base as at login, and the page's id is the cookie the browser holds now.
        String session = f.get("session");
        if (!samePageSession(session) || !baseIdAtLogin.equals(Http.base(sessionCookie()))) {
            idChanges++;
            problems.add(account.name() + " session id changed at " + what + ": cookie " + sessionCookie() + ", page " + session
                    + ", base at login " + baseIdAtLogin);
        }
        Set<String> items = new LinkedHashSet<>(List.of(f.getOrDefault("items", "").split(",")));
        int missing = 0;
        for (String a : ackedSet) {
            if (!items.contains(a)) {
                missing++;
            }
        }
        if (missing > 0) {
            missingSeen += missing;
            problems.add(account.name() + " " + what + " on " + node + ": " + missing + " acknowledged item(s) missing from the cart");
        }
        if (expectedNode != null && !expectedNode.equals(node) && liveness.upThroughout(expectedNode, t0, t1)) {
            misroutes++;
            problems.add(account.name() + " " + what + ": affinity named " + expectedNode + " (up) but " + node + " answered");
        }
        if (addedItem != null) {
            acked.add(addedItem);
            ackedAtNanos.add(t1);
            ackedSet.add(addedItem);
        }
        lastNode = node;
        if (t0 >= liveness.killedAt()) {
            nodesAfterKill.add(node);
        }
        maxLatencyNanos = Math.max(maxLatencyNanos, t1 - t0);
        latencies.add(new long[] {t0, t1 - t0});
        return f;
    }

    /**
     * Whether the page's session id is the cookie's: Tomcat's getId() is the full id, Jetty's the
     * id without the ".workerName" suffix (Jetty adds that to the cookie only).
     */
    private boolean samePageSession(String pageSession) {
        String cookie = sessionCookie();
        return cookie != null && pageSession != null && (pageSession.equals(cookie) || pageSession.equals(Http.base(cookie)));
    }

    private static void think(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------------------ HTTP

    private record Reply(String path, int status, Http.Reply answer, String body) {
        String header(String name) {
            List<String> v = answer.header(name);
            return v.isEmpty() ? null : v.get(0);
        }

        @Override
        public String toString() {
            return "HTTP " + status + " for " + path + (header("location") != null ? " -> " + header("location") : "") + ": "
                    + abbreviate(body);
        }
    }

    private Reply send(String method, String path, String formBody) {
        requests++;
        Map<String, String> headers = formBody == null ? Map.of() : Map.of("Content-Type", "application/x-www-form-urlencoded");
        Http.Reply answer = http.send(method, path, headers, formBody);
        return new Reply(path, answer.status(), answer, answer.body());
    }

    /** Closes the user's connection to the balancer. */
    void close() {
        http.close();
    }

    static Map<String, String> fields(String body) {
        Map<String, String> f = new LinkedHashMap<>();
        for (String line : body.split("\r?\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && line.substring(0, eq).indexOf(' ') < 0) {
                f.putIfAbsent(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return f;
    }

    private static int parsePort(String port) {
        try {
            return port == null ? -1 : Integer.parseInt(port.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String form(String... kv) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            sb.append(URLEncoder.encode(kv[i], StandardCharsets.UTF_8)).append('=').append(URLEncoder.encode(kv[i + 1], StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    static String abbreviate(String s) {
        String one = s.replaceAll("\\s+", " ").trim();
        return one.length() <= 160 ? one : one.substring(0, 160) + "...";
    }
}
