package dev.tether.store;

import static dev.tether.testkit.Await.await;
import static dev.tether.store.Stores.outcome;
import static dev.tether.store.Stores.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tether.testkit.RedisProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * TLS and ACL: a redis-server that listens with TLS only, whose {@code default} user is disabled and
 * whose application user may touch {@code tether:*} keys and channels and nothing else.
 *
 * <p>Trust: the store verifies the server certificate (Lettuce's default, {@code verifyPeer=FULL}:
 * chain and host) against the JVM's trust store, {@code javax.net.ssl.trustStore}, which failsafe
 * points at {@code target/it-tls/truststore.p12}; this test writes its throw-away CA there before
 * the first TLS connection. Only {@link #verifyPeerNoneIsAnExplicitOptOut} uses
 * {@code ?verifyPeer=NONE}, to show the opt-out against a server signed by an unknown CA.
 */
@Timeout(60)
class TlsAclIT {

    private static Path pki;
    private static RedisProcess redis;
    private final List<AutoCloseable> opened = new ArrayList<>();

    @BeforeAll
    static void startTlsRedis() throws Exception {
        pki = Files.createTempDirectory("tether-pki-");
        makeCa("ca");
        makeServerCert("ca", "server");
        trustInJvm(pki.resolve("ca.crt"));
        redis = RedisProcess.startTls(pki.resolve("ca.crt"), pki.resolve("server.crt"), pki.resolve("server.key"), "admin", "adminpw",
                "--user", "default", "off",
                "--user", "admin", "on", ">adminpw", "~*", "&*", "+@all",
                "--user", "tether", "on", ">secret", "~tether:*", "+@all");
    }

    @AfterAll
    static void stop() throws IOException {
        if (redis != null) {
            redis.close();
        }
        try (var files = Files.walk(pki)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @AfterEach
    void closeStores() throws Exception {
        for (AutoCloseable c : opened) {
            c.close();
        }
        opened.clear();
    }

    private <T extends AutoCloseable> T track(T c) {
        opened.add(c);
        return c;
    }

    private static void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(pki.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }

    private static void makeCa(String name) throws Exception {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=Tether test CA " + name, "-keyout", name + ".key", "-out", name + ".crt");
    }

    private static void makeServerCert(String ca, String name) throws Exception {
        Files.writeString(pki.resolve(name + ".ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
                "-keyout", name + ".key", "-out", name + ".csr");
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
                "-extfile", name + ".ext", "-out", name + ".crt");
    }

    /** Writes the CA into the JVM's trust store, the file javax.net.ssl.trustStore names. */
    private static void trustInJvm(Path caCert) throws Exception {
        String path = System.getProperty("javax.net.ssl.trustStore");
        if (path == null) { // run outside failsafe (an IDE): point the JVM's trust at a store of our own
            path = pki.resolve("truststore.p12").toString();
            System.setProperty("javax.net.ssl.trustStore", path);
            System.setProperty("javax.net.ssl.trustStorePassword", "changeit");
            System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
        }
        String password = System.getProperty("javax.net.ssl.trustStorePassword", "changeit");
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caCert)) {
            trust.setCertificateEntry("tether-test-ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        Path file = Path.of(path);
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (OutputStream out = Files.newOutputStream(file)) {
            trust.store(out, password.toCharArray());
        }
    }

    private String uri(String user, String password) {
        return "rediss://" + user + ":" + password + "@127.0.0.1:" + redis.port();
    }

    /** TLS handshakes on a loaded two-core machine can exceed the 400 ms of the unit tests. */
    private static SessionStoreOptions.Builder options(String uri) {
        return Stores.options(uri).keyPrefix("tether:").commandTimeout(Duration.ofSeconds(2)).connectTimeout(Duration.ofSeconds(2));
    }

    private RedisSessionStore openUp(SessionStoreOptions options, String route) {
        RedisSessionStore store = track(new RedisSessionStore(options, route));
        await("the store connects over TLS", Duration.ofSeconds(15), store::isRedisAvailable);
        return store;
    }

    @Test
    void theStoreWorksOverTlsAsTheRestrictedAclUser() {
        RedisSessionStore a = openUp(options(uri("tether", "secret")).build(), "node1");
        RedisSessionStore b = openUp(options(uri("tether", "secret")).build(), "node2");

        TestSession liveA = new TestSession();
        liveA.attributes.put("user", "alice");
        TrackedSession s = a.create(Stores.newBase(), liveA);
        assertEquals(WriteOutcome.SAVED, request(a, s, () -> { }));
        for (int i = 1; i <= 5; i++) {
            int v = i;
            assertEquals(WriteOutcome.SAVED, request(a, s, () -> liveA.set(s, "v", v)));
        }
        String key = a.recordKey(s.baseId());
        assertEquals("I5", Stores.field(redis, key, "a:v"));

        // A load by another node and Redis' invalidation (client-side caching) pass the ACL.
        SessionRecord loaded = Stores.load(b, s.baseId(), getClass().getClassLoader());
        assertNotNull(loaded);
        assertEquals(5, loaded.attributes().get("v"));
        await("Redis tells A of B's take-over", Duration.ofSeconds(3), () -> !a.isCurrent(s));
        TestSession liveB = TestSession.from(loaded);
        TrackedSession sb = loaded.tracked();

        // An id change and a delete (tombstone) as well.
        String newBase = Stores.newBase();
        assertEquals(WriteOutcome.SAVED, outcome(b.changeId(sb, newBase)));
        assertEquals("Salice", Stores.field(redis, b.recordKey(newBase), "a:user"));
        assertTrue(Stores.exists(redis, key + ":gone"));
        assertEquals(WriteOutcome.SAVED, request(b, sb, () -> liveB.set(sb, "v", 6)));
        TestSession other = new TestSession();
        other.attributes.put("x", "y");
        TrackedSession gone = b.create(Stores.newBase(), other);
        assertEquals(WriteOutcome.SAVED, request(b, gone, () -> { }));
        assertEquals(WriteOutcome.SAVED, outcome(b.invalidate(gone)));

        List<String> keys = redis.keys("*");
        assertFalse(keys.isEmpty());
        for (String k : keys) {
            assertTrue(k.startsWith("tether:"), "every key the ACL user wrote matches ~tether:*: " + keys);
        }
        assertEquals("", String.valueOf(redis.command("ACL", "LOG")).trim(), "the ACL refused nothing");
        String clients = redis.command("CLIENT", "LIST");
        assertTrue(clients.contains("user=tether"), "the store is connected as the ACL user: " + clients);
        assertEquals(0, a.stats().getRedisErrors() + b.stats().getRedisErrors());
        assertEquals("0", redis.command("CONFIG", "GET", "port").split("\n")[1], "the server has no plain-text port");
        System.out.println("[TlsAclIT] TLS (verified against the JVM trust store) + ACL user tether (~tether:*): "
                + keys.size() + " keys, all tether:*; ACL LOG empty");
    }

    @Test
    void aWrongPasswordIsOneClearWarningAndLocalServingContinues() {
        try (LogCapture log = new LogCapture()) {
            long t0 = System.nanoTime();
            RedisSessionStore store = track(new RedisSessionStore(options(uri("tether", "wrong-pass")).build(), "node1"));
            long constructorMillis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(constructorMillis < 1000, "the constructor must not wait for Redis: " + constructorMillis + " ms");
            assertFalse(store.isRedisAvailable());

            TestSession live = new TestSession();
            live.attributes.put("user", "alice");
            TrackedSession s = store.create(Stores.newBase(), live);
            long c0 = System.nanoTime();
            assertEquals(WriteOutcome.QUEUED, request(store, s, () -> live.set(s, "v", 1)));
            assertTrue((System.nanoTime() - c0) / 1_000_000 < 500, "a commit without Redis does not wait");
            assertNull(Stores.load(store, Stores.newBase(), getClass().getClassLoader()));

            await("the failure is logged", Duration.ofSeconds(5), () -> !log.warnings().isEmpty());
            try {
                Thread.sleep(2500); // the store retries (about once a second) meanwhile, quietly
            } catch (InterruptedException e) {
                fail(e);
            }
            assertFalse(store.isRedisAvailable());
            assertEquals(WriteOutcome.QUEUED, request(store, s, () -> live.set(s, "v", 2)));
            List<String> warnings = log.warnings();
            System.out.println("[TlsAclIT] wrong password: constructor " + constructorMillis + " ms; warnings: " + warnings);
            assertEquals(1, warnings.size(), "exactly one warning line: " + warnings);
            String w = warnings.get(0);
            assertTrue(w.contains("WRONGPASS") || w.toLowerCase(java.util.Locale.ROOT).contains("auth"), w);
            assertFalse(w.contains("wrong-pass"), "never the password: " + w);
            assertTrue(redis.keys("*").stream().noneMatch(k -> k.contains(s.baseId())), "nothing was written");
        }
    }

    /** A second TLS server whose certificate comes from a CA the JVM does not trust. */
    @Test
    void verifyPeerNoneIsAnExplicitOptOut() throws Exception {
        makeCa("rogue-ca");
        makeServerCert("rogue-ca", "rogue");
        try (RedisProcess rogue = RedisProcess.startTls(pki.resolve("rogue-ca.crt"), pki.resolve("rogue.crt"), pki.resolve("rogue.key"),
                null, null);
                LogCapture log = new LogCapture()) {
            RedisSessionStore verifying = track(new RedisSessionStore(options(rogue.uri()).keyPrefix("tt:").build(), "node1"));
            await("the refusal is logged", Duration.ofSeconds(5), () -> !log.warnings().isEmpty());
            assertFalse(verifying.isRedisAvailable(), "a server the JVM does not trust is never used");
            String w = log.warnings().get(0);
            assertTrue(w.contains("PKIX") || w.contains("certificat") || w.contains("SSL"), w);

            // The opt-out, for a test environment only: Lettuce's ?verifyPeer=NONE skips verification.
            RedisSessionStore trusting = openUp(options(rogue.uri() + "?verifyPeer=NONE").keyPrefix("tt:").build(), "node1");
            TestSession live = new TestSession();
            TrackedSession s = trusting.create(Stores.newBase(), live);
            assertEquals(WriteOutcome.SAVED, request(trusting, s, () -> live.set(s, "v", 1)));
            assertEquals("I1", Stores.field(rogue, trusting.recordKey(s.baseId()), "a:v"));
            System.out.println("[TlsAclIT] untrusted certificate refused (" + w + "); ?verifyPeer=NONE connects");
        }
    }
}
