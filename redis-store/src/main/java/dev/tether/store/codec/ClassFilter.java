package dev.tether.store.codec;

import dev.tether.store.SessionStoreOptions;

import java.io.ObjectInputFilter;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides by name which classes an attribute may contain, before the class is even loaded, and
 * bounds graph depth, array length and references through the JDK's {@link ObjectInputFilter}.
 *
 * <p>Patterns follow {@code jdk.serialFilter}: {@code a.b.Name}, {@code a.b.*} (package),
 * {@code a.b.**} (package and sub-packages), {@code prefix*}, and {@code *}.
 */
final class ClassFilter {

    /**
     * Classes used by published deserialization gadget chains (ysoserial, marshalsec and the JNDI
     * injection chains that followed), refused whatever the allow list says: code execution through
     * transformers, comparators, templates and script engines; JNDI lookups (a class whose readObject
     * or getter calls InitialContext.lookup: Spring's JtaTransactionManager, data sources, logging
     * appenders); class loading from bytes (BCEL); RMI and JMX.
     */
    static final List<String> BUILT_IN_DENY = List.of(
            // Apache Commons Collections / BeanUtils / Configuration
            "org.apache.commons.collections.functors.*",
            "org.apache.commons.collections4.functors.*",
            "org.apache.commons.collections.keyvalue.TiedMapEntry",
            "org.apache.commons.collections4.keyvalue.TiedMapEntry",
            "org.apache.commons.collections.comparators.TransformingComparator",
            "org.apache.commons.collections4.comparators.TransformingComparator",
            "org.apache.commons.beanutils.BeanComparator",
            "org.apache.commons.configuration.**",
            "org.apache.commons.configuration2.**",
            "org.apache.commons.jxpath.**",
            "org.apache.commons.fileupload.disk.DiskFileItem",
            // XSLT templates, BCEL class loading
            "com.sun.org.apache.xalan.internal.xsltc.trax.*",
            "org.apache.xalan.xsltc.trax.*",
            "com.sun.org.apache.bcel.internal.**",
            "org.apache.bcel.**",
            // Scripting and dynamic languages
            "org.codehaus.groovy.runtime.*",
            "groovy.lang.**",
            "javax.script.*",
            "bsh.*",
            "org.mozilla.javascript.**",
            "org.python.core.**",
            "clojure.**",
            "jdk.jshell.**",
            // Spring: bean factories, AOP, JNDI-looking transaction managers
            "org.springframework.beans.factory.*",
            "org.springframework.aop.*",
            "org.springframework.core.SerializableTypeWrapper*",
            "org.springframework.transaction.jta.**",
            "org.springframework.jndi.**",
            // JNDI and naming, RMI, JMX, CORBA
            "com.sun.jndi.**",
            "javax.naming.**",
            "javax.management.**",
            "java.rmi.**",
            "sun.rmi.**",
            "com.sun.corba.**",
            "org.omg.**",
            // Data sources and pools that look up or connect on deserialization
            "com.sun.rowset.*",
            "com.mchange.v2.c3p0.**",
            "com.zaxxer.hikari.**",
            "org.apache.commons.dbcp.**",
            "org.apache.commons.dbcp2.**",
            "org.apache.tomcat.dbcp.**",
            "org.apache.ibatis.datasource.**",
            "org.apache.xbean.naming.**",
            "org.apache.openjpa.ee.**",
            "org.apache.shiro.jndi.**",
            "ch.qos.logback.core.db.**",
            "org.apache.log4j.receivers.db.**",
            // Other published chains
            "com.rometools.rome.feed.impl.*",
            "com.sun.syndication.feed.impl.*",
            "org.hibernate.engine.spi.*",
            "org.hibernate.tuple.component.**",
            "org.jboss.interceptor.**",
            "org.jboss.weld.interceptor.**",
            "net.sf.json.**",
            "org.apache.wicket.util.upload.**",
            "org.apache.click.**",
            "org.apache.myfaces.el.**",
            "com.mysql.cj.jdbc.**",
            // JDK internals
            "sun.reflect.**",
            "jdk.internal.**");

    /** Always readable even under a narrow allow list: plain JDK value and collection types. */
    static final List<String> BUILT_IN_ALLOW = List.of("java.lang.*", "java.util.*", "java.time.*", "java.math.*", "java.net.URI");

    private final List<String> allow;
    private final List<String> deny;
    private final ObjectInputFilter limits;
    private final int maxDepth;
    private final int maxArrayLength;
    private final int maxReferences;
    private final int maxBytes;

    ClassFilter(SessionStoreOptions options) {
        this.maxDepth = options.maxDepth();
        this.maxArrayLength = options.maxArrayLength();
        this.maxReferences = options.maxReferences();
        this.maxBytes = options.maxAttributeBytes();
        this.deny = new ArrayList<>(BUILT_IN_DENY);
        this.deny.addAll(options.denyClasses());
        this.allow = new ArrayList<>(options.allowClasses());
        if (!allow.contains("*")) {
            allow.addAll(BUILT_IN_ALLOW);
        }
        this.limits = ObjectInputFilter.Config.createFilter(
                "maxdepth=" + options.maxDepth()
                        + ";maxarray=" + options.maxArrayLength()
                        + ";maxrefs=" + options.maxReferences()
                        + ";maxbytes=" + options.maxAttributeBytes());
    }

    ObjectInputFilter limits() {
        return limits;
    }

    /**
     * Which limit a stream the {@link #limits()} filter rejected went over, for the log line (the
     * JDK only says "filter status: REJECTED").
     */
    String describeRejection(ObjectInputFilter.FilterInfo info) {
        if (info.depth() > maxDepth) {
            return "object graph deeper than maxDepth=" + maxDepth;
        }
        if (info.arrayLength() > maxArrayLength) {
            return "array of " + info.arrayLength() + " elements, over maxArrayLength=" + maxArrayLength;
        }
        if (info.references() > maxReferences) {
            return "more than maxReferences=" + maxReferences + " objects";
        }
        if (info.streamBytes() > maxBytes) {
            return "more than maxAttributeBytes=" + maxBytes + " bytes";
        }
        return "refused by the serialization limits";
    }

    /** Whether a class of this binary name (arrays unwrapped) may be loaded at all. */
    boolean allows(String className) {
        String name = className;
        while (name.startsWith("[")) {
            name = name.substring(1);
        }
        if (name.length() == 1) {
            return true; // primitive array component
        }
        if (name.startsWith("L") && name.endsWith(";")) {
            name = name.substring(1, name.length() - 1);
        }
        for (String p : deny) {
            if (matches(p, name)) {
                return false;
            }
        }
        for (String p : allow) {
            if (matches(p, name)) {
                return true;
            }
        }
        return false;
    }

    static boolean matches(String pattern, String name) {
        if (pattern.equals("*")) {
            return true;
        }
        if (pattern.endsWith(".**")) {
            String pkg = pattern.substring(0, pattern.length() - 2);
            return name.startsWith(pkg);
        }
        if (pattern.endsWith(".*")) {
            String pkg = pattern.substring(0, pattern.length() - 1);
            return name.startsWith(pkg) && name.indexOf('.', pkg.length()) < 0;
        }
        if (pattern.endsWith("*")) {
            return name.startsWith(pattern.substring(0, pattern.length() - 1));
        }
        return name.equals(pattern);
    }
}
