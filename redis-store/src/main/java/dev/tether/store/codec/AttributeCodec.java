package dev.tether.store.codec;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InvalidClassException;
import java.io.NotSerializableException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import dev.tether.store.SessionStoreOptions;

/**
 * Turns one attribute value into bytes and back. Common immutable values get a compact, readable
 * encoding; everything else is Java-serialized on its own, and read back through {@link ClassFilter}
 * with the web application's class loader.
 */
public final class AttributeCodec {

    // The first byte of an encoded value says what follows (public: an operator's tool reads it).
    /** Followed by the Java serialization stream of the value alone. */
    public static final byte JAVA = 'J';
    /** A {@code String}, followed by its UTF-8 bytes. */
    public static final byte STRING = 'S';
    /** An {@code Integer}, followed by its decimal digits. */
    public static final byte INTEGER = 'I';
    /** A {@code Long}, followed by its decimal digits. */
    public static final byte LONG = 'L';
    /** A {@code Boolean}, followed by '0' or '1'. */
    public static final byte BOOLEAN = 'B';

    private final ClassFilter filter;
    private final int maxBytes;

    public AttributeCodec(SessionStoreOptions options) {
        this.filter = new ClassFilter(options);
        this.maxBytes = options.maxAttributeBytes();
    }

    /** Values that cannot change in place, so reading them never needs a re-check. */
    public static boolean isImmutable(Object value) {
        return value instanceof String || value instanceof Integer || value instanceof Long || value instanceof Boolean
                || value instanceof Double || value instanceof Short || value instanceof Byte || value instanceof Character
                || value instanceof Float || value instanceof Enum<?>;
    }

    /**
     * @throws NotSerializableException when the value (or something it holds) cannot be serialized
     * @throws AttributeTooLargeException when it serializes to more than the configured limit
     */
    public byte[] encode(Object value) throws IOException {
        byte[] out;
        if (value instanceof String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            out = new byte[utf8.length + 1];
            out[0] = STRING;
            System.arraycopy(utf8, 0, out, 1, utf8.length);
        } else if (value instanceof Integer i) {
            out = ascii((char) INTEGER + Integer.toString(i));
        } else if (value instanceof Long l) {
            out = ascii((char) LONG + Long.toString(l));
        } else if (value instanceof Boolean b) {
            out = new byte[] {BOOLEAN, (byte) (b ? '1' : '0')};
        } else {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            bytes.write(JAVA);
            try (ObjectOutputStream oos = new ObjectOutputStream(bytes)) {
                oos.writeObject(value);
            }
            out = bytes.toByteArray();
        }
        if (out.length > maxBytes) {
            throw new AttributeTooLargeException(out.length);
        }
        return out;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * @throws RejectedClassException when the filter refuses a class; nothing of it was instantiated
     * @throws IOException for corrupt bytes or a limit exceeded
     * @throws ClassNotFoundException when the web application lacks a class
     */
    public Object decode(byte[] bytes, ClassLoader loader) throws IOException, ClassNotFoundException {
        if (bytes.length == 0) {
            throw new MalformedException("empty value");
        }
        if (bytes.length > maxBytes) {
            throw new AttributeTooLargeException(bytes.length);
        }
        switch (bytes[0]) {
            case STRING:
                return new String(bytes, 1, bytes.length - 1, StandardCharsets.UTF_8);
            case INTEGER: {
                long n = number(bytes);
                if (n != (int) n) {
                    throw new MalformedException("malformed number");
                }
                return (int) n;
            }
            case LONG:
                return number(bytes);
            case BOOLEAN:
                return bytes.length == 2 && bytes[1] == '1';
            case JAVA:
                FilteredInput in = new FilteredInput(new ByteArrayInputStream(bytes, 1, bytes.length - 1), loader);
                try (in) {
                    return in.readObject();
                } catch (InvalidClassException e) {
                    if (in.overLimit != null && !(e instanceof RejectedClassException)) {
                        throw new LimitExceededException(in.overLimit);
                    }
                    throw e;
                }
            default:
                throw new MalformedException("unknown value encoding " + (bytes[0] & 0xff));
        }
    }

    /** The digits of a number field; never quoted in an error (it is the attribute's value). */
    private static long number(byte[] bytes) throws MalformedException {
        String s = new String(bytes, 1, bytes.length - 1, StandardCharsets.US_ASCII);
        try {
            if (s.isEmpty() || s.length() > 20) {
                throw new NumberFormatException();
            }
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new MalformedException("malformed number");
        }
    }

    /** A 64-bit hash of encoded bytes, used to see whether an attribute changed since it was saved. */
    public static long hash(byte[] b) {
        long h = 0x9E3779B97F4A7C15L ^ (b.length * 0xC2B2AE3D27D4EB4FL);
        int i = 0;
        for (; i + 8 <= b.length; i += 8) {
            long k = ((long) b[i] & 0xff) | ((long) b[i + 1] & 0xff) << 8 | ((long) b[i + 2] & 0xff) << 16
                    | ((long) b[i + 3] & 0xff) << 24 | ((long) b[i + 4] & 0xff) << 32 | ((long) b[i + 5] & 0xff) << 40
                    | ((long) b[i + 6] & 0xff) << 48 | ((long) b[i + 7] & 0xff) << 56;
            h = Long.rotateLeft(h ^ mix(k), 27) * 0x9E3779B97F4A7C15L + 0x52DCE729L;
        }
        for (; i < b.length; i++) {
            h = Long.rotateLeft(h ^ ((b[i] & 0xffL) * 0x27D4EB2F165667C5L), 11) * 0x9E3779B97F4A7C15L;
        }
        return mix(h);
    }

    private static long mix(long k) {
        k ^= k >>> 33;
        k *= 0xFF51AFD7ED558CCDL;
        k ^= k >>> 33;
        k *= 0xC4CEB9FE1A85EC53L;
        return k ^ (k >>> 33);
    }

    /** Bytes that are no value of Tether's format; the message says why, never the value. */
    public static final class MalformedException extends IOException {
        MalformedException(String why) {
            super(why);
        }
    }

    /** Thrown when an encoded attribute exceeds {@link SessionStoreOptions#maxAttributeBytes()}. */
    public static final class AttributeTooLargeException extends IOException {
        public final int size;

        AttributeTooLargeException(int size) {
            super("serialized size " + size + " bytes exceeds maxAttributeBytes");
            this.size = size;
        }
    }

    /** Thrown when the class filter refuses a class, before the class is loaded. */
    public static final class RejectedClassException extends InvalidClassException {
        RejectedClassException(String className) {
            super(className, "refused by Tether's class filter");
        }
    }

    /** Thrown when a stream goes over maxDepth, maxArrayLength, maxReferences or the size limit; says which. */
    public static final class LimitExceededException extends InvalidClassException {
        LimitExceededException(String which) {
            super(which);
        }
    }

    private final class FilteredInput extends ObjectInputStream {
        private final ClassLoader loader;
        /** Which limit the stream went over, once the filter rejected it. */
        String overLimit;

        FilteredInput(ByteArrayInputStream in, ClassLoader loader) throws IOException {
            super(in);
            this.loader = loader;
            ObjectInputFilter limits = filter.limits();
            // A filter set on a stream replaces the JVM-wide one (jdk.serialFilter): ask that one
            // first, so that an operator's own rules still hold for session attributes.
            ObjectInputFilter jvm = ObjectInputFilter.Config.getSerialFilter();
            setObjectInputFilter(info -> {
                if (jvm != null && jvm.checkInput(info) == ObjectInputFilter.Status.REJECTED) {
                    if (overLimit == null) {
                        overLimit = "refused by the JVM-wide filter (jdk.serialFilter)";
                    }
                    return ObjectInputFilter.Status.REJECTED;
                }
                ObjectInputFilter.Status status = limits.checkInput(info);
                if (status == ObjectInputFilter.Status.REJECTED && overLimit == null) {
                    overLimit = filter.describeRejection(info);
                }
                return status;
            });
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            String name = desc.getName();
            if (!filter.allows(name)) {
                throw new RejectedClassException(name);
            }
            try {
                return Class.forName(name, false, loader);
            } catch (ClassNotFoundException e) {
                return super.resolveClass(desc); // primitives and bootstrap classes
            }
        }

        @Override
        @SuppressWarnings("deprecation")
        protected Class<?> resolveProxyClass(String[] interfaces) throws IOException, ClassNotFoundException {
            Class<?>[] types = new Class<?>[interfaces.length];
            for (int i = 0; i < interfaces.length; i++) {
                if (!filter.allows(interfaces[i])) {
                    throw new RejectedClassException(interfaces[i]);
                }
                types[i] = Class.forName(interfaces[i], false, loader);
            }
            try {
                return Proxy.getProxyClass(loader, types);
            } catch (IllegalArgumentException e) {
                throw new ClassNotFoundException("proxy", e);
            }
        }
    }
}
