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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * A shop user behind a balancer without affinity to the session, like a browser tab that sends two
 * requests at once now and then: two kept-alive connections to the balancer sharing one cookie jar.
 * After a FORM login it repeats: a pair of parallel requests (two adds, or an add and a cart read,
 * in turn), then a cart read. Every item is a name no other user or scenario uses. Every answer is
 * checked: the right user (never the login page), every item acknowledged so far still in a cart
 * answer, and whether the session cookie was set to another value (a rewrite).
 */
final class PairedUser {

    /** A request without a usable answer: {@code status} -1 for an I/O error. */
    record Failure(long atNanos, int status, String what) {
    }

    private static final String STICKY_SERVER = "sticky_server";
    static final int LOGIN_ATTEMPTS = 20;

    final ShopUser.Account account;
    private final String baseUrl;
    private final String itemPrefix;
    private final Http.Connection first;
    private final Http.Connection second;
    /** The cookies both connections send: JSESSIONID and a balancer's own (sticky_server). */
    private final Map<String, String> cookies = Collections.synchronizedMap(new LinkedHashMap<>());

    final List<String> acked = Collections.synchronizedList(new ArrayList<>());
    final List<Failure> failures = Collections.synchronizedList(new ArrayList<>());
    final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    volatile int requests;
    volatile int refused;
    volatile int loggedOut;
    volatile int cookieRewrites;
    volatile int missingSeen;
    /** Every answer after the login, in order, for the diagnosis of a lost item: time, request, status, node, cart size. */
    final List<String> trace = Collections.synchronizedList(new ArrayList<>());
    /** Every session base this user's cookies or pages named, login included: the diagnosis reads Redis's commands on each. */
    final Set<String> basesSeen = Collections.synchronizedSet(new LinkedHashSet<>());
    /** Login attempts refused (then tried again). */
    volatile int loginRetries;
    volatile boolean loggedIn;
    volatile String cookieAtLogin;

    PairedUser(ShopUser.Account account, String baseUrl, String itemPrefix) {
        this.account = account;
        this.baseUrl = baseUrl;
        this.itemPrefix = itemPrefix;
        URI base = URI.create(baseUrl);
        this.first = Http.keepAlive(base.getHost(), base.getPort());
        this.second = Http.keepAlive(base.getHost(), base.getPort());
    }

    String sessionCookie() {
        return cookies.get(Http.SESSION_COOKIE);
    }

    // ------------------------------------------------------------------------------ login

    /**
     * FORM login on the first connection, tried again (up to {@link #LOGIN_ATTEMPTS} times) when it is
     * refused, as a person would: behind a balancer without affinity the login form's request and the
     * {@code j_security_check} POST may reach different nodes (see {@link #loginRetries}). On failure
     * records why and returns false.
     */
    boolean login() {
        String why = null;
        for (int attempt = 1; attempt <= LOGIN_ATTEMPTS; attempt++) {
            why = loginOnce();
            if (why == null) {
                return true;
            }
            loginRetries++;
            if (loginRetries <= 2) {
                problems.add(account.name() + " login attempt " + attempt + " refused: " + why);
            }
        }
        loginRetries--; // the last attempt is a failure, not a retry
        failures.add(new Failure(System.nanoTime(), -1, "login: " + why));
        problems.add(account.name() + " login failed " + LOGIN_ATTEMPTS + " times, last: " + why);
        return false;
    }

    /** One login; null when it worked, else why not. */
    private String loginOnce() {
        try {
            Http.Reply r = followRedirects(send(first, "GET", "/shop/shop/cart?format=text", null), "/shop/shop/cart?format=text");
            if (r.status() == 200 && account.name().equals(ShopUser.fields(r.body()).get("user"))) {
                return loggedIn(); // an earlier attempt's POST went through, only its answer failed (a 502)
            }
            if (r.status() != 200 || !r.body().contains("j_security_check")) {
                return "the protected page did not lead to the login form: HTTP " + r.status();
            }
            Http.Reply answer = send(first, "POST", "/shop/j_security_check",
                    form("j_username", account.name(), "j_password", account.password()));
            if (answer.status() != 302 && answer.status() != 303) {
                return "j_security_check answered HTTP " + answer.status() + " (" + title(answer.body()) + ")";
            }
            r = followRedirects(answer, "/shop/j_security_check");
            if (r.status() != 200 || !account.name().equals(ShopUser.fields(r.body()).get("user"))) {
                return "after the login the cart page answered HTTP " + r.status() + ": " + ShopUser.abbreviate(r.body());
            }
            return loggedIn();
        } catch (UncheckedIOException e) {
            return e.getCause().toString();
        }
    }

    private String loggedIn() {
        cookieAtLogin = sessionCookie();
        loggedIn = cookieAtLogin != null;
        return loggedIn ? null : "no session cookie after the login";
    }

    private static String title(String html) {
        int a = html.indexOf("<title>");
        int b = html.indexOf("</title>");
        return a >= 0 && b > a ? html.substring(a + 7, b) : ShopUser.abbreviate(html);
    }

    private Http.Reply followRedirects(Http.Reply r, String path) {
        for (int hops = 0; hops < 5 && r.status() / 100 == 3 && r.location() != null; hops++) {
            URI target = URI.create(baseUrl + path).resolve(r.location());
            path = target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
            r = send(first, "GET", path, null);
        }
        return r;
    }

    // ------------------------------------------------------------------------------ shopping

    /**
     * Until {@code stop} or the deadline: a pair of parallel requests (odd rounds two adds, even rounds
     * an add and a cart read), then a cart read that checks every item acknowledged so far.
     */
    void shop(BooleanSupplier stop, long deadlineNanos, long thinkMillis, ExecutorService partners) {
        for (int round = 1; !stop.getAsBoolean() && System.nanoTime() < deadlineNanos && loggedOut == 0; round++) {
            String a = item(round, 'a');
            String b = item(round, 'b');
            boolean twoAdds = round % 2 == 1;
            CompletableFuture<Void> partner = CompletableFuture.runAsync(
                    () -> {
                        if (twoAdds) {
                            add(second, b);
                        } else {
                            read(second, "cart (paired)", ackedSoFar());
                        }
                    }, partners);
            add(first, a);
            partner.join();
            if (loggedOut > 0) {
                break;
            }
            think(thinkMillis);
            read(first, "cart", ackedSoFar());
            think(thinkMillis);
        }
    }

    Set<String> ackedSoFar() {
        synchronized (acked) {
            return Set.copyOf(acked);
        }
    }

    private String item(int round, char half) {
        return itemPrefix + account.name() + "-" + String.format(Locale.ROOT, "%04d", round) + half;
    }

    private void add(Http.Connection c, String item) {
        Map<String, String> f = call(c, "add " + item, "POST", "/shop/shop/add", form("item", item, "format", "text"), Set.of());
        if (f == null) {
            return;
        }
        if (!item.equals(f.get("added"))) {
            failures.add(new Failure(System.nanoTime(), 200, "add " + item + ": the answer does not confirm the item"));
            return;
        }
        acked.add(item);
    }

    private void read(Http.Connection c, String what, Set<String> mustHave) {
        call(c, what, "GET", "/shop/shop/cart?format=text", null, mustHave);
    }

    /** The final read after the traffic: the cart's items, or null. */
    List<String> finalCart() {
        Map<String, String> f = call(first, "final cart", "GET", "/shop/shop/cart?format=text", null, ackedSoFar());
        if (f == null) {
            return null;
        }
        String items = f.getOrDefault("items", "");
        return items.isEmpty() ? List.of() : List.of(items.split(","));
    }

    /** One request with its checks; the answer's fields when it was a 200 for this user. */
    private Map<String, String> call(Http.Connection c, String what, String method, String path, String body, Set<String> mustHave) {
        Http.Reply r;
        try {
            r = send(c, method, path, body);
        } catch (UncheckedIOException e) {
            failures.add(new Failure(System.nanoTime(), -1, what + ": " + e.getCause()));
            return null;
        }
        long at = System.nanoTime();
        if (loggedIn) {
            Map<String, String> tf = ShopUser.fields(r.body());
            String page = tf.get("session");
            trace.add(String.format(Locale.ROOT, "%d %s %s -> %d node=%s port=%s count=%s session=%s", at / 1_000_000, c == first ? "A" : "B", what,
                    r.status(), tf.get("node"), tf.get("port"), tf.get("count"), page == null ? null : page.substring(Math.max(0, page.length() - 10))));
        }
        String location = String.valueOf(r.location());
        if (r.body().contains("j_security_check") || (r.status() / 100 == 3 && location.contains("login"))) {
            loggedOut++;
            problems.add(account.name() + " LOGGED OUT at " + what + ": HTTP " + r.status() + " " + ShopUser.abbreviate(r.body()));
            return null;
        }
        if (r.status() == 503) {
            refused++;
            return null;
        }
        if (r.status() != 200) {
            failures.add(new Failure(at, r.status(), what + ": HTTP " + r.status() + " " + ShopUser.abbreviate(r.body())));
            return null;
        }
        Map<String, String> f = ShopUser.fields(r.body());
        if (!account.name().equals(f.get("user"))) {
            loggedOut++;
            problems.add(account.name() + " got another user's or no user's page at " + what + ": " + ShopUser.abbreviate(r.body()));
            return null;
        }
        Set<String> items = new LinkedHashSet<>(List.of(f.getOrDefault("items", "").split(",")));
        List<String> missing = mustHave.stream().filter(i -> !items.contains(i)).sorted().toList();
        if (!missing.isEmpty()) {
            missingSeen += missing.size();
            problems.add(account.name() + " " + what + " on " + f.get("node") + ": " + missing.size()
                    + " acknowledged item(s) missing, e.g. " + missing.subList(0, Math.min(3, missing.size())));
        }
        return f;
    }

    private Http.Reply send(Http.Connection c, String method, String path, String formBody) {
        synchronized (this) {
            requests++;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        if (formBody != null) {
            headers.put("Content-Type", "application/x-www-form-urlencoded");
        }
        String jar = cookieHeader();
        if (!jar.isEmpty()) {
            headers.put("Cookie", jar);
        }
        long sent = System.nanoTime();
        Http.Reply reply = c.send(method, path, headers, formBody);
        if (!loggedIn) {
            trace.add(String.format(Locale.ROOT, "%d-%d %s login step %s %s -> %d %s", sent / 1_000_000, System.nanoTime() / 1_000_000,
                    c == first ? "A" : "B", method, path, reply.status(), reply.setCookies().isEmpty() ? "" : "set-cookie"));
        }
        for (Http.SetCookie sc : reply.setCookies()) {
            if (Http.SESSION_COOKIE.equals(sc.name())) {
                String before = cookies.get(sc.name());
                String base = Http.base(sc.value());
                if (base != null) {
                    basesSeen.add(base);
                }
                if (cookieAtLogin != null && !sc.value().equals(before)) {
                    cookieRewrites++;
                    if (cookieRewrites <= 2) {
                        problems.add(account.name() + " session cookie rewritten at " + method + " " + path + " (route "
                                + Http.route(before) + " -> " + (sc.deletes() ? "deleted" : Http.route(sc.value())) + ")");
                    }
                }
            }
            if (sc.deletes()) {
                cookies.remove(sc.name());
            } else if (Http.SESSION_COOKIE.equals(sc.name()) || STICKY_SERVER.equals(sc.name())) {
                cookies.put(sc.name(), sc.value());
            }
        }
        return reply;
    }

    private String cookieHeader() {
        synchronized (cookies) {
            return cookies.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("; "));
        }
    }

    void close() {
        first.close();
        second.close();
    }

    private static void think(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
}
