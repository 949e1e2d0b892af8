package dev.tether.tomcat.e2e;

/** A test class whose node logs {@link DumpLogsOnFailure} prints when one of its tests fails. */
interface DumpsLogs {

    void dumpLogs(String why);
}
