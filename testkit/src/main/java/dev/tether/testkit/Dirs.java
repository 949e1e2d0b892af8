package dev.tether.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/** Directory trees the tests lay out, and the paths Maven hands them. */
public final class Dirs {

    private Dirs() {
    }

    /** Deletes {@code dir} with everything in it; nothing happens when it does not exist. */
    public static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /** Deletes {@code dir} if it exists and creates it again, empty; returns it. */
    public static Path fresh(Path dir) {
        delete(dir);
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
    }

    /** Copies the tree {@code from} into {@code to} (created as needed), replacing files that are there. */
    public static void copy(Path from, Path to) {
        if (!Files.isDirectory(from)) {
            throw new IllegalStateException("missing directory " + from);
        }
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + from + " to " + to, e);
        }
    }

    /**
     * The file or directory a system property names (the failsafe configurations set them: built
     * jars, unpacked distributions); fails clearly when the property is unset or the path missing.
     */
    public static Path fromProperty(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + property + " is not set: run the tests through Maven"
                    + " (mvn -pl <module> -am verify), whose failsafe configuration sets it");
        }
        Path path = Path.of(value);
        if (!Files.exists(path)) {
            throw new IllegalStateException(property + " = " + path + " does not exist: build the module it comes from"
                    + " in the same run (mvn -pl <module> -am verify)");
        }
        return path;
    }
}
