package dev.tether.store;

import java.util.EnumMap;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The settings as an administrator writes them (Tomcat {@code <Manager>} attributes, Jetty start
 * properties): text by name, checked all at once by {@link #toOptions(String)}. Both adapters hand
 * every attribute or property to {@link #set(String, String)}, so names, defaults and checks are
 * those of {@link Setting} on both containers.
 */
public final class Settings {

    private static final Logger LOG = Logger.getLogger("dev.tether.store");

    private final Map<Setting, String> values = new EnumMap<>(Setting.class);

    /**
     * Records one setting. An unknown name is refused loudly (one log line naming the known ones),
     * never silently ignored.
     *
     * @return whether {@code name} is a Tether setting
     */
    public boolean set(String name, String value) {
        Setting s = Setting.named(name);
        if (s == null) {
            LOG.warning("Tether: there is no setting '" + name + "'" + didYouMean(name) + "; the settings are " + Setting.names());
            return false;
        }
        if (value == null || value.isBlank()) {
            values.remove(s);
        } else {
            values.put(s, value.trim());
        }
        return true;
    }

    /** {@code " (did you mean 'x'?)"} when {@code name} nearly names a setting, else empty. */
    public static String didYouMean(String name) {
        Setting near = Setting.nearest(name);
        return near == null ? "" : " (did you mean '" + near.key() + "'?)";
    }

    /** The configured text of a setting, or its default; {@code null} for an unknown name. */
    public String get(String name) {
        Setting s = Setting.named(name);
        return s == null ? null : values.getOrDefault(s, s.defaultValue());
    }

    /**
     * @param defaultPrefix the key prefix to use when none is configured (see {@link #defaultPrefix})
     * @throws IllegalArgumentException naming the first bad setting
     */
    public SessionStoreOptions toOptions(String defaultPrefix) {
        SessionStoreOptions.Builder b = SessionStoreOptions.builder(Setting.REDIS_URI.defaultValue());
        values.forEach(b::set);
        if (!values.containsKey(Setting.KEY_PREFIX)) {
            b.keyPrefix(defaultPrefix);
        }
        return b.build();
    }

    /**
     * The key prefix a context gets when none is configured: it names the container, the host and
     * the context path, so two applications never share sessions.
     */
    public static String defaultPrefix(String container, String host, String contextPath) {
        String path = contextPath == null || contextPath.isEmpty() ? "/" : contextPath;
        return "tether:" + container + ":" + host + path + ":";
    }
}
