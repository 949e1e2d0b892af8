package dev.tether.jetty;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.security.Principal;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user a Jetty session is logged in as. Jetty keeps a login (FORM, or any authenticator that
 * remembers it) as a session attribute, a {@code SessionAuthentication}, whose class differs
 * between the core (ee10, ee11) and the ee8/ee9 security modules, all of them outside this
 * module's class path: so the name is read by reflection, once per class. Its user identity is
 * transient and set again only when Jetty activates the value on a node, so the name it was
 * logged in with is the fallback.
 */
final class JettyLogin {

    /** The attribute under which every Jetty 12 security module keeps a login. */
    static final String ATTRIBUTE = "org.eclipse.jetty.security.UserIdentity";

    private static final Logger LOG = LoggerFactory.getLogger(JettyLogin.class);

    private static final ClassValue<Function<Object, String>> NAMES = new ClassValue<>() {
        @Override
        protected Function<Object, String> computeValue(Class<?> type) {
            return reader(type);
        }
    };

    private JettyLogin() {
    }

    /** The user name of the login among {@code attributes}, or {@code null}: nobody logged in. */
    static String user(Map<String, Object> attributes) {
        Object login = attributes.get(ATTRIBUTE);
        return login == null ? null : NAMES.get(login.getClass()).apply(login);
    }

    private static Function<Object, String> reader(Class<?> type) {
        Method identity = method(type, "getUserIdentity");
        Field name = field(type, "_name");
        if (identity == null && name == null) {
            LOG.warn("Tether: Jetty's login attribute holds a " + type.getName() + ", whose user name cannot be read; sessions"
                    + " logged in with it are not indexed by user (maxSessionsPerUser, invalidateSessionsOf)");
        }
        return login -> {
            String n = null;
            try {
                Object id = identity == null ? null : identity.invoke(login);
                Method principal = id == null ? null : method(id.getClass(), "getUserPrincipal");
                Principal p = principal == null ? null : (Principal) principal.invoke(id);
                n = p == null ? null : p.getName();
            } catch (ReflectiveOperationException | RuntimeException e) {
                // Jetty throws while its login has no identity on this node (not activated, or its
                // login service refused the stored credentials): the name below still tells whose it is
                LOG.debug("Tether: reading the user identity of a Jetty login", e);
            }
            if (n == null && name != null) {
                try {
                    n = (String) name.get(login); // the name it logged in with
                } catch (ReflectiveOperationException | RuntimeException e) {
                    LOG.debug("Tether: reading the user name of a Jetty login", e);
                }
            }
            return n == null || n.isEmpty() ? null : n;
        };
    }

    private static Method method(Class<?> type, String name) {
        try {
            Method m = type.getMethod(name);
            m.trySetAccessible(); // a public method of a class that is not (Jetty's internal user identity)
            return m;
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    private static Field field(Class<?> type, String name) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                if (f.getType() == String.class) {
                    f.setAccessible(true);
                    return f;
                }
            } catch (NoSuchFieldException | RuntimeException e) {
                // not here: the superclass, or none
            }
        }
        return null;
    }
}
