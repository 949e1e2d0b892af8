package dev.tether.store.record;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The Lua scripts that make every multi-step change of a record atomic, read once from the
 * {@code .lua} files beside this class and hashed once for {@code EVALSHA}. Each file's header
 * documents its keys, arguments and replies; {@link RecordFormat} builds the arguments.
 */
public enum Script {
    LOAD("load.lua"),
    SAVE("save.lua"),
    DELETE("delete.lua"),
    MOVE("move.lua"),
    EXPIRE("expire.lua"),
    INDEX("index.lua");

    private final String text;
    private final String sha;

    Script(String file) {
        try (InputStream in = Script.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("Tether: script " + file + " is missing from the jar");
            }
            this.text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            this.sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public String text() {
        return text;
    }

    /** The SHA-1 Redis knows the script by. */
    public String sha() {
        return sha;
    }
}
