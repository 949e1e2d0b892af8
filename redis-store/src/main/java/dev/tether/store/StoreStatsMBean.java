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

    /** Sessions taken over from other routes (sticky mode). */
    long getSessionsTakenOver();

    /** {@link #getSessionsTakenOver()} by previous route, as {@code route=count,...}. */
    String getSessionsTakenOverByRoute();

    /** Writes Redis applied. */
    long getWrites();

    /** Records deleted (invalidation, expiry). */
    long getDeletes();

    /** Writes refused because another node changed the same attribute meanwhile. */
    long getWriteConflicts();

    /** Writes applied beside another node's concurrent change of other attributes. */
    long getWritesMerged();

    /** Copies read again because another node changed the session. */
    long getSessionsReloaded();

    /** Sessions written back because Redis had lost them or held an older state. */
    long getSessionsRestored();

    /**
     * Write-backs refused: Redis went back to an older state of the session and another node wrote
     * it since, so this node's newer copy could not replace it; what that copy held beyond the
     * record may be lost. Should stay 0.
     */
    long getSessionsNotRestored();

    /** Sessions whose expiry this node claimed (it fired their destruction events). */
    long getSessionsExpired();

    /** Requests answered 503 because their session change was not stored. */
    long getRefusedRequests();

    /** Requests answered 503 because their session could not be read from Redis (rather than given a new, empty one). */
    long getUnreadableRequests();

    /** Responses already sent when their session change turned out not stored (the application flushed early). */
    long getAcknowledgedUnstored();

    /** Records treated as missing: a field lacked a valid signature (signingKeys), or its metadata was damaged. */
    long getRecordsRefused();

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

    /**
     * Sessions in Redis for this application, on every node (read from Redis at most every 5 s);
     * -1 when Redis cannot be asked.
     */
    long getClusterSessions();

    /**
     * Sessions each live node holds in memory, as {@code route=count,...} (each node reports within
     * 10 s of a change, else every 30 s; a node silent for 75 s is left out). In sticky mode a session is held by one node; in
     * shared mode several may hold copies.
     */
    String getClusterSessionsByRoute();

    /**
     * Ends every session of the user with this name, on every node ("log out everywhere").
     *
     * @return how many sessions ended
     */
    int invalidateSessionsOf(String user);
}
