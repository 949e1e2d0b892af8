package dev.tether.tomcat;

import jakarta.servlet.http.Cookie;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;
import org.apache.catalina.Session;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.authenticator.SavedRequest;
import org.apache.tomcat.util.buf.AbstractChunk;
import org.apache.tomcat.util.buf.ByteChunk;

/**
 * A FORM login in progress, carried in the record's notes: the request the login page interrupted
 * (Tomcat's {@link SavedRequest}) and the id the login page was served to. Tomcat keeps both as
 * session notes, which it never serializes; without them a login form posted to another node (a
 * balancer without affinity, or a failover between the login page and its submit) ends in 408.
 */
final class FormLogin {

    static final String REQUEST = "formRequest";
    static final String SESSION_ID = "formSessionId";

    private static final Logger LOG = Logger.getLogger(FormLogin.class.getName());
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    /** A saved request holds at most Tomcat's maxSavePostSize (4 kB by default) of body. */
    private static final int MAX_BYTES = 256 * 1024;
    /** Exactly the classes a SavedRequest is made of; anything else in the note is refused. */
    private static final Set<Class<?>> CLASSES = Set.of(SavedRequest.class, Cookie.class, ByteChunk.class,
            AbstractChunk.class, ArrayList.class, HashMap.class, LinkedHashMap.class, TreeMap.class, Locale.class,
            Integer.class, Number.class, String.CASE_INSENSITIVE_ORDER.getClass(), byte[].class, Object[].class,
            Map.Entry[].class);
    private static final ObjectInputFilter FILTER = info -> {
        if (info.depth() > 8 || info.references() > 10_000 || info.streamBytes() > MAX_BYTES
                || info.arrayLength() > MAX_BYTES) {
            return ObjectInputFilter.Status.REJECTED;
        }
        Class<?> c = info.serialClass();
        return c == null || CLASSES.contains(c) ? ObjectInputFilter.Status.ALLOWED : ObjectInputFilter.Status.REJECTED;
    };

    private FormLogin() {
    }

    /** Adds the login in progress of {@code session}, if any, to the notes about to be written. */
    static void save(Session session, Map<String, String> notes) {
        if (session.getNote(Constants.SESSION_ID_NOTE) instanceof String id) {
            notes.put(SESSION_ID, id);
        }
        if (session.getNote(Constants.FORM_REQUEST_NOTE) instanceof SavedRequest saved) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(saved);
            } catch (IOException e) {
                warn("could not be written (" + e + ")");
                return;
            }
            notes.put(REQUEST, Base64.getEncoder().encodeToString(bytes.toByteArray()));
        }
    }

    /** Puts a login in progress read from Redis back into {@code session}'s notes. */
    static void restore(Session session, Map<String, String> notes) {
        String id = notes.get(SESSION_ID);
        if (id != null) {
            session.setNote(Constants.SESSION_ID_NOTE, id);
        }
        String request = notes.get(REQUEST);
        if (request == null) {
            return;
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(request)))) {
            in.setObjectInputFilter(FILTER);
            session.setNote(Constants.FORM_REQUEST_NOTE, (SavedRequest) in.readObject());
        } catch (IOException | ClassNotFoundException | ClassCastException | IllegalArgumentException e) {
            warn("was refused (" + e + ")");
        }
    }

    /** Whether the notes hold a login in progress. */
    static boolean inProgress(Map<String, String> notes) {
        return notes.containsKey(REQUEST) || notes.containsKey(SESSION_ID);
    }

    private static void warn(String what) {
        if (WARNED.compareAndSet(false, true)) {
            LOG.warning("Tether: a FORM login in progress " + what + "; a login form posted to another node answers 408"
                    + " (logged once)");
        }
    }
}
