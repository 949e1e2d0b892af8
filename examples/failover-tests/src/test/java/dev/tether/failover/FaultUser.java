package dev.tether.failover;

import dev.tether.failover.FaultLedger.Ack;
import dev.tether.failover.FaultLedger.Op;
import dev.tether.failover.FaultLedger.Outcome;
import dev.tether.testkit.Await;
import dev.tether.testkit.Http;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * One shop user of the fault suite, on its own thread: logs in (the id changes), adds items no one
 * else adds (half in place, half with setAttribute), reads the cart, sometimes sends two adds at
 * once, logs out and logs in again. Requests go through the balancer, or straight to a random node
 * while a balancer flap holds the user. Every request and answer goes to the ledger.
 *
 * <p>A session's items are checked when the session ends: the cart read right before the logout
 * (and the final read after the faults) must hold every item acknowledged in that session.
 */
final class FaultUser {

    private static final String CART = "/shop/shop/cart?format=text";

    final ShopUser.Account account;
    private final Random rng;
    private final FaultLedger ledger;
    private final int lbPort;
    private final Map<String, Integer> nodePorts;
    private final String itemPrefix;
    /** The user's own connections (one per target), used by the user's thread only. */
    private final Map<String, Http.Connection> connections = new HashMap<>();

    /** The browser's JSESSIONID. */
    private volatile String cookie;
    /** Until when (ledger ms) requests bypass the balancer. */
    volatile long flapUntilMs;
    /** The last time (ledger ms) a request of the logged-in session was acknowledged. */
    volatile long lastAckMs = -1;
    /** Set by the schedule when every copy of the current session may have been destroyed. */
    volatile boolean sessionExcused;

    private final List<Ack> sessionAcks = new ArrayList<>();
    private boolean loggedIn;
    /** The session has a cart: parallel adds then mutate it in place (creating it twice at once would race in the application). */
    private boolean hasCart;
    private int items;
    final List<String> loggedOutCookies = new ArrayList<>();
    /** Base id of each logged-out session, and when (ledger ms) its logout was acknowledged. */
    private final Map<String, Long> loggedOutAt = new HashMap<>();
    /** ...and the node that took the logout (the request's target, or the route its cookie named). */
    private final Map<String, String> loggedOutBy = new HashMap<>();
    /** Bases of ids a login replaced: none may have a record left. */
    final Set<String> replacedAtLogin = ConcurrentHashMap.newKeySet();
    int sessionsChecked;
    int logins;

    FaultUser(ShopUser.Account account, long seed, FaultLedger ledger, int lbPort, Map<String, Integer> nodePorts, String itemPrefix) {
        this.account = account;
        this.rng = new Random(seed);
        this.ledger = ledger;
        this.lbPort = lbPort;
        this.nodePorts = nodePorts;
        this.itemPrefix = itemPrefix;
    }

    String cookie() {
        return cookie;
    }

    // ------------------------------------------------------------------ the user's life

    void run(BooleanSupplier stop) {
        try {
            while (!stop.getAsBoolean()) {
                if (!loggedIn) {
                    login(stop);
                    continue;
                }
                int dice = rng.nextInt(100);
                if (dice < 50) {
                    add(rng.nextBoolean() ? "set" : "inplace");
                } else if (dice < 65 && hasCart) {
                    addTwoAtOnce();
                } else if (dice < 92 || sessionAcks.size() < 3) {
                    read("cart");
                } else if (checkSession("before logout")) {
                    logout();
                }
                Await.sleep(10 + rng.nextInt(40));
            }
        } finally {
            connections.values().forEach(Http.Connection::close);
        }
    }

    /** After the faults: the cart must hold every item of the session (retried while answers are refusals). */
    void finish() {
        long deadline = ledger.now() + 30_000;
        while (loggedIn && ledger.now() < deadline) {
            if (checkSession("final read")) {
                return;
            }
            Await.sleep(250);
        }
        if (loggedIn) {
            ledger.finding("unverified", account.name() + ": no final cart read within 30 s; " + sessionAcks.size()
                    + " acknowledged item(s) unchecked");
        }
        connections.values().forEach(Http.Connection::close);
    }

    // ------------------------------------------------------------------ login and logout

    private void login(BooleanSupplier stop) {
        Reply page = send("login page", "GET", CART, null);
        if (page.outcome == Outcome.ACK && page.userPage()) {
            // The cookie is a logged-out one (or none): this page must not know the user.
            String base = page.cookieSent == null ? null : Http.base(page.cookieSent);
            Long logoutMs = base == null ? null : loggedOutAt.get(base);
            if (logoutMs != null) {
                ledger.resurrected(account.name(), page.cookieSent, nodeName(page), loggedOutBy.get(base), logoutMs, page.startMs,
                        page.endMs);
                cookie = null; // never carry on with a session that was logged out: log in afresh
                return;
            }
            loggedIn = true; // a login that completed unseen (its answer was lost): carry on with it
            startSession();
            return;
        }
        if (!page.loginForm()) {
            Await.sleep(100);
            return;
        }
        String before = cookie;
        Reply posted = send("login", "POST", "/shop/j_security_check",
                form("j_username", account.name(), "j_password", account.password()));
        if (posted.status / 100 != 3 || posted.location() == null) {
            Await.sleep(100);
            return;
        }
        Reply after = send("login landing", "GET", path(posted.location()), null);
        if (after.outcome != Outcome.ACK || !after.userPage()) {
            Await.sleep(100);
            return;
        }
        if (before != null && cookie != null && !Http.base(before).equals(Http.base(cookie))) {
            replacedAtLogin.add(Http.base(before));
        }
        logins++;
        loggedIn = true;
        startSession();
        if (!after.fields().getOrDefault("items", "").isEmpty()) {
            ledger.finding("stale cart", account.name() + ": a fresh login shows items " + after.fields().get("items"));
        }
    }

    private void startSession() {
        sessionAcks.clear();
        hasCart = false;
        sessionExcused = false;
        lastAckMs = ledger.now();
    }

    private void logout() {
        for (int attempt = 0; attempt < 40; attempt++) {
            String sent = cookie;
            Reply r = send("logout", "GET", "/shop/logout", null);
            if (r.status / 100 == 3) {
                loggedOutCookies.add(sent);
                if (sent != null) {
                    loggedOutAt.put(Http.base(sent), r.endMs);
                    loggedOutBy.put(Http.base(sent), r.target.equals("lb") ? String.valueOf(Http.route(sent)) : r.target);
                }
                loggedIn = false;
                return;
            }
            Await.sleep(250);
        }
        ledger.finding("unverified", account.name() + ": the logout was not acknowledged in 40 tries");
    }

    // ------------------------------------------------------------------ shopping

    private void add(String mode) {
        String item = nextItem();
        Reply r = send("add " + mode, "POST", "/shop/shop/add", form("item", item, "format", "text", "mode", mode));
        acknowledge(r, item, mode);
    }

    /**
     * Two adds in flight at once, each on its own connection (and, in a flap, maybe on different
     * nodes), both mutating the existing cart in place: in one JVM that is safe (the cart is
     * synchronized), while a setAttribute of a copy racing an in-place add would lose an item in
     * the application itself, with or without Tether.
     */
    private void addTwoAtOnce() {
        String a = nextItem();
        String b = nextItem();
        CompletableFuture<Reply> first = CompletableFuture.supplyAsync(() -> sendOnce("add parallel", "POST",
                "/shop/shop/add", form("item", a, "format", "text", "mode", "inplace")));
        Reply second = sendOnce("add parallel", "POST", "/shop/shop/add", form("item", b, "format", "text", "mode", "inplace"));
        acknowledge(first.join(), a, "parallel inplace");
        acknowledge(second, b, "parallel inplace");
    }

    private void acknowledge(Reply r, String item, String mode) {
        if (r.outcome != Outcome.ACK) {
            return;
        }
        Map<String, String> f = r.fields();
        if (!item.equals(f.get("added"))) {
            return; // not this user's page: already recorded as a failure or a loss of the login
        }
        sessionAcks.add(new Ack(account.name(), item, mode, r.endMs, r.node(), r.cookieSent));
        hasCart = true;
        lastAckMs = r.endMs;
    }

    private void read(String what) {
        Reply r = send(what, "GET", CART, null);
        if (r.outcome == Outcome.ACK && r.userPage()) {
            lastAckMs = r.endMs;
        }
    }

    /**
     * Reads the cart and checks the session's acknowledged items against it; returns whether the
     * check could be made (a refusal or a dead node: try again later).
     */
    private boolean checkSession(String what) {
        Reply r = send(what, "GET", CART, null);
        if (r.outcome != Outcome.ACK || !r.userPage()) {
            return !loggedIn;
        }
        lastAckMs = r.endMs;
        List<String> listed = List.of(r.fields().getOrDefault("items", "").split(","));
        Set<String> cart = new java.util.HashSet<>(listed);
        if (cart.size() < listed.size()) {
            ledger.finding("duplicates", account.name() + ": the cart read at " + r.endMs + " ms on " + nodeName(r) + " lists "
                    + (listed.size() - cart.size()) + " item(s) twice (a replayed POST, or a change applied twice)");
        }
        for (Ack a : sessionAcks) {
            if (!cart.contains(a.item())) {
                lost(a, what + " on " + r.node() + " (cookie " + short_(r.cookieSent) + ", cart of " + cart.size() + ")");
            }
        }
        sessionsChecked++;
        sessionAcks.clear();
        return true;
    }

    private void lost(Ack a, String where) {
        if (sessionExcused) {
            ledger.excused.add(a);
            return;
        }
        ledger.lost.add(a);
        ledger.finding("lost", account.name() + ": item " + a.item() + " (" + a.mode() + ", acknowledged by " + a.node() + " at "
                + a.atMs() + " ms, cookie " + short_(a.cookie()) + ") missing at " + where + "; faults near the ack: "
                + ledger.faultsAround(a.atMs() - 5_000, a.atMs() + 5_000) + "; Redis now: " + redisCart(a));
    }

    private String redisCart(Ack a) {
        try {
            return ledger.redisCart.apply(Http.base(a.cookie()), a.item());
        } catch (RuntimeException e) {
            return "(not readable: " + e.getMessage() + ")";
        }
    }

    /** The answer showed the login page inside a logged-in session: the session (and its items) is gone. */
    private void sessionLost(Reply r) {
        ledger.finding("logged out", account.name() + ": " + r.kind + " via " + r.target + " at " + r.endMs
                + " ms answered the login page (cookie " + short_(r.cookieSent) + ")");
        for (Ack a : sessionAcks) {
            lost(a, "the session's loss at " + r.endMs + " ms");
        }
        sessionAcks.clear();
        loggedIn = false;
    }

    private String nextItem() {
        return itemPrefix + account.name() + "-" + (++items);
    }

    // ------------------------------------------------------------------ HTTP

    private String target() {
        if (ledger.now() < flapUntilMs) {
            List<String> names = new ArrayList<>(nodePorts.keySet());
            return names.get(rng.nextInt(names.size()));
        }
        return "lb";
    }

    private int port(String target) {
        return target.equals("lb") ? lbPort : nodePorts.get(target);
    }

    /** On the user's kept-alive connection to the target. */
    private Reply send(String kind, String method, String path, String form) {
        String target = target();
        if (!target.equals("lb")) {
            // A connection straight to a node sits idle between flaps, and the node closes idle ones
            // (keep-alive timeout): a fresh one per request, so that no such close counts as an error.
            try (Http.Connection c = Http.keepAlive("127.0.0.1", port(target))) {
                return exchange(c, target, kind, method, path, form);
            }
        }
        Http.Connection c = connections.computeIfAbsent(target, t -> Http.keepAlive("127.0.0.1", port(t)));
        return exchange(c, target, kind, method, path, form);
    }

    /** On a connection of its own (parallel requests). */
    private Reply sendOnce(String kind, String method, String path, String form) {
        String target;
        synchronized (rng) {
            target = target();
        }
        try (Http.Connection c = Http.keepAlive("127.0.0.1", port(target))) {
            return exchange(c, target, kind, method, path, form);
        }
    }

    private Reply exchange(Http.Connection c, String target, String kind, String method, String path, String form) {
        String sent = cookie;
        Map<String, String> headers = new HashMap<>();
        if (sent != null) {
            headers.put("Cookie", Http.SESSION_COOKIE + "=" + sent);
        }
        if (form != null) {
            headers.put("Content-Type", "application/x-www-form-urlencoded");
        }
        long start = ledger.now();
        Http.Reply answer;
        try {
            answer = c.send(method, path, headers, form == null && method.equals("POST") ? "" : form);
        } catch (UncheckedIOException e) {
            Reply r = new Reply(kind, target, sent, -1, null, start, ledger.now(), Outcome.UNREACHABLE);
            ledger.op(new Op(account.name(), kind, target, start, r.endMs, -1, Outcome.UNREACHABLE, e.getMessage()));
            return r;
        }
        long end = ledger.now();
        synchronized (this) { // two parallel requests: one answer at a time
            return record(kind, target, sent, answer, start, end);
        }
    }

    private Reply record(String kind, String target, String sent, Http.Reply answer, long start, long end) {
        for (Http.SetCookie sc : answer.setCookies()) {
            if (sc.name().equals(Http.SESSION_COOKIE)) {
                cookie = sc.deletes() ? null : sc.value();
            }
        }
        Reply r = new Reply(kind, target, sent, answer.status(), answer, start, end, classify(answer));
        String detail = "";
        if (r.outcome == Outcome.ACK && !kind.startsWith("login") && !kind.equals("logout")) {
            if (r.loginForm()) {
                if (loggedIn) {
                    sessionLost(r);
                }
                r = r.as(Outcome.RETRY);
                detail = "login page";
            } else if (!r.userPage()) {
                r = r.as(Outcome.FAILURE);
                detail = "not this user's page: " + ShopUser.abbreviate(answer.body());
                ledger.finding("wrong page", account.name() + " " + kind + " via " + target + ": " + detail);
            }
        }
        if (r.outcome == Outcome.FAILURE && detail.isEmpty()) {
            detail = ShopUser.abbreviate(answer.body());
            ledger.finding("failure", account.name() + " " + kind + " via " + target + " at " + end + " ms: HTTP "
                    + answer.status() + " " + detail);
        }
        if (r.outcome == Outcome.REFUSED && answer.header("retry-after").isEmpty()) {
            detail = "503 without Retry-After";
        }
        ledger.op(new Op(account.name(), kind, target, start, end, answer.status(), r.outcome, detail));
        return r;
    }

    private Outcome classify(Http.Reply a) {
        int s = a.status();
        if (s / 100 == 2 || s / 100 == 3) {
            return Outcome.ACK;
        }
        if (s == 503) {
            return a.body().contains("No server is available") ? Outcome.BALANCER : Outcome.REFUSED;
        }
        if (s == 502 || s == 504) {
            return Outcome.BALANCER;
        }
        if (s / 100 == 4) {
            return Outcome.RETRY; // a login form that expired (408), say: the user starts over
        }
        return Outcome.FAILURE;
    }

    private record Reply(String kind, String target, String cookieSent, int status, Http.Reply answer, long startMs, long endMs,
            Outcome outcome) {
        Reply as(Outcome o) {
            return new Reply(kind, target, cookieSent, status, answer, startMs, endMs, o);
        }

        Map<String, String> fields() {
            return answer == null ? Map.of() : ShopUser.fields(answer.body());
        }

        boolean loginForm() {
            return answer != null && (answer.body().contains("j_security_check")
                    || (status / 100 == 3 && String.valueOf(answer.location()).contains("login")));
        }

        boolean userPage() {
            return status == 200 && fields().containsKey("user") && !fields().get("user").isEmpty() && !loginForm();
        }

        String location() {
            return answer == null ? null : answer.location();
        }

        String node() {
            return "port " + fields().getOrDefault("port", "?") + " (" + fields().getOrDefault("node", "?") + ")";
        }
    }

    /** The name of the node that answered, from the port the page shows. */
    private String nodeName(Reply r) {
        String port = r.fields().get("port");
        return nodePorts.entrySet().stream().filter(e -> String.valueOf(e.getValue()).equals(port)).map(Map.Entry::getKey)
                .findFirst().orElse("port " + port);
    }

    private static String path(String location) {
        URI u = URI.create(location);
        String p = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        return p + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    }

    private static String form(String... kv) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            sb.append(sb.length() > 0 ? "&" : "").append(URLEncoder.encode(kv[i], StandardCharsets.UTF_8)).append('=')
                    .append(URLEncoder.encode(kv[i + 1], StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    /** The first characters of an id: enough to find it in a log, never the whole id. */
    static String short_(String id) {
        return id == null ? "none" : id.substring(0, Math.min(6, id.length())) + "…" + (Http.route(id) == null ? "" : "." + Http.route(id));
    }
}
