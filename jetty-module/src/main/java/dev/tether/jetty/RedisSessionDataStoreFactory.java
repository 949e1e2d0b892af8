package dev.tether.jetty;

import dev.tether.store.SaveMode;
import dev.tether.store.SessionStoreOptions;
import java.time.Duration;
import org.eclipse.jetty.session.AbstractSessionDataStoreFactory;
import org.eclipse.jetty.session.SessionDataStore;
import org.eclipse.jetty.session.SessionManager;

/**
 * Creates a {@link RedisSessionDataStore} per web application. Registered by the
 * {@code session-store-redis} module, or in embedded Jetty with
 * {@code server.addBean(new RedisSessionDataStoreFactory("redis://127.0.0.1:6379"))}.
 * Settings carry the same names and defaults as the Tomcat Manager's attributes.
 */
public class RedisSessionDataStoreFactory extends AbstractSessionDataStoreFactory {

    private String redisUri = "redis://127.0.0.1:6379";
    private String keyPrefix;
    private String saveMode = SaveMode.ON_GET_ATTRIBUTE.name();
    private int commandTimeoutMillis = 1000;
    private int connectTimeoutMillis = 2000;
    private int touchIntervalSeconds = 60;
    private int maxPendingSessions = 10_000;
    private int maxAttributeBytes = 1 << 20;
    private String allowClasses = "*";
    private String denyClasses = "";
    private int maxDepth = 100;
    private int maxArrayLength = 1_000_000;
    private int maxReferences = 1_000_000;

    public RedisSessionDataStoreFactory() {
    }

    public RedisSessionDataStoreFactory(String redisUri) {
        setRedisUri(redisUri);
    }

    @Override
    public SessionDataStore getSessionDataStore(SessionManager manager) {
        SessionStoreOptions options = options();
        RedisSessionDataStore store = new RedisSessionDataStore(options, keyPrefix != null && !keyPrefix.isEmpty());
        store.setGracePeriodSec(getGracePeriodSec());
        store.setSavePeriodSec(getSavePeriodSec());
        return store;
    }

    /** Validates every setting at once, so a typo fails the start with a clear message. */
    SessionStoreOptions options() {
        SessionStoreOptions.Builder b = SessionStoreOptions.builder(redisUri)
                .saveMode(SaveMode.parse(saveMode))
                .commandTimeout(Duration.ofMillis(commandTimeoutMillis))
                .connectTimeout(Duration.ofMillis(connectTimeoutMillis))
                .touchInterval(Duration.ofSeconds(touchIntervalSeconds))
                .maxPendingSessions(maxPendingSessions)
                .maxAttributeBytes(maxAttributeBytes)
                .allowClasses(SessionStoreOptions.splitPatterns(allowClasses))
                .denyClasses(SessionStoreOptions.splitPatterns(denyClasses))
                .maxDepth(maxDepth)
                .maxArrayLength(maxArrayLength)
                .maxReferences(maxReferences);
        if (keyPrefix != null && !keyPrefix.isEmpty()) {
            b.keyPrefix(keyPrefix);
        }
        return b.build();
    }

    public String getRedisUri() { return redisUri; }
    /** {@code redis://[user:password@]host:port[/db]} or {@code rediss://}. Default {@code redis://127.0.0.1:6379}. */
    public void setRedisUri(String redisUri) { this.redisUri = redisUri; }
    public String getKeyPrefix() { return keyPrefix; }
    /** Default {@code tether:jetty:<vhost><contextPath>:}. */
    public void setKeyPrefix(String keyPrefix) { this.keyPrefix = keyPrefix; }
    public String getSaveMode() { return saveMode; }
    /** ON_SET_ATTRIBUTE, ON_GET_ATTRIBUTE (default) or ALWAYS. */
    public void setSaveMode(String saveMode) { this.saveMode = saveMode; }
    public int getCommandTimeoutMillis() { return commandTimeoutMillis; }
    public void setCommandTimeoutMillis(int ms) { this.commandTimeoutMillis = ms; }
    public int getConnectTimeoutMillis() { return connectTimeoutMillis; }
    public void setConnectTimeoutMillis(int ms) { this.connectTimeoutMillis = ms; }
    public int getTouchIntervalSeconds() { return touchIntervalSeconds; }
    public void setTouchIntervalSeconds(int s) { this.touchIntervalSeconds = s; }
    public int getMaxPendingSessions() { return maxPendingSessions; }
    public void setMaxPendingSessions(int n) { this.maxPendingSessions = n; }
    public int getMaxAttributeBytes() { return maxAttributeBytes; }
    public void setMaxAttributeBytes(int n) { this.maxAttributeBytes = n; }
    public String getAllowClasses() { return allowClasses; }
    public void setAllowClasses(String patterns) { this.allowClasses = patterns; }
    public String getDenyClasses() { return denyClasses; }
    public void setDenyClasses(String patterns) { this.denyClasses = patterns; }
    public int getMaxDepth() { return maxDepth; }
    public void setMaxDepth(int n) { this.maxDepth = n; }
    public int getMaxArrayLength() { return maxArrayLength; }
    public void setMaxArrayLength(int n) { this.maxArrayLength = n; }
    public int getMaxReferences() { return maxReferences; }
    public void setMaxReferences(int n) { this.maxReferences = n; }
}
