package dev.tether.store.codec;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs each field of a record that decides what a session holds (its attributes and container
 * notes such as the principal) with HMAC-SHA256, bound to the session and the field, so that
 * someone who can write to Redis but holds no key can neither plant a value (a gadget, a forged
 * principal) nor move one from another session. The first key signs; every key verifies, which lets
 * a key be rotated: add the new key first, restart every node, then drop the old one.
 *
 * <p>A signature is {@code <key id>:<base64 of the first 16 bytes of the MAC>}; the key id is the
 * first 8 hex digits of the key's SHA-256, so that a signature names the key it needs.
 */
public final class RecordSigner {

    private static final int MAC_BYTES = 16;

    private final List<Key> keys;

    private record Key(String id, SecretKeySpec spec, ThreadLocal<Mac> mac) {
        byte[] mac(String baseId, String field, byte[] value) {
            Mac m = mac.get();
            m.update(baseId.getBytes(StandardCharsets.UTF_8));
            m.update((byte) 0);
            m.update(field.getBytes(StandardCharsets.UTF_8));
            m.update((byte) 0);
            byte[] full = m.doFinal(value);
            byte[] out = new byte[MAC_BYTES];
            System.arraycopy(full, 0, out, 0, MAC_BYTES);
            return out;
        }
    }

    private RecordSigner(List<String> secrets) {
        List<Key> k = new ArrayList<>();
        for (String secret : secrets) {
            byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
            SecretKeySpec spec = new SecretKeySpec(bytes, "HmacSHA256");
            String id;
            try {
                id = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 8);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
            k.add(new Key(id, spec, ThreadLocal.withInitial(() -> {
                try {
                    Mac m = Mac.getInstance("HmacSHA256");
                    m.init(spec);
                    return m;
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException(e);
                }
            })));
        }
        this.keys = List.copyOf(k);
    }

    /** A signer for these keys, or {@code null} when there are none (records are not signed). */
    public static RecordSigner of(List<String> secrets) {
        return secrets.isEmpty() ? null : new RecordSigner(secrets);
    }

    /** The signature of one field's value, by the first key. */
    public byte[] sign(String baseId, String field, byte[] value) {
        Key k = keys.get(0);
        return (k.id + ":" + Base64.getEncoder().withoutPadding().encodeToString(k.mac(baseId, field, value)))
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** Whether a field's signature is valid under one of the keys. */
    public boolean verify(String baseId, String field, byte[] value, byte[] signature) {
        if (signature == null) {
            return false;
        }
        String s = new String(signature, StandardCharsets.US_ASCII);
        int colon = s.indexOf(':');
        if (colon < 0) {
            return false;
        }
        String id = s.substring(0, colon);
        byte[] given;
        try {
            given = Base64.getDecoder().decode(s.substring(colon + 1));
        } catch (IllegalArgumentException e) {
            return false;
        }
        for (Key k : keys) {
            if (k.id.equals(id)) {
                return MessageDigest.isEqual(k.mac(baseId, field, value), given);
            }
        }
        return false;
    }
}
