package dev.tether.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.Setting;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Each setting is defined once, in {@link Setting}; the places an administrator reads or writes
 * settings must list exactly those names with exactly those defaults.
 */
class SettingsDocumentedTest {

    private static final Path MODULE = Path.of("src/main/jetty");
    private static final Path README = Path.of("../README.md");

    private static Set<String> names() {
        Set<String> out = new TreeSet<>();
        for (Setting s : Setting.values()) {
            out.add(s.key());
        }
        return out;
    }

    @Test
    void theJettyIniTemplateListsEverySettingWithItsDefault() throws IOException {
        String mod = Files.readString(MODULE.resolve("modules/session-store-redis.mod"));
        Set<String> found = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^#?jetty\\.session\\.redis\\.(\\w+)=(.*)$").matcher(mod);
        while (m.find()) {
            Setting s = Setting.named(m.group(1));
            assertTrue(s != null && s.key().equals(m.group(1)), "the ini-template names an unknown setting: " + m.group(0));
            assertEquals(s.defaultValue(), m.group(2).trim(), "default of " + s.key() + " in the ini-template");
            found.add(s.key());
        }
        assertEquals(names(), found, "settings in the ini-template");
    }

    @Test
    void theJettyModuleXmlPassesEverySetting() throws IOException {
        String xml = Files.readString(MODULE.resolve("etc/sessions/redis/session-store.xml"));
        Set<String> found = new TreeSet<>();
        Matcher m = Pattern.compile("<Arg>(\\w+)</Arg><Arg><Property name=\"jetty\\.session\\.redis\\.(\\w+)\"/></Arg>").matcher(xml);
        while (m.find()) {
            assertEquals(m.group(1), m.group(2), "the property must carry the setting's own name");
            found.add(m.group(1));
        }
        assertEquals(names(), found, "settings passed by the module XML");
    }

    @Test
    void theReadmeTableListsEverySettingWithItsDefaultAndDoc() throws IOException {
        String readme = Files.readString(README);
        StringBuilder expected = new StringBuilder();
        for (Setting s : Setting.values()) {
            String row = "| `" + s.key() + "` | " + (s.defaultValue().isEmpty() ? "(none)" : "`" + s.defaultValue() + "`") + " | "
                    + s.doc() + " |";
            expected.append(row).append('\n');
            assertTrue(readme.contains(row), "README lacks the row:\n" + row + "\n\nthe whole table, from Setting:\n" + expected);
        }
    }
}
