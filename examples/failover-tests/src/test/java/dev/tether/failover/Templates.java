package dev.tether.failover;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders the configuration templates in {@code examples/balancers/}: the very files users copy are
 * the ones the tests run. A template names its values {@code ${UPPER_CASE}}; rendering replaces the
 * given ones and refuses to leave any other upper-case placeholder behind.
 */
final class Templates {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)}");

    private Templates() {
    }

    /** {@code examples/balancers}, from the failsafe configuration. */
    static Path dir() {
        Path dir = Path.of(System.getProperty("tether.balancers.dir", "../balancers")).toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("examples/balancers not found at " + dir + " (system property tether.balancers.dir)");
        }
        return dir;
    }

    static Path file(String relative) {
        Path f = dir().resolve(relative);
        if (!Files.isRegularFile(f)) {
            throw new IllegalStateException("template " + f + " is missing");
        }
        return f;
    }

    static String render(String relative, Map<String, String> values) {
        try {
            return render(Files.readString(file(relative)), values, relative);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read template " + relative, e);
        }
    }

    static String render(String text, Map<String, String> values, String what) {
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder out = new StringBuilder();
        TreeSet<String> missing = new TreeSet<>();
        while (m.find()) {
            String value = values.get(m.group(1));
            if (value == null) {
                missing.add(m.group(1));
                value = m.group();
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        if (!missing.isEmpty()) {
            throw new IllegalStateException(what + " has placeholders the test does not fill: " + missing);
        }
        return out.toString();
    }

    /** Renders a template into a file. */
    static Path renderTo(String relative, Map<String, String> values, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        Files.writeString(target, render(relative, values));
        return target;
    }
}
