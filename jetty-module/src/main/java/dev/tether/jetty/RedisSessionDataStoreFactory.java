package dev.tether.jetty;

import dev.tether.store.SessionStoreOptions;
import dev.tether.store.StoreSettings;
import org.eclipse.jetty.session.AbstractSessionDataStoreFactory;
import org.eclipse.jetty.session.SessionDataStore;
import org.eclipse.jetty.session.SessionManager;

/**
 * Creates a {@link RedisSessionDataStore} per web application. Registered by the
 * {@code session-store-redis} module, or in embedded Jetty with
 * {@code server.addBean(new RedisSessionDataStoreFactory("redis://127.0.0.1:6379"))}.
 * Settings carry the same names and defaults as the Tomcat Manager's attributes
 * ({@link StoreSettings}).
 */
public class RedisSessionDataStoreFactory extends AbstractSessionDataStoreFactory {

    private final StoreSettings settings = new StoreSettings();

    public RedisSessionDataStoreFactory() {
    }

    public RedisSessionDataStoreFactory(String redisUri) {
        setRedisUri(redisUri);
    }

    @Override
    public SessionDataStore getSessionDataStore(SessionManager manager) {
        // Every setting is checked here, so a typo fails the start with a clear message; the
        // context-specific prefix replaces the placeholder when the store starts.
        SessionStoreOptions options = settings.toOptions("tether:jetty:");
        RedisSessionDataStore store = new RedisSessionDataStore(options, settings.hasKeyPrefix());
        store.setGracePeriodSec(getGracePeriodSec());
        store.setSavePeriodSec(getSavePeriodSec());
        return store;
    }

    public String getRedisUri() { return settings.getRedisUri(); }
    /** {@code redis://}, {@code rediss://}, {@code redis-sentinel://…#master} or {@code redis-cluster://h:p,h:p}. Default {@code redis://127.0.0.1:6379}. */
    public void setRedisUri(String v) { settings.setRedisUri(v); }
    public String getKeyPrefix() { return settings.getKeyPrefix(); }
    /** Default {@code tether:jetty:<vhost><contextPath>:}. */
    public void setKeyPrefix(String v) { settings.setKeyPrefix(v); }
    public String getSaveMode() { return settings.getSaveMode(); }
    /** ON_SET_ATTRIBUTE, ON_GET_ATTRIBUTE (default) or ALWAYS. */
    public void setSaveMode(String v) { settings.setSaveMode(v); }
    public int getCommandTimeoutMillis() { return settings.getCommandTimeoutMillis(); }
    public void setCommandTimeoutMillis(int v) { settings.setCommandTimeoutMillis(v); }
    public int getConnectTimeoutMillis() { return settings.getConnectTimeoutMillis(); }
    public void setConnectTimeoutMillis(int v) { settings.setConnectTimeoutMillis(v); }
    public int getTouchIntervalSeconds() { return settings.getTouchIntervalSeconds(); }
    public void setTouchIntervalSeconds(int v) { settings.setTouchIntervalSeconds(v); }
    public int getMaxPendingSessions() { return settings.getMaxPendingSessions(); }
    public void setMaxPendingSessions(int v) { settings.setMaxPendingSessions(v); }
    public int getMaxAttributeBytes() { return settings.getMaxAttributeBytes(); }
    public void setMaxAttributeBytes(int v) { settings.setMaxAttributeBytes(v); }
    public String getAllowClasses() { return settings.getAllowClasses(); }
    public void setAllowClasses(String v) { settings.setAllowClasses(v); }
    public String getDenyClasses() { return settings.getDenyClasses(); }
    public void setDenyClasses(String v) { settings.setDenyClasses(v); }
    public int getMaxDepth() { return settings.getMaxDepth(); }
    public void setMaxDepth(int v) { settings.setMaxDepth(v); }
    public int getMaxArrayLength() { return settings.getMaxArrayLength(); }
    public void setMaxArrayLength(int v) { settings.setMaxArrayLength(v); }
    public int getMaxReferences() { return settings.getMaxReferences(); }
    public void setMaxReferences(int v) { settings.setMaxReferences(v); }
    public int getWaitReplicas() { return settings.getWaitReplicas(); }
    /** Replicas that must acknowledge each write (Redis WAIT). Default 0: don't wait. */
    public void setWaitReplicas(int v) { settings.setWaitReplicas(v); }
    public int getWaitTimeoutMillis() { return settings.getWaitTimeoutMillis(); }
    public void setWaitTimeoutMillis(int v) { settings.setWaitTimeoutMillis(v); }
}
