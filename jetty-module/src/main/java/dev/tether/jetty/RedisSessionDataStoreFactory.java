package dev.tether.jetty;

import dev.tether.store.SessionStoreOptions;
import dev.tether.store.Setting;
import dev.tether.store.Settings;
import org.eclipse.jetty.session.AbstractSessionDataStoreFactory;
import org.eclipse.jetty.session.SessionDataStore;
import org.eclipse.jetty.session.SessionManager;

/**
 * Creates a {@link RedisSessionDataStore} per web application. Registered by the
 * {@code session-store-redis} module, or in embedded Jetty with
 * {@code server.addBean(new RedisSessionDataStoreFactory("redis://127.0.0.1:6379"))}.
 * Settings ({@link Setting}) carry the same names and defaults as the Tomcat Manager's attributes:
 * {@code factory.setProperty("saveMode", "ALWAYS")}.
 */
public class RedisSessionDataStoreFactory extends AbstractSessionDataStoreFactory {

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

    /** A setting's configured value, or its default. */
    public String getProperty(String name) {
        return settings.get(name);
    }
}
