package dev.tether.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A misspelled {@code jetty.session.redis.*} start property is named at start, not ignored. */
class StartPropertiesTest {

    @Test
    void unknownPropertiesInStartIniAndStartDAreNamedWithTheNearestSetting(@TempDir Path base) throws Exception {
        Files.createDirectories(base.resolve("start.d"));
        Files.writeString(base.resolve("start.d/session-store-redis.ini"), String.join("\n",
                "--module=session-store-redis",
                "jetty.session.redis.redisUri=redis://127.0.0.1:6379",
                "## jetty.session.redis.notASetting=1 (a comment)",
                "#jetty.session.redis.mode=sticky",
                "jetty.session.redis.comandTimeoutMillis=1500",
                "jetty.session.redis.asyncwrites?=true",
                "jetty.session.redis.somethingElse+=x",
                ""));
        Files.writeString(base.resolve("start.d/other.ini"), "jetty.http.port=8080\n");
        Files.writeString(base.resolve("start.ini"), "--jetty.session.redis.maxSessionPerUser=3\n");
        List<String> unknown = new RedisSessionDataStoreFactory().checkStartProperties(base.toString());
        assertEquals(List.of(
                "jetty.session.redis.maxSessionPerUser (start.ini) is not a Tether setting (did you mean 'maxSessionsPerUser'?),"
                        + " so it changes nothing",
                "jetty.session.redis.comandTimeoutMillis (start.d/session-store-redis.ini) is not a Tether setting"
                        + " (did you mean 'commandTimeoutMillis'?), so it changes nothing",
                "jetty.session.redis.asyncwrites (start.d/session-store-redis.ini) is not a Tether setting"
                        + " (did you mean 'asyncWrites'?), so it changes nothing",
                "jetty.session.redis.somethingElse (start.d/session-store-redis.ini) is not a Tether setting, so it changes nothing"),
                unknown);
    }

    @Test
    void aBaseWithoutIniFilesHasNothingToSay(@TempDir Path base) {
        assertEquals(List.of(), new RedisSessionDataStoreFactory().checkStartProperties(base.toString()));
        assertEquals(List.of(), new RedisSessionDataStoreFactory().checkStartProperties(null));
    }
}
