# Tether: Redis-backed sessions for Jetty 12. See the Tether README.

[description]
Stores HTTP sessions in Redis with Tether: one Redis hash per session,
delta writes, ownership fencing and failover between nodes that balancers
route by the session id's .workerName suffix. Works for ee8, ee9, ee10 and
ee11 web applications.

[tags]
session

[provides]
session-store

[depends]
sessions
session-cache-hash

[lib]
lib/tether/*.jar

[xml]
etc/sessions/redis/session-store.xml

[ini]
# Write the session before the response commits, so that a redirect-after-POST
# whose next request lands on another node sees the data (Jetty 12.0 defaults
# this to false, 12.1 to true; Tether makes it true on both).
jetty.session.flushOnResponseCommit?=true

[ini-template]
## Redis to use:
##   redis://[user:password@]host:port[/db]        one server (rediss:// for TLS)
##   redis-sentinel://host:port,host:port[/db]#mymaster   the master Sentinel names
##   redis-cluster://host:port,host:port           Redis Cluster (seed nodes)
jetty.session.redis.uri=redis://127.0.0.1:6379

## Prefix of every Redis key. Default: tether:jetty:<vhost><contextPath>:
## so that two web applications never share sessions.
#jetty.session.redis.keyPrefix=

## Which attributes a request writes back: ON_SET_ATTRIBUTE, ON_GET_ATTRIBUTE
## (default: also mutable attributes read and changed in place) or ALWAYS.
#jetty.session.redis.saveMode=ON_GET_ATTRIBUTE

## Redis command timeout and connect timeout, in milliseconds.
#jetty.session.redis.commandTimeoutMillis=1000
#jetty.session.redis.connectTimeoutMillis=2000

## Longest a read-only session's last-access time in Redis may lag (seconds).
## Requests that change nothing send no command; at most one asynchronous
## refresh per session per interval keeps the record's TTL alive.
#jetty.session.redis.touchIntervalSeconds=60

## Sessions whose writes are kept for replay while Redis is unreachable.
#jetty.session.redis.maxPendingSessions=10000

## Largest serialized attribute written or read, in bytes.
#jetty.session.redis.maxAttributeBytes=1048576

## Deserialization filter: class patterns allowed (* = everything not denied)
## and denied on top of Tether's built-in list of known gadget classes.
## Patterns: a.b.Name, a.b.* (package), a.b.** (and sub-packages), prefix*.
#jetty.session.redis.allowClasses=*
#jetty.session.redis.denyClasses=
#jetty.session.redis.maxDepth=100
#jetty.session.redis.maxArrayLength=1000000
#jetty.session.redis.maxReferences=1000000

## Durability: replicas that must acknowledge each session write (Redis WAIT),
## and how long a write waits for them. 0 (default) does not wait.
#jetty.session.redis.waitReplicas=0
#jetty.session.redis.waitTimeoutMillis=500

## Jetty's own store settings.
#jetty.session.gracePeriod.seconds=3600
#jetty.session.savePeriod.seconds=0

## Each node needs its own workerName (no dots: balancers split the session
## id at the first dot); set it in start.d/sessions.ini as
##   jetty.sessionIdManager.workerName=node1
## or through the JETTY_WORKER_INSTANCE environment variable (workerName
## becomes node<value>).
