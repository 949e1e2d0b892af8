package dev.tether.bench.app;

import java.io.Serializable;

/** The page workload's signed-in user, as an application keeps it in the session. */
public class Profile implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String name;
    private final String email;
    private final String address;
    private final String preferences;

    Profile(String name, String email, String address, String preferences) {
        this.name = name;
        this.email = email;
        this.address = address;
        this.preferences = preferences;
    }

    public String getName() {
        return name;
    }

    public String getEmail() {
        return email;
    }

    public String getAddress() {
        return address;
    }

    public String getPreferences() {
        return preferences;
    }
}
