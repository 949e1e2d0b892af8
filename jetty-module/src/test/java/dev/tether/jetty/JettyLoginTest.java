package dev.tether.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import org.eclipse.jetty.security.UserIdentity;
import org.eclipse.jetty.security.authentication.SessionAuthentication;
import org.junit.jupiter.api.Test;

/** The user of Jetty's own login, as the record names it. */
class JettyLoginTest {

    @Test
    void theUserOfAnActiveLoginIsItsPrincipal() {
        UserIdentity alice = UserIdentity.from(new javax.security.auth.Subject(), () -> "alice", "user");
        SessionAuthentication login = new SessionAuthentication("FORM", alice, "secret");
        assertEquals("alice", JettyLogin.user(Map.of(JettyLogin.ATTRIBUTE, login)));
    }

    /**
     * Jetty's login throws for its identity until Jetty logs it in again on this node (read from Redis
     * where no security handler was at hand, or its login service refused the stored credentials):
     * the session is logged in all the same, as the name it logged in with.
     */
    @Test
    void aLoginNotActiveOnThisNodeIsStillItsUsers() throws Exception {
        UserIdentity alice = UserIdentity.from(new javax.security.auth.Subject(), () -> "alice", "user");
        SessionAuthentication login = new SessionAuthentication("FORM", alice, "secret");
        java.lang.reflect.Field identity = login.getClass().getSuperclass().getDeclaredField("_userIdentity");
        identity.setAccessible(true);
        identity.set(login, null); // as after deserialization without a security handler
        assertEquals("alice", JettyLogin.user(Map.of(JettyLogin.ATTRIBUTE, login)));
    }

    @Test
    void noLoginIsNoUser() {
        assertNull(JettyLogin.user(Map.of("cart", "book")));
    }
}
