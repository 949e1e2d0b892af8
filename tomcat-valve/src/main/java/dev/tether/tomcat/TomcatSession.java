package dev.tether.tomcat;

import dev.tether.store.ContainerSession;
import dev.tether.store.SessionRecord;
import dev.tether.store.SessionSnapshot;
import dev.tether.store.TrackedSession;
import dev.tether.store.WriteOutcome;
import java.security.Principal;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.catalina.Manager;
import org.apache.catalina.authenticator.Constants;
import org.apache.catalina.realm.GenericPrincipal;
import org.apache.catalina.session.StandardSession;

/**
 * Tether's Tomcat session: it tells the core what each request touched, so that only that is written.
 */
final class TomcatSession extends StandardSession implements ContainerSession {

    private static final String AUTH_TYPE = "authType";
    private static final String PRINCIPAL = "principal";
    private static final String ROLES = "roles";

    private transient volatile TrackedSession state;
    private transient volatile boolean dropping;
    private transient volatile boolean invalidating;
    private transient volatile WriteOutcome idChangeRefused;
    private transient volatile WriteOutcome invalidationRefused;
    private transient volatile Principal notesPrincipal;
    private transient volatile String notesAuthType;
    private transient volatile Map<String, String> notesCache;

    TomcatSession(Manager manager) {
        super(manager);
    }

    TrackedSession tracked() {
        return state;
    }

    void attach(TrackedSession state) {
        this.state = state;
    }

    private RedisSessionManager redisManager() {
        return (RedisSessionManager) manager;
    }

    /** Fills a fresh session from its Redis record; no listener fires until {@link #activate()}. */
    void restore(String id, SessionRecord loaded, boolean restorePrincipal) {
        this.state = loaded.tracked();
        setNew(false);
        setValid(true);
        setCreationTime(loaded.creationTime());
        fill(loaded, restorePrincipal);
        // The facade before anyone can find the session: Tomcat makes it lazily and unsynchronized,
        // and two requests arriving together on a session just loaded could each get one of their
        // own, so that an application's synchronized (session) no longer serialized them (two first
        // adds to a cart each made a cart, and one item was gone: the no-affinity suite saw it).
        getSession();
        setId(id, false);
        state.bind(this);
    }

    /**
     * Another node changed the session: take its state in place, without attribute events (the
     * changes happened, and were announced, there); activation listeners hear of their new values. The object stays the same, so a request that
     * holds it sees the new state.
     */
    void refresh(SessionRecord loaded, boolean restorePrincipal) {
        attributes.keySet().retainAll(loaded.attributes().keySet());
        principal = null;
        authType = null;
        notesCache = null;
        removeNote(Constants.FORM_REQUEST_NOTE);
        removeNote(Constants.SESSION_ID_NOTE);
        fill(loaded, restorePrincipal);
        // Every value is a new object read from Redis, as on a load: those that keep transient
        // state (HttpSessionActivationListener) are told, as on a load.
        jakarta.servlet.http.HttpSessionEvent event = null;
        for (Object value : loaded.attributes().values()) {
            if (value instanceof jakarta.servlet.http.HttpSessionActivationListener listener) {
                if (event == null) {
                    event = new jakarta.servlet.http.HttpSessionEvent(getSession());
                }
                try {
                    listener.sessionDidActivate(event);
                } catch (RuntimeException e) {
                    manager.getContext().getLogger().error("Tether: a sessionDidActivate listener failed on a session read again", e);
                }
            }
        }
    }

    private void fill(SessionRecord loaded, boolean restorePrincipal) {
        this.lastAccessedTime = loaded.lastAccessedTime();
        this.thisAccessedTime = Math.max(thisAccessedTime, loaded.lastAccessedTime());
        this.maxInactiveInterval = loaded.maxInactiveSeconds();
        attributes.putAll(loaded.attributes());
        Map<String, String> notes = loaded.notes();
        if (restorePrincipal && notes.get(PRINCIPAL) != null) {
            String roles = notes.getOrDefault(ROLES, "");
            List<String> roleList = roles.isEmpty() ? List.of() : Arrays.asList(roles.split("\n"));
            this.principal = Principals.of(notes.get(PRINCIPAL), roleList);
            this.authType = notes.get(AUTH_TYPE);
        }
        if (FormLogin.inProgress(notes)) {
            FormLogin.restore(this, notes);
        }
    }

    // ------------------------------------------------------------ tracking

    @Override
    public Object getAttribute(String name) {
        Object value = super.getAttribute(name);
        TrackedSession s = state;
        if (s != null && value != null) {
            s.attributeRead(name, value);
        }
        return value;
    }

    @Override
    public void setAttribute(String name, Object value, boolean notify) {
        super.setAttribute(name, value, notify);
        TrackedSession s = state;
        if (s != null && value != null) {
            s.attributeSet(name);
        }
    }

    @Override
    protected void removeAttributeInternal(String name, boolean notify) {
        super.removeAttributeInternal(name, notify);
        TrackedSession s = state;
        if (s != null) {
            s.attributeRemoved(name);
        }
    }

    @Override
    public void invalidate() {
        invalidating = true; // an explicit invalidation is final everywhere: no expiry claim
        super.invalidate();
    }

    /** Whether the session is still valid, without Tomcat's idle check. */
    @Override
    protected boolean isValidInternal() {
        return super.isValidInternal();
    }

    /**
     * Tomcat hands the session to a request: one of another application, reaching this one through
     * a cross-context dispatch, is counted in here (this application's valve does not see it).
     */
    @Override
    public void access() {
        super.access();
        redisManager().reachedAcrossContexts(this);
    }

    /**
     * Tomcat's idle check (each request's, and the background expiry's): marks the expiry it may
     * start as a timeout, which is claimed in Redis; any other {@code expire()} ends the session on
     * purpose.
     */
    @Override
    public boolean isValid() {
        if (isValid && !expiring && maxInactiveInterval > 0) {
            // Marked before Tomcat reads the clock itself, so that its timeout is never taken for an
            // expire() on purpose.
            IDLE_CHECK.set(this);
            try {
                return super.isValid();
            } finally {
                IDLE_CHECK.remove();
            }
        }
        return super.isValid();
    }

    private static final ThreadLocal<TomcatSession> IDLE_CHECK = new ThreadLocal<>();

    @Override
    public void expire(boolean notify) {
        TrackedSession s = state;
        if (notify && !invalidating && !dropping && isValid && !expiring && s != null && !s.isDropped()) {
            if (IDLE_CHECK.get() != this) {
                // Not a timeout: an administrator (JMX expireSession, the manager application) or a
                // single sign-on logout in another application ends it: final everywhere, like invalidate().
                invalidating = true;
                super.expire(notify);
                return;
            }
            // Idle here. Before telling the application the session died, claim the expiry in
            // Redis: once in the cluster, and never for a session another node still serves.
            switch (redisManager().claimExpiry(s)) {
                case ALIVE, GONE -> {
                    if (s.isDropped()) {
                        drop(); // not expire(false): that would count it as expired here and log the user out
                    } // else a request is using this copy: it stays valid
                    return;
                }
                case UNKNOWN -> {
                    // Redis cannot say, and another node may serve it: no events, no delete. Kept
                    // for the next run; but a request never runs on a copy past its timeout.
                    if (s.inUse()) {
                        drop(); // out of this node's maps, attributes untouched (a queued write may carry them)
                        setValid(false); // the request gets no session
                    }
                    return;
                }
                default -> { }
            }
        }
        super.expire(notify);
    }

    /** The expiry sweep claimed this session (its node is gone): fire its destruction events here. */
    void expireClaimed() {
        super.expire(true);
    }

    /** An administrator or the per-user limit ended this session; its record is gone: events here, nothing to write. */
    @Override
    public void end() {
        if (isValid) {
            super.expire(true);
        }
    }

    /** The id change of this session was not stored: the valve refuses the request, the copy goes. */
    void idChangeRefused(WriteOutcome outcome) {
        idChangeRefused = outcome;
    }

    WriteOutcome takeIdChangeRefused() {
        WriteOutcome o = idChangeRefused;
        idChangeRefused = null;
        return o;
    }

    /**
     * The invalidation of this session was not stored. Kept on the session for an asynchronous
     * request, whose completion runs on another thread than the one that invalidated.
     */
    void invalidationRefused(WriteOutcome outcome) {
        invalidationRefused = outcome;
    }

    WriteOutcome takeInvalidationRefused() {
        WriteOutcome o = invalidationRefused;
        invalidationRefused = null;
        return o;
    }

    boolean isDropping() {
        return dropping;
    }

    // ------------------------------------------------------------ ContainerSession

    @Override
    public SessionSnapshot snapshot() {
        Principal p = principal;
        // A request using the session counts as an access until it ends (Tomcat's endAccess sets the
        // access time then, after this snapshot): other nodes must not count a long request as idle.
        TrackedSession s = state;
        long accessed = s != null && s.inUse() ? Math.max(getThisAccessedTimeInternal(), System.currentTimeMillis())
                : getThisAccessedTimeInternal();
        return new SessionSnapshot(redisManager().distributable(attributes), getCreationTimeInternal(), accessed,
                maxInactiveInterval, notes(), Map.of(), p == null ? null : p.getName());
    }

    /** The principal and a FORM login in progress, as container data. */
    private Map<String, String> notes() {
        Map<String, String> login = principalNotes();
        if (getNote(Constants.FORM_REQUEST_NOTE) == null && getNote(Constants.SESSION_ID_NOTE) == null) {
            return login;
        }
        Map<String, String> out = new HashMap<>(login);
        FormLogin.save(this, out);
        return out;
    }

    /** The principal as container data: built once per login, since it is compared on every request. */
    private Map<String, String> principalNotes() {
        Principal p = principal;
        if (p == null || !redisManager().getPersistAuthentication()) {
            return Map.of();
        }
        Map<String, String> cached = notesCache;
        if (p == notesPrincipal && java.util.Objects.equals(authType, notesAuthType) && cached != null) {
            return cached; // asked on every request: build it once per login
        }
        Map<String, String> out = new HashMap<>(4);
        out.put(PRINCIPAL, p.getName());
        if (authType != null) {
            out.put(AUTH_TYPE, authType);
        }
        if (p instanceof GenericPrincipal gp) {
            out.put(ROLES, String.join("\n", gp.getRoles()));
        }
        notesPrincipal = p;
        notesAuthType = authType;
        notesCache = Map.copyOf(out);
        return notesCache;
    }

    @Override
    public void drop() {
        if (dropping) {
            return;
        }
        dropping = true;
        // The session lives on at its new owner: no destruction events, no logout. A request that
        // is using this copy right now finishes with it; the next one loads the current state.
        redisManager().drop(this);
    }
}
