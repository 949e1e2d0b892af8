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
}
