package dev.tether.store;

import java.time.Duration;

/**
 * The settings as an administrator writes them (Tomcat {@code <Manager>} attributes, Jetty ini
 * properties): plain strings and numbers, checked all at once by {@link #toOptions(String)}.
 * Both adapters delegate their setters here, so names, defaults and checks are the same.
 */
public final class StoreSettings {

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
    private int waitReplicas = 0;
    private int waitTimeoutMillis = 500;

    /**
     * @param defaultPrefix the prefix to use when none is configured (it names the container and
     *     the context, so two applications never share sessions)
     * @throws IllegalArgumentException naming the first bad setting
     */
    public SessionStoreOptions toOptions(String defaultPrefix) {
        return SessionStoreOptions.builder(redisUri)
                .keyPrefix(hasKeyPrefix() ? keyPrefix : defaultPrefix)
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
                .maxReferences(maxReferences)
                .waitReplicas(waitReplicas)
                .waitTimeout(Duration.ofMillis(Math.max(1, waitTimeoutMillis)))
                .build();
    }

    public boolean hasKeyPrefix() {
        return keyPrefix != null && !keyPrefix.isEmpty();
    }

    public String getRedisUri() { return redisUri; }
    public void setRedisUri(String v) { this.redisUri = v; }
    public String getKeyPrefix() { return keyPrefix; }
    public void setKeyPrefix(String v) { this.keyPrefix = v; }
    public String getSaveMode() { return saveMode; }
    public void setSaveMode(String v) { this.saveMode = v; }
    public int getCommandTimeoutMillis() { return commandTimeoutMillis; }
    public void setCommandTimeoutMillis(int v) { this.commandTimeoutMillis = v; }
    public int getConnectTimeoutMillis() { return connectTimeoutMillis; }
    public void setConnectTimeoutMillis(int v) { this.connectTimeoutMillis = v; }
    public int getTouchIntervalSeconds() { return touchIntervalSeconds; }
    public void setTouchIntervalSeconds(int v) { this.touchIntervalSeconds = v; }
    public int getMaxPendingSessions() { return maxPendingSessions; }
    public void setMaxPendingSessions(int v) { this.maxPendingSessions = v; }
    public int getMaxAttributeBytes() { return maxAttributeBytes; }
    public void setMaxAttributeBytes(int v) { this.maxAttributeBytes = v; }
    public String getAllowClasses() { return allowClasses; }
    public void setAllowClasses(String v) { this.allowClasses = v; }
    public String getDenyClasses() { return denyClasses; }
    public void setDenyClasses(String v) { this.denyClasses = v; }
    public int getMaxDepth() { return maxDepth; }
    public void setMaxDepth(int v) { this.maxDepth = v; }
    public int getMaxArrayLength() { return maxArrayLength; }
    public void setMaxArrayLength(int v) { this.maxArrayLength = v; }
    public int getMaxReferences() { return maxReferences; }
    public void setMaxReferences(int v) { this.maxReferences = v; }
    public int getWaitReplicas() { return waitReplicas; }
    public void setWaitReplicas(int v) { this.waitReplicas = v; }
    public int getWaitTimeoutMillis() { return waitTimeoutMillis; }
    public void setWaitTimeoutMillis(int v) { this.waitTimeoutMillis = v; }
}
