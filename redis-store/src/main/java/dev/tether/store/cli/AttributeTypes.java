package dev.tether.store.cli;

import dev.tether.store.codec.AttributeCodec;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;

/**
 * The class of a stored attribute, read from its bytes and never by deserializing them: the tool
 * must be safe on a record someone planted, and needs none of the application's classes. A
 * Java-serialized value names its class in the stream's first few bytes.
 */
final class AttributeTypes {

    // Java Object Serialization Stream Protocol, section 6.4.2 (terminal symbols and constants).
    private static final int STREAM_MAGIC = 0xACED;
    private static final int TC_NULL = 0x70;
    private static final int TC_CLASSDESC = 0x72;
    private static final int TC_OBJECT = 0x73;
    private static final int TC_STRING = 0x74;
    private static final int TC_ARRAY = 0x75;
    private static final int TC_CLASS = 0x76;
    private static final int TC_LONGSTRING = 0x7C;
    private static final int TC_PROXYCLASSDESC = 0x7D;
    private static final int TC_ENUM = 0x7E;

    private AttributeTypes() {
    }

    /** The class name an encoded attribute holds, or a note in parentheses saying why it cannot tell. */
    static String of(byte[] encoded) {
        if (encoded == null || encoded.length == 0) {
            return "(empty)";
        }
        return switch (encoded[0]) {
            case AttributeCodec.STRING -> "java.lang.String";
            case AttributeCodec.INTEGER -> "java.lang.Integer";
            case AttributeCodec.LONG -> "java.lang.Long";
            case AttributeCodec.BOOLEAN -> "java.lang.Boolean";
            case AttributeCodec.JAVA -> javaStreamClass(encoded);
            default -> String.format("(unknown encoding 0x%02x)", encoded[0] & 0xff);
        };
    }

    private static String javaStreamClass(byte[] encoded) {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded, 1, encoded.length - 1));
        try {
            if (in.readUnsignedShort() != STREAM_MAGIC) {
                return "(not a Java serialization stream)";
            }
            in.readUnsignedShort(); // stream version
            int tag = in.readUnsignedByte();
            return switch (tag) {
                case TC_NULL -> "null";
                case TC_STRING, TC_LONGSTRING -> "java.lang.String";
                case TC_CLASS -> "java.lang.Class";
                case TC_OBJECT, TC_ARRAY, TC_ENUM -> classDescription(in);
                default -> String.format("(unexpected stream element 0x%02x)", tag);
            };
        } catch (IOException e) {
            return "(truncated Java serialization stream)";
        }
    }

    /** A class descriptor: its name (modified UTF-8, as {@code readUTF} reads), or a proxy's interfaces. */
    private static String classDescription(DataInputStream in) throws IOException {
        int tag = in.readUnsignedByte();
        if (tag == TC_CLASSDESC) {
            return readable(in.readUTF());
        }
        if (tag == TC_PROXYCLASSDESC) {
            int count = in.readInt();
            StringBuilder b = new StringBuilder("proxy of ");
            for (int i = 0; i < count && i < 16; i++) {
                b.append(i == 0 ? "" : ", ").append(in.readUTF());
            }
            return b.toString();
        }
        return String.format("(unexpected class descriptor 0x%02x)", tag);
    }

    /** Array names as a reader writes them: {@code [Ljava.lang.String;} becomes {@code java.lang.String[]}. */
    private static String readable(String name) {
        int dims = 0;
        while (dims < name.length() && name.charAt(dims) == '[') {
            dims++;
        }
        if (dims == 0) {
            return name;
        }
        String element = name.substring(dims);
        String base = switch (element) {
            case "Z" -> "boolean";
            case "B" -> "byte";
            case "C" -> "char";
            case "S" -> "short";
            case "I" -> "int";
            case "J" -> "long";
            case "F" -> "float";
            case "D" -> "double";
            default -> element.startsWith("L") && element.endsWith(";") ? element.substring(1, element.length() - 1) : element;
        };
        return base + "[]".repeat(dims);
    }
}
