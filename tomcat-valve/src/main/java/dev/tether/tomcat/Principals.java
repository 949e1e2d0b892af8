package dev.tether.tomcat;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.security.Principal;
import java.util.List;
import org.apache.catalina.realm.GenericPrincipal;

/**
 * Builds the principal of a login restored from Redis. The one place where Tomcat 9 and 10.1+
 * differ beyond the package rename: 10.1 has {@code GenericPrincipal(name, roles)}, 9.0 only
 * {@code GenericPrincipal(name, password, roles)}.
 */
final class Principals {

    private static final MethodHandle NAME_ROLES = constructor(MethodType.methodType(void.class, String.class, List.class));
    private static final MethodHandle NAME_PASSWORD_ROLES =
            constructor(MethodType.methodType(void.class, String.class, String.class, List.class));

    private Principals() {
    }

    static Principal of(String name, List<String> roles) {
        try {
            return NAME_ROLES != null ? (GenericPrincipal) NAME_ROLES.invoke(name, roles)
                    : (GenericPrincipal) NAME_PASSWORD_ROLES.invoke(name, (String) null, roles);
        } catch (Throwable e) {
            throw new IllegalStateException("Tether: cannot restore the principal of a login", e);
        }
    }

    private static MethodHandle constructor(MethodType type) {
        try {
            return MethodHandles.publicLookup().findConstructor(GenericPrincipal.class, type);
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null;
        }
    }
}
