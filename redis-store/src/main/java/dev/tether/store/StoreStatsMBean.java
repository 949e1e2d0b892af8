package dev.tether.store;

/**
 * Tether's statistics of one web application's store, as JMX shows them on both containers
 * (Tomcat: {@code Catalina:type=Tether,host=<host>,context=<path>}; Jetty, with its jmx module:
 * {@code dev.tether.store:type=storestats,context=..}). Counters run since the application started.
 */
public interface StoreStatsMBean {

    /** Whether Redis answers right now. */
    boolean isRedisAvailable();

    /** Sessions created on this node. */
    long getSessionsCreated();

    /** Sessions loaded from Redis that this node had owned before (for example after its restart). */
    long getSessionsLoaded();

    /** Ids looked up in Redis and not found. */
    long getSessionsNotFound();

    /** Sessions taken over from other routes. */
    long getSessionsTakenOver();

    /** {@link #getSessionsTakenOver()} by previous route, as {@code route=count,...}. */
    String getSessionsTakenOverByRoute();

    /** Writes Redis applied. */
    long getWrites();

    /** Records deleted (invalidation, expiry). */
    long getDeletes();

    /** Writes and deletes refused because another node owns the session. */
    long getWritesFenced();

    /** Redis commands that failed. */
    long getRedisErrors();

    /** Writes queued while Redis was unreachable. */
    long getWritesQueued();

    /** Sessions and deletes waiting for Redis right now. */
    long getWritesPending();

    /** Attributes dropped on read: refused by the class filter, unknown class, or corrupt bytes. */
    long getAttributesRejected();

    /** Attributes left on this node because they are not serializable. */
    long getAttributesNotSerializable();

    /** Attributes left on this node because they serialize to more than maxAttributeBytes. */
    long getAttributesTooLarge();

    /** Writes that fewer than waitReplicas replicas acknowledged in time. */
    long getReplicaShortfalls();

    /** Median time from sending a write to Redis's answer, in microseconds. */
    long getWriteLatencyP50Micros();

    /** 99th percentile of that time, in microseconds. */
    long getWriteLatencyP99Micros();
}
