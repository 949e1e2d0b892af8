package dev.tether.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.SessionId;
import dev.tether.testkit.DumpLogsOnFailure;
import dev.tether.testkit.Http;
import dev.tether.testkit.Http.Reply;
import dev.tether.testkit.RedisMonitor;
import dev.tether.testkit.RedisProcess;
import dev.tether.testkit.ServerNode;
import dev.tether.testkit.TomcatNode;
import dev.tether.tomcat.e2e.SessionIdFuzz.FuzzId;
import dev.tether.tomcat.e2e.app.EvilGadget;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.InvalidClassException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile input on two real Tomcat 10.1 nodes: what arrives in requests (session ids) and what an
 * attacker with write access to Redis plants in a record (serialized gadgets, deep graphs, huge
 * array headers, garbage), plus an attribute over the size limit.
 *
 * <p>Each node runs the test application twice: {@code /app} with
 * {@code denyClasses="dev.tether.tomcat.e2e.app.Evil*"} (the default limits otherwise: maxDepth 100,
 * maxArrayLength 1,000,000, maxAttributeBytes 1 MiB), and {@code /small} with
 * {@code maxAttributeBytes="4096"} and no deny list (the control: there the gadget does run). The
 * connector accepts 64 KiB headers, so that 10,000-character ids reach Tether rather than being
 * refused by Tomcat's header limit.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DumpLogsOnFailure.class)
@DisplayName("Hostile session ids and hostile Redis contents on Apache Tomcat 10.1 (real distribution)")
class Tomcat10HostileInputIT implements DumpLogsOnFailure.WithNodes {

    static final long FUZZ_SEED = 20261121L;
    static final int FUZZ_IDS = 10_000;
    static final int FUZZ_THREADS = 8;
    static final String SMALL_PREFIX = "tether:tomcat:localhost/small:";
    static final Pattern KEY = Pattern.compile("tether:tomcat:localhost/(app|small):\\{([A-Za-z0-9_-]{"
            + SessionId.MIN_BASE_LENGTH + "," + SessionId.MAX_BASE_LENGTH + "})\\}(:gone)?");

    RedisProcess redis;
    TomcatNode node1;
    TomcatNode node2;

    @BeforeAll
    void startCluster() throws Exception {
        redis = RedisProcess.start();
        var work = E2eSupport.workDir("hostile-tomcat-10.1");
        var home = E2eSupport.tomcatHome("10.1");
        node1 = E2eSupport.node(work, "node1", home, redis.uri());
        node2 = E2eSupport.node(work, "node2", home, redis.uri());
        for (TomcatNode n : List.of(node1, node2)) {
            n.editServerXml(xml -> xml.replace("protocol=\"HTTP/1.1\"", "protocol=\"HTTP/1.1\" maxHttpHeaderSize=\"65536\""));
            E2eSupport.deployTestApp(n, "app", contextXml("denyClasses=\"dev.tether.tomcat.e2e.app.Evil*\""));
            E2eSupport.deployTestApp(n, "small", contextXml("maxAttributeBytes=\"4096\""));
        }
        ServerNode.startAll(node1, node2);
        for (TomcatNode n : List.of(node1, node2)) {
            assertTrue(n.logContains("Tether: sessions of /app are kept in Redis"), n.name() + ": Tether not active on /app");
            assertTrue(n.logContains("Tether: sessions of /small are kept in Redis"), n.name() + ": Tether not active on /small");
        }
    }

    private String contextXml(String managerAttributes) {
        return """
                <?xml version="1.0" encoding="UTF-8"?>
                <Context>
                  <JarScanner scanClassPath="false"/>
                  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="%s" %s/>
                </Context>
                """.formatted(redis.uri(), managerAttributes);
    }

    @AfterAll
    void stopCluster() {
        ServerNode.killAll(node1, node2);
        if (redis != null) {
            redis.close();
        }
    }

    @Override
    public List<TomcatNode> nodes() {
        return Arrays.asList(node1, node2);
    }

    // ------------------------------------------------------------------ 3a: session id fuzzing

    @Test
    @Order(1)
    @DisplayName("3a. 10,000 fuzzed session ids by cookie and by URL: no 5xx, no exception, no Redis key from an invalid id")
    void fuzzSessionIds() throws Exception {
        // Live sessions, whose bases some fuzzed ids reuse with forged routes.
        List<String> live = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Reply r = Http.get(node1.port(), "/app/set?k=owner&v=live" + i, null);
            assertEquals(200, r.status(), r::toString);
            live.add(r.sessionCookie().value());
        }
        List<String> liveBases = live.stream().map(Http::base).toList();
        List<FuzzId> ids = new SessionIdFuzz(FUZZ_SEED, liveBases).generate(FUZZ_IDS);
        Thread.sleep(300); // nothing of the set-up may still be in flight when MONITOR starts

        long log1 = node1.logSize();
        long log2 = node2.logSize();
        Map<String, AtomicInteger> statuses = new java.util.concurrent.ConcurrentSkipListMap<>(); // written by every fuzz thread
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        // base -> requests that could legitimately have looked it up
        Map<String, AtomicInteger> mayLookUp = new ConcurrentHashMap<>();
        AtomicInteger requestsWithValidId = new AtomicInteger();
        List<String> monitorLines;
        long started = System.nanoTime();
        try (RedisMonitor monitor = redis.monitor()) {
            ExecutorService pool = Executors.newFixedThreadPool(FUZZ_THREADS);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < FUZZ_THREADS; t++) {
                    int first = t;
                    futures.add(pool.submit(() -> {
                        for (int i = first; i < ids.size(); i += FUZZ_THREADS) {
                            FuzzId id = ids.get(i);
                            for (boolean viaUrl : new boolean[] {false, true}) {
                                TomcatNode node = (i + (viaUrl ? 1 : 0)) % 2 == 0 ? node1 : node2;
                                byte[] request = viaUrl ? Http.rawGet(SessionIdFuzz.urlTarget("/app/get", id), null)
                                        : Http.rawGet(Http.ascii("/app/get"), SessionIdFuzz.cookieHeader(id));
                                Set<String> valid = SessionIdFuzz.validCandidates(id, viaUrl);
                                if (!valid.isEmpty()) {
                                    requestsWithValidId.incrementAndGet();
                                    valid.forEach(b -> mayLookUp.computeIfAbsent(b, k -> new AtomicInteger()).incrementAndGet());
                                }
                                Http.RawReply r = Http.sendRaw(node.port(), request);
                                String key = r.status() < 0 ? "connection error" : Integer.toString(r.status());
                                statuses.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                                if (r.status() < 0 || r.status() >= 500) {
                                    failures.add("#" + i + " " + id.kind() + (viaUrl ? " via URL" : " via cookie") + " to "
                                            + node.name() + ": " + (r.status() < 0 ? r.error() : r.statusLine())
                                            + " id=" + printable(id.bytes()));
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get(180, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            Thread.sleep(500); // let MONITOR deliver the last lines
            monitorLines = monitor.lines();
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        Map<String, Integer> byKind = new TreeMap<>();
        ids.forEach(id -> byKind.merge(id.kind().startsWith("boundary") ? "boundary" : id.kind(), 1, Integer::sum));
        System.out.printf("[e2e] Tomcat 10.1 fuzz: %d ids x (cookie, URL) = %d requests in %d ms; statuses %s; kinds %s%n",
                ids.size(), ids.size() * 2, millis, statuses, byKind);

        assertEquals(List.of(), List.copyOf(failures).subList(0, Math.min(10, failures.size())),
                failures.size() + " requests failed (5xx or connection error); first ones shown");

        // Every key in every command Redis saw is <prefix>{<valid base>}[:gone], for a base some request could name.
        Map<String, Integer> takeOverAttempts = new HashMap<>();
        List<String> violations = new ArrayList<>();
        Map<String, Integer> commandCounts = new TreeMap<>();
        for (String line : monitorLines) {
            if (line.startsWith("+OK")) {
                continue;
            }
            List<String> cmd = parseMonitorLine(line);
            if (cmd.isEmpty()) {
                violations.add("unparsable MONITOR line: " + line);
                continue;
            }
            String name = cmd.get(0).toLowerCase(java.util.Locale.ROOT);
            boolean lua = line.contains(" lua] ");
            commandCounts.merge((lua ? "lua:" : "") + name, 1, Integer::sum);
            List<String> keys = new ArrayList<>();
            switch (name) {
                case "evalsha", "eval" -> {
                    int n = Integer.parseInt(cmd.get(2));
                    keys.addAll(cmd.subList(3, 3 + n));
                    // The take-over script has one key (save and delete have two). An EVAL only follows an
                    // EVALSHA that found the script missing (the first use on a node), so EVALSHAs count attempts.
                    if (n == 1 && name.equals("evalsha")) {
                        Matcher m = KEY.matcher(cmd.get(3));
                        if (m.matches()) {
                            takeOverAttempts.merge(m.group(2), 1, Integer::sum);
                        }
                    }
                }
                case "hmget", "hset", "hgetall", "hdel", "hget", "hlen", "expire", "persist", "pexpire", "set", "type", "ttl", "zadd",
                        "zrem", "zcount" ->
                        keys.add(cmd.get(1));
                case "exists", "del" -> keys.addAll(cmd.subList(1, cmd.size()));
                case "publish" -> {
                    if (!cmd.get(1).equals(E2eSupport.KEY_PREFIX + "ownership") && !cmd.get(1).equals(SMALL_PREFIX + "ownership")) {
                        violations.add("publish on an unexpected channel: " + line);
                    }
                    String base = cmd.get(2).split(" ", 2)[0];
                    if (!base.matches("[A-Za-z0-9_-]{" + SessionId.MIN_BASE_LENGTH + "," + SessionId.MAX_BASE_LENGTH + "}")) {
                        violations.add("ownership message for an invalid base: " + line);
                    }
                }
                case "ping", "hello", "client", "subscribe", "info", "command", "select", "auth", "zrangebyscore" -> {
                    // no keys
                }
                default -> violations.add("unexpected command " + name + ": " + line);
            }
            for (String key : keys) {
                Matcher m = KEY.matcher(key);
                if (key.matches("tether:tomcat:localhost/(app|small):expiry:\\{\\d+\\}")) {
                    continue; // the expiry index: its buckets, named by number
                }
                if (key.matches("tether:tomcat:localhost/(app|small):(nodes|user:\\{[0-9a-f]{32}\\})")) {
                    continue; // the nodes' reports of their counts; a user's index, named by a digest
                }
                if (!m.matches()) {
                    violations.add("key of an unexpected form " + printable(key.getBytes(StandardCharsets.ISO_8859_1)) + ": " + line);
                } else if (!mayLookUp.containsKey(m.group(2))) {
                    violations.add("key for a base no request carried as a valid id: " + key + ": " + line);
                }
            }
        }
        for (Map.Entry<String, Integer> e : takeOverAttempts.entrySet()) {
            int allowed = mayLookUp.get(e.getKey()) == null ? 0 : mayLookUp.get(e.getKey()).get();
            if (e.getValue() > allowed) {
                violations.add(e.getValue() + " take-over attempts for " + e.getKey() + ", but only " + allowed + " requests carried it");
            }
        }
        int attempts = takeOverAttempts.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("[e2e] Tomcat 10.1 fuzz: Redis saw %s (%d take-over attempts for %d distinct bases; %d requests carried"
                + " a valid id)%n", commandCounts, attempts, takeOverAttempts.size(), requestsWithValidId.get());
        assertEquals(List.of(), violations.subList(0, Math.min(10, violations.size())),
                violations.size() + " MONITOR violations; first ones shown");
        assertTrue(attempts <= requestsWithValidId.get(), "at most one take-over attempt per request with a valid id");
        assertTrue(attempts > 0, "valid-but-unknown ids must have reached Redis at least once (is MONITOR working?)");

        // The logs: no SEVERE, no exception from Tether, and Tether itself said nothing about ids.
        for (TomcatNode n : List.of(node1, node2)) {
            String text = n.logSince(n == node1 ? log1 : log2);
            assertEquals(List.of(), E2eSupport.linesContaining(text, "SEVERE"), n.name() + ": SEVERE lines");
            assertEquals(List.of(), text.lines().filter(l -> l.trim().startsWith("at dev.tether")).toList(),
                    n.name() + ": stack frames of Tether");
            // Tether says nothing about malformed or unknown ids; the only expected line is the INFO
            // summary about live sessions that forged routes moved to the other node.
            assertEquals(List.of(), E2eSupport.linesContaining(text, "Tether:").stream()
                    .filter(l -> !(l.contains(" INFO ") && l.contains("session(s) moved to other nodes"))).toList(),
                    n.name() + ": Tether log lines during the fuzz");
            String localhost = n.localhostLogs();
            assertEquals(List.of(), localhost.lines().filter(l -> l.contains("Exception") || l.contains("SEVERE")).toList(),
                    n.name() + ": exceptions in localhost.*.log (thrown out of the application or filters)");
            List<String> exceptions = text.lines().map(String::trim).filter(l -> l.matches("^[a-z]+(\\.[a-zA-Z0-9_$]+)+(Exception|Error)\\b.*"))
                    .map(l -> l.length() > 100 ? l.substring(0, 100) + "…" : l).distinct().toList();
            System.out.printf("[e2e] Tomcat 10.1 fuzz: %s logged these exception lines (Tomcat's own request parsing): %s%n",
                    n.name(), exceptions);
        }

        // The live sessions are intact, wherever the forged routes moved them.
        for (int i = 0; i < live.size(); i++) {
            Reply r = Http.get(node1.port(), "/app/get", liveBases.get(i) + ".node1");
            assertEquals(200, r.status(), r::toString);
            assertEquals(Map.of("owner", "live" + i), r.attributes(), r::toString);
        }
        assertTrue(node1.isAlive() && node2.isAlive());
    }

    /** A MONITOR line's command and arguments ({@code ts [db addr] "cmd" "arg" ...}), unescaped. */
    static List<String> parseMonitorLine(String line) {
        List<String> out = new ArrayList<>();
        int i = line.indexOf("] \"");
        if (i < 0) {
            return out;
        }
        i += 2;
        while (i < line.length()) {
            if (line.charAt(i) != '"') {
                i++;
                continue;
            }
            StringBuilder sb = new StringBuilder();
            i++;
            while (i < line.length() && line.charAt(i) != '"') {
                char c = line.charAt(i);
                if (c == '\\' && i + 1 < line.length()) {
                    char e = line.charAt(++i);
                    switch (e) {
                        case 'n' -> sb.append('\n');
                        case 'r' -> sb.append('\r');
                        case 't' -> sb.append('\t');
                        case 'a' -> sb.append('\u0007');
                        case 'b' -> sb.append('\b');
                        case 'x' -> {
                            sb.append((char) Integer.parseInt(line.substring(i + 1, i + 3), 16));
                            i += 2;
                        }
                        default -> sb.append(e);
                    }
                } else {
                    sb.append(c);
                }
                i++;
            }
            out.add(sb.toString());
            i++;
        }
        return out;
    }

    private static String printable(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(b.length, 80); i++) {
            int c = b[i] & 0xff;
            sb.append(c >= 0x21 && c < 0x7f ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return sb + (b.length > 80 ? "…(" + b.length + " bytes)" : "");
    }

    // ------------------------------------------------------------------ 3b: hostile Redis contents

    /** The payloads planted in /app records, by attribute name, with the reason each must be dropped for. */
    private static Map<String, byte[]> plantedPayloads() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("evilGadget", HostilePayloads.java(new EvilGadget("planted in Redis")));
        m.put("deepArrays", HostilePayloads.nestedObjectArrays(100_000));
        m.put("deepLists", HostilePayloads.nestedArrayLists(100_000));
        m.put("hugeIntArray", HostilePayloads.arrayClaiming(int[].class, 1 << 30, new byte[0]));
        m.put("hugeObjectArray", HostilePayloads.arrayClaiming(Object[].class, 1 << 30, new byte[0]));
        m.put("hugeListSize", HostilePayloads.arrayListClaiming(1 << 30));
        m.put("javaGarbage", HostilePayloads.javaGarbage(7, 300));
        m.put("javaHeaderThenGarbage", HostilePayloads.javaHeaderThenGarbage(8, 300));
        m.put("unknownTag", "Zsomething".getBytes(StandardCharsets.US_ASCII));
        m.put("badInteger", "Inot-a-number".getBytes(StandardCharsets.US_ASCII));
        return m;
    }

    @Test
    @Order(2)
    @DisplayName("3b. crafted payloads are what they claim to be (checked in the test JVM)")
    void payloadsAreWellFormed() throws Exception {
        // Small versions of the crafted streams read back as the intended objects...
        Object nested = read(HostilePayloads.nestedObjectArrays(3), null);
        assertTrue(nested instanceof Object[] a && a[0] instanceof Object[] b && b[0] instanceof Object[] c && c[0] == null);
        ByteArrayOutputStream ints = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(ints);
        d.writeInt(1);
        d.writeInt(2);
        d.writeInt(3);
        assertTrue(java.util.Arrays.equals(new int[] {1, 2, 3},
                (int[]) read(HostilePayloads.arrayClaiming(int[].class, 3, ints.toByteArray()), null)));
        assertEquals(List.of(), read(HostilePayloads.java(new ArrayList<>()), null));
        // ...and the full ones trip exactly the limit they target, before allocating anything.
        ObjectInputFilter limits = ObjectInputFilter.Config.createFilter("maxdepth=100;maxarray=1000000");
        for (String name : List.of("deepArrays", "hugeIntArray", "hugeObjectArray", "hugeListSize")) {
            byte[] payload = plantedPayloads().get(name);
            assertThrows(InvalidClassException.class, () -> read(payload, limits), name);
        }
        assertTrue(plantedPayloads().get("deepArrays").length < 1_048_576, "deepArrays must fit maxAttributeBytes, to reach the depth limit");
        assertTrue(plantedPayloads().get("deepLists").length > 1_048_576, "deepLists exceeds maxAttributeBytes");
    }

    private static Object read(byte[] tetherEncoded, ObjectInputFilter filter) throws Exception {
        assertEquals('J', tetherEncoded[0]);
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(tetherEncoded, 1, tetherEncoded.length - 1))) {
            if (filter != null) {
                in.setObjectInputFilter(filter);
            }
            return in.readObject();
        }
    }

    @Test
    @Order(3)
    @DisplayName("3b. planted gadget, deep graphs, huge array headers and garbage: 200, other attributes intact, nothing instantiated, one log line each")
    void plantedPayloadsAreDropped() throws Exception {
        Map<String, byte[]> payloads = plantedPayloads();
        long log2 = node2.logSize();
        Map<String, String> sessions = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> p : payloads.entrySet()) {
            // A live session on node1 with two good attributes (a String and a serialized List)...
            Reply created = Http.get(node1.port(), "/app/set?k=keep&v=" + p.getKey(), null);
            assertEquals(200, created.status(), created::toString);
            String id = created.sessionCookie().value();
            assertEquals(200, Http.get(node1.port(), "/app/list-add?v=item", id).status());
            String key = E2eSupport.KEY_PREFIX + "{" + Http.base(id) + "}";
            // ...and the hostile value planted straight into its record.
            assertEquals("1", redis.commandBytes(bytes("HSET"), bytes(key), bytes("a:" + p.getKey()), p.getValue()));
            sessions.put(p.getKey(), id);
        }
        long heapBefore = heapUsed(node2, "/app");
        for (Map.Entry<String, String> s : sessions.entrySet()) {
            String name = s.getKey();
            String old = s.getValue();
            // The balancer sends the user to node2, which takes the session over and reads the record.
            Reply r = Http.get(node2.port(), "/app/get", old);
            assertEquals(200, r.status(), () -> name + ": " + r);
            assertEquals(Http.base(old) + ".node2", r.value("id"), () -> name + ": " + r);
            assertEquals(Map.of("keep", name, "list", "[item]"), r.attributes(), () -> name + ": the other attributes must be intact: " + r);
            String key = E2eSupport.KEY_PREFIX + "{" + Http.base(old) + "}";
            assertNull(redis.command("HGET", key, "a:" + name), name + " must be cleaned out of the record by node2's write");
            assertEquals("S" + name, redis.command("HGET", key, "a:keep"));
        }
        Reply gadget = Http.get(node2.port(), "/app/t/gadget?gc=1", null);
        assertEquals(200, gadget.status(), gadget::toString);
        assertEquals("0", gadget.value("gadgetReads"), "EvilGadget.readObject must never run: " + gadget);
        assertEquals("false", gadget.value("gadgetClassInitialized"), "EvilGadget must not even be initialized: " + gadget);
        assertEquals("false", gadget.value("gadgetMarker"), gadget::toString);
        long heapAfter = Long.parseLong(gadget.value("heapUsedBytes"));
        assertTrue(heapAfter < 160L << 20, "heap in use after the payloads: " + (heapAfter >> 20) + " MiB");
        assertEquals("0", Http.get(node1.port(), "/app/t/gadget", null).value("gadgetReads"), "node1 never read it either");
        assertTrue(node2.isAlive(), "node2 died");
        assertEquals(200, Http.get(node2.port(), "/app/ping", null).status());

        String text = node2.logSince(log2);
        List<String> summary = new ArrayList<>();
        for (String name : payloads.keySet()) {
            List<String> lines = E2eSupport.linesContaining(text, "dropped attribute '" + name + "'");
            assertEquals(1, lines.size(), name + ": log lines naming it:\n" + String.join("\n", lines));
            String line = lines.get(0);
            assertTrue(line.contains("WARNING"), line);
            String reason = line.substring(line.indexOf(": ", line.indexOf("dropped attribute")) + 2);
            summary.add(name + " -> " + reason);
        }
        Map<String, String> reasons = Map.of(
                "evilGadget", "class dev.tether.tomcat.e2e.app.EvilGadget is refused by the class filter",
                "deepArrays", "deeper than maxDepth=100",
                "deepLists", "exceeds maxAttributeBytes",
                "hugeIntArray", "array of 1073741824 elements, over maxArrayLength=1000000",
                "hugeObjectArray", "array of 1073741824 elements, over maxArrayLength=1000000",
                "hugeListSize", "array of 1073741824 elements, over maxArrayLength=1000000",
                "unknownTag", "unknown value encoding",
                "badInteger", "malformed number");
        reasons.forEach((name, reason) -> {
            String line = E2eSupport.linesContaining(text, "dropped attribute '" + name + "'").get(0);
            assertTrue(line.contains(reason), name + ": the log line must say why (" + reason + "): " + line);
            assertTrue(!line.contains("not-a-number"), name + ": never the stored value: " + line);
        });
        assertEquals(List.of(), E2eSupport.linesContaining(text, "SEVERE"), "SEVERE lines on node2");
        assertEquals(List.of(), text.lines().filter(l -> l.trim().startsWith("at ")).toList(), "stack traces on node2");
        System.out.printf("[e2e] Tomcat 10.1 planted payloads (heap in use %d MiB before, %d MiB after, GC'd), one line each:%n  %s%n",
                heapBefore >> 20, heapAfter >> 20, String.join("\n  ", summary));
    }

    @Test
    @Order(4)
    @DisplayName("3b control: without denyClasses (/small) the same planted gadget does run, so the check above can see it")
    void gadgetRunsWhereNotDenied() {
        Reply created = Http.get(node1.port(), "/small/set?k=keep&v=1", null);
        assertEquals(200, created.status(), created::toString);
        String id = created.sessionCookie().value();
        String key = SMALL_PREFIX + "{" + Http.base(id) + "}";
        redis.commandBytes(bytes("HSET"), bytes(key), bytes("a:gadget"), HostilePayloads.java(new EvilGadget("control")));
        Reply r = Http.get(node2.port(), "/small/get", id);
        assertEquals(200, r.status(), r::toString);
        assertEquals("EvilGadget(control)", r.attributes().get("gadget"), r::toString);
        Reply gadget = Http.get(node2.port(), "/small/t/gadget", null);
        assertEquals("1", gadget.value("gadgetReads"), gadget::toString);
        assertEquals("true", gadget.value("gadgetMarker"), gadget::toString);
        assertEquals("0", Http.get(node2.port(), "/app/t/gadget", null).value("gadgetReads"), "/app has its own class loader");
    }

    // ------------------------------------------------------------------ 3c: size limit

    @Test
    @Order(5)
    @DisplayName("3c. a 10 KiB attribute over maxAttributeBytes=4096: one log line, not in Redis; the small one set with it is")
    void attributeOverSizeLimit() {
        long log1 = node1.logSize();
        Reply r = Http.get(node1.port(), "/small/t/big?big=huge&n=10240&small=tiny&v=fits", null);
        assertEquals(200, r.status(), r::toString);
        String id = r.value("id");
        String key = SMALL_PREFIX + "{" + Http.base(id) + "}";
        assertNull(redis.command("HGET", key, "a:huge"), "the oversized attribute must not be in Redis");
        assertEquals("Sfits", redis.command("HGET", key, "a:tiny"), "the small attribute of the same request must be");
        // It still lives on this node...
        Reply again = Http.get(node1.port(), "/small/get", id);
        assertEquals(10_240, again.attributes().get("huge").length());
        // ...and setting it again does not log again.
        assertEquals(200, Http.get(node1.port(), "/small/t/big?big=huge&n=10241&small=tiny&v=fits2", id).status());
        assertEquals("Sfits2", redis.command("HGET", key, "a:tiny"));
        assertNull(redis.command("HGET", key, "a:huge"));
        String text = node1.logSince(log1);
        List<String> lines = E2eSupport.linesContaining(text, "'huge'");
        assertEquals(1, lines.size(), "log lines about the oversized attribute:\n" + String.join("\n", lines));
        assertTrue(lines.get(0).contains("over maxAttributeBytes=4096"), lines.get(0));
        System.out.println("[e2e] Tomcat 10.1 size limit: " + lines.get(0).substring(lines.get(0).indexOf("Tether:")));
    }

    // ------------------------------------------------------------------ helpers

    private long heapUsed(TomcatNode node, String context) {
        Reply r = Http.get(node.port(), context + "/t/gadget?gc=1", null);
        assertEquals(200, r.status(), r::toString);
        assertNotNull(r.value("heapUsedBytes"), r::toString);
        return Long.parseLong(r.value("heapUsedBytes"));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
