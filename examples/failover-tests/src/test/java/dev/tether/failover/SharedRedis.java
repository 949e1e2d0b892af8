package dev.tether.failover;

import dev.tether.testkit.RedisProcess;

/** One redis-server for every scenario of this test JVM (each scenario logs in fresh users). */
final class SharedRedis {

    private static RedisProcess redis;

    private SharedRedis() {
    }

    static synchronized RedisProcess get() {
        if (redis == null) {
            redis = RedisProcess.start();
            RedisProcess started = redis;
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "stop-shared-redis"));
        }
        return redis;
    }
}
