package dev.tether.jetty;

import dev.tether.store.SessionStoreOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import dev.tether.store.Setting;
import dev.tether.store.Settings;
import org.eclipse.jetty.session.AbstractSessionDataStoreFactory;
import org.eclipse.jetty.session.SessionDataStore;
import org.eclipse.jetty.session.SessionManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a {@link RedisSessionDataStore} per web application. Registered by the
 * {@code session-store-redis} module, or in embedded Jetty with
 * {@code server.addBean(new RedisSessionDataStoreFactory("redis://127.0.0.1:6379"))}.
 * Settings ({@link Setting}) carry the same names and defaults as the Tomcat Manager's attributes:
 * {@code factory.setProperty("saveMode", "ALWAYS")}.
 */
public class RedisSessionDataStoreFactory extends AbstractSessionDataStoreFactory {

    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionDataStoreFactory.class);

    private final Settings settings = new Settings();

    public RedisSessionDataStoreFactory() {
    }

    public RedisSessionDataStoreFactory(String redisUri) {
        setProperty(Setting.REDIS_URI.key(), redisUri);
    }

    @Override
    public SessionDataStore getSessionDataStore(SessionManager manager) {
        // Every setting is checked here, so a typo fails the start with a clear message; the
        // context-specific prefix replaces the placeholder when the store starts.
        SessionStoreOptions options = settings.toOptions("tether:jetty:");
        RedisSessionDataStore store = new RedisSessionDataStore(options, settings.get(Setting.KEY_PREFIX.key()).length() > 0);
        store.setGracePeriodSec(getGracePeriodSec());
        store.setSavePeriodSec(getSavePeriodSec());
        return store;
    }

    /**
     * Sets one of Tether's settings by name; the module's XML passes each
     * {@code jetty.session.redis.<name>} property here. An unset property ({@code null}) keeps the
     * default; an unknown name is refused with a warning.
     */
    public boolean setProperty(String name, String value) {
        return settings.set(name, value);
    }

    /** The prefix of Tether's start properties; each name after it is handed to {@link #setProperty}. */
    static final String PROPERTY_PREFIX = "jetty.session.redis.";

    /**
     * Start properties that look like Tether's but name no setting (a typo in {@code start.d}):
     * the module's XML reads only the names it knows, so Jetty would ignore them without a word.
     * Looks through {@code start.ini} and {@code start.d/*.ini} of {@code jettyBase}, and the
     * system properties; logs one warning for each.
     *
     * @return one description per unknown property, empty when all are known
     */
    public List<String> checkStartProperties(String jettyBase) {
        List<String> unknown = new ArrayList<>();
        if (jettyBase != null && !jettyBase.isBlank()) {
            Path base = Path.of(jettyBase);
            List<Path> inis = new ArrayList<>();
            inis.add(base.resolve("start.ini"));
            try (Stream<Path> d = Files.list(base.resolve("start.d"))) {
                d.filter(p -> p.getFileName().toString().endsWith(".ini")).sorted().forEach(inis::add);
            } catch (IOException | RuntimeException e) {
                // no start.d: nothing to check there
            }
            for (Path ini : inis) {
                if (!Files.isRegularFile(ini)) {
                    continue;
                }
                try {
                    for (String line : Files.readAllLines(ini)) {
                        String name = propertyName(line);
                        if (name != null) {
                            unknown(name, base.relativize(ini).toString(), unknown);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    LOG.warn("Tether: could not read " + ini + " to check its " + PROPERTY_PREFIX + "* properties: " + e);
                }
            }
        }
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith(PROPERTY_PREFIX)) {
                unknown(key.substring(PROPERTY_PREFIX.length()), "a system property", unknown);
            }
        }
        return unknown;
    }

    /** The setting name of an ini line {@code jetty.session.redis.<name>=}, {@code ?=} or {@code +=}; {@code null} for other lines. */
    private static String propertyName(String line) {
        String t = line.strip();
        if (t.startsWith("--")) {
            t = t.substring(2); // the command-line form, also allowed in an ini
        }
        int eq = t.indexOf('=');
        if (!t.startsWith(PROPERTY_PREFIX) || eq < 0) {
            return null;
        }
        String name = t.substring(PROPERTY_PREFIX.length(), eq);
        return name.endsWith("?") || name.endsWith("+") ? name.substring(0, name.length() - 1).strip() : name.strip();
    }

    private static void unknown(String name, String where, List<String> unknown) {
        Setting known = Setting.named(name);
        if (known != null && known.key().equals(name)) {
            return; // Jetty's property names are case-sensitive: the module's XML reads this exact one
        }
        String problem = PROPERTY_PREFIX + name + " (" + where + ") is not a Tether setting" + Settings.didYouMean(name)
                + ", so it changes nothing";
        LOG.warn("Tether: " + problem + "; the settings are " + Setting.names());
        unknown.add(problem);
    }

    /** A setting's configured value, or its default. */
    public String getProperty(String name) {
        return settings.get(name);
    }
}
