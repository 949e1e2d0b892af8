package dev.tether.tomcat.e2e.app;

import jakarta.servlet.http.HttpSessionEvent;
import jakarta.servlet.http.HttpSessionIdListener;

/** Counts {@code sessionIdChanged} per old id base; registered in web.xml. */
public class SessionIdCounter implements HttpSessionIdListener {

    @Override
    public void sessionIdChanged(HttpSessionEvent event, String oldSessionId) {
        Counters.increment(Counters.ID_CHANGES, oldSessionId);
        Counters.LAST_NEW_ID.put(Counters.base(oldSessionId), event.getSession().getId());
    }
}
