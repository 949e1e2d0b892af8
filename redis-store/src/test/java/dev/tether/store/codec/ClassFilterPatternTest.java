package dev.tether.store.codec;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.store.SessionStoreOptions;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The class filter's patterns, decided by name before any class is loaded. */
class ClassFilterPatternTest {

    @Test
    void filterMatchesNamesAndArrays() {
        ClassFilter f = new ClassFilter(SessionStoreOptions.builder("redis://127.0.0.1:1").allowClasses(List.of("com.acme.**", "org.shop.Cart")).build());
        assertTrue(f.allows("com.acme.Cart"));
        assertTrue(f.allows("com.acme.deep.pkg.Item"));
        assertTrue(f.allows("org.shop.Cart"));
        assertFalse(f.allows("org.shop.CartX"));
        assertFalse(f.allows("com.acmex.Cart"));
        assertTrue(f.allows("java.util.ArrayList"));
        assertFalse(f.allows("java.util.concurrent.ConcurrentHashMap"), "java.util.* is one package, not sub-packages");
        assertTrue(f.allows("[I"));
        assertTrue(f.allows("[[Lcom.acme.Cart;"));
        assertFalse(f.allows("[Lorg.evil.Thing;"));
        assertFalse(f.allows("[Lorg.apache.commons.collections.functors.InvokerTransformer;"));
        ClassFilter all = new ClassFilter(SessionStoreOptions.builder("redis://127.0.0.1:1").build());
        assertTrue(all.allows("org.anything.At.All"));
        assertFalse(all.allows("org.apache.commons.collections4.functors.InvokerTransformer"));
        assertFalse(all.allows("com.sun.org.apache.xalan.internal.xsltc.trax.TemplatesImpl"));
        assertFalse(all.allows("org.codehaus.groovy.runtime.ConvertedClosure"));
        assertFalse(all.allows("com.sun.jndi.rmi.registry.ReferenceWrapper"));
        assertFalse(all.allows("org.apache.commons.beanutils.BeanComparator"));
    }

    @Test
    void theBuiltInListRefusesTheKnownGadgetFamiliesWhateverTheAllowList() {
        ClassFilter all = new ClassFilter(SessionStoreOptions.builder("redis://127.0.0.1:1").build());
        for (String gadget : List.of(
                "org.springframework.transaction.jta.JtaTransactionManager",   // JNDI lookup in readObject
                "com.zaxxer.hikari.HikariConfig",                               // JNDI data source
                "org.apache.tomcat.dbcp.dbcp2.BasicDataSource",
                "com.sun.org.apache.bcel.internal.util.ClassLoader",           // class bytes in a name
                "org.apache.commons.collections4.comparators.TransformingComparator",
                "org.apache.commons.configuration.JNDIConfiguration",
                "groovy.lang.Closure",
                "ch.qos.logback.core.db.JNDIConnectionSource",
                "org.jboss.interceptor.proxy.InterceptorMethodHandler",
                "com.sun.corba.se.impl.activation.ServerManagerImpl",
                "javax.naming.Reference",
                "java.rmi.server.UnicastRemoteObject")) {
            assertFalse(all.allows(gadget), gadget);
        }
        ClassFilter narrow = new ClassFilter(SessionStoreOptions.builder("redis://127.0.0.1:1")
                .allowClasses(List.of("org.springframework.**")).build());
        assertFalse(narrow.allows("org.springframework.transaction.jta.JtaTransactionManager"), "deny wins over allow");
        assertTrue(narrow.allows("org.springframework.security.core.context.SecurityContextImpl"));
    }
}
