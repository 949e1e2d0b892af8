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
# Scavenge every minute: the sessions of a node that stopped for good get their
# sessionDestroyed from the first scavenge that finds them, before Redis' TTL
# removes their records a few touch intervals after they expire (Jetty's own
# default, 600 s, would miss most of them).
jetty.sessionScavengeInterval.seconds?=60

[ini-template]
## Tether's settings: the same names, defaults and meaning as the Tomcat
## <Manager> attributes (see the Tether README). Uncomment to change one.

## where Redis is: redis://, rediss://, redis-sentinel://h:p,h:p#master or
## redis-cluster://h:p,h:p
jetty.session.redis.redisUri=redis://127.0.0.1:6379

## sticky: a node serving another node's session takes it over and re-suffixes
## the id (new cookie), so affinity holds again; shared: any node serves any
## request and the id never changes (balancers without affinity)
#jetty.session.redis.mode=sticky

## prefix of every key; empty means tether:<container>:<host><context path>: so
## two applications never share sessions
#jetty.session.redis.keyPrefix=

## ON_SET_ATTRIBUTE writes only setAttribute/removeAttribute; ON_GET_ATTRIBUTE
## also mutable attributes read and changed in place; ALWAYS every attribute
#jetty.session.redis.saveMode=ON_GET_ATTRIBUTE

## a Redis command taking longer counts as failed (Lettuce's own default is 60
## s)
#jetty.session.redis.commandTimeoutMillis=1000

## longest a (re)connect to Redis may take
#jetty.session.redis.connectTimeoutMillis=2000

## read-only requests send nothing; at most one asynchronous refresh per
## session per interval keeps its record alive
#jetty.session.redis.touchIntervalSeconds=60

## true: a request that changed its session is answered without waiting for
## Redis (writes stay ordered per session); faster, but the changes of requests
## answered in the last few milliseconds before a node dies are lost. Logouts
## and id changes always wait
#jetty.session.redis.asyncWrites=false

## true: every request that finds its session in this node's memory asks Redis
## for the session's version (one round trip) instead of trusting client-side
## caching; closes the window in which a node starved of CPU serves a copy one
## write behind another node (shared mode)
#jetty.session.redis.checkVersion=false

## sessions whose latest state is kept for replay while Redis is unreachable;
## beyond it, requests changing further sessions are answered 503
#jetty.session.redis.maxPendingSessions=10000

## most sessions one user name may have at once: a login beyond it invalidates
## that user's least recently used session; 0: no limit
#jetty.session.redis.maxSessionsPerUser=0

## larger serialized attributes stay in this node's memory only (logged)
#jetty.session.redis.maxAttributeBytes=1048576

## class patterns readable from Redis (a.b.Name, a.b.*, a.b.**, prefix*); with
## a narrower list java.lang/util/time/math stay allowed
#jetty.session.redis.allowClasses=*

## class patterns refused on top of the built-in list of known gadget classes
#jetty.session.redis.denyClasses=

## deepest object graph read from one attribute
#jetty.session.redis.maxDepth=100

## longest array read from one attribute
#jetty.session.redis.maxArrayLength=1000000

## most object references read from one attribute
#jetty.session.redis.maxReferences=1000000

## secrets of at least 16 characters, comma-separated: each record's attributes
## and principal carry an HMAC-SHA256 by the first, any of them verifies (key
## rotation); a record that fails is treated as missing. Empty: not signed
#jetty.session.redis.signingKeys=

## replicas that must acknowledge each session write (Redis WAIT); 0 does not
## wait
#jetty.session.redis.waitReplicas=0

## longest a write waits for those replicas; a shortfall is counted and logged
## once, the write stands
#jetty.session.redis.waitTimeoutMillis=500
## Jetty's own store settings.
#jetty.session.gracePeriod.seconds=3600
#jetty.session.savePeriod.seconds=0

## Each node needs its own workerName (no dots: balancers split the session
## id at the first dot); set it in start.d/sessions.ini as
##   jetty.sessionIdManager.workerName=node1
## or through the JETTY_WORKER_INSTANCE environment variable (workerName
## becomes node<value>).
