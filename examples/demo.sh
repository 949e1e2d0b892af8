#!/usr/bin/env bash
#
# Tether demo: two Tomcat nodes share their HTTP sessions through Redis. A user logs in on node1,
# fills a cart, node1 is killed with kill -9, and node2 carries on with the same login and cart.
#
#   examples/demo.sh              run the story, then leave the cluster up for you (Ctrl-C ends it)
#   examples/demo.sh --no-wait    run the story and stop everything (smoke test; also DEMO_NO_WAIT=1)
#   examples/demo.sh --skip-build reuse the jars/war already in the target/ directories
#
# Needs: JDK 17, Maven, redis-server, redis-cli, curl. Everything it creates lives under
# examples/demo-run/ (git-ignored); everything it starts is stopped when it ends.
#
set -euo pipefail

usage() { sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'; }

NO_WAIT=${DEMO_NO_WAIT:-0}
SKIP_BUILD=${DEMO_SKIP_BUILD:-0}
for arg in "$@"; do
  case $arg in
    --no-wait) NO_WAIT=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUN=$ROOT/examples/demo-run
CONTEXT=shop
USER_NAME=alice
USER_PASSWORD=alice

# ------------------------------------------------------------------------------------ output

if [[ -t 1 ]]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; D=$'\e[2m'; N=$'\e[0m'; else B=; G=; R=; D=; N=; fi
STEP=0
step() { STEP=$((STEP + 1)); echo; echo "${B}== $STEP. $*${N}"; }
say()  { echo "   $*"; }
ok()   { echo "   ${G}OK${N}  $*"; }
run_shown() { echo "   ${D}\$ $*${N}"; }
indent() { sed 's/^/      /'; }
fail() {
  echo >&2
  echo "${R}${B}FAILED${N}${R}: $*${N}" >&2
  for n in node1 node2; do
    [[ -f $RUN/$n/logs/console.log ]] && echo "   (log of $n: $RUN/$n/logs/console.log)" >&2
  done
  exit 1
}

# ------------------------------------------------------------------------------------ cleanup

REDIS_PID= NODE1_PID= NODE2_PID= CLEANED=
stop_pid() { # name pid
  local name=$1 pid=$2 i
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "   $name (pid $pid) did not stop within 15 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
}
cleanup() {
  local rc=$?
  [[ -z $CLEANED ]] || return 0
  CLEANED=1
  trap - INT TERM EXIT
  if [[ -n $NODE1_PID$NODE2_PID$REDIS_PID ]]; then
    echo
    echo "Stopping the demo cluster..."
    stop_pid node1 "$NODE1_PID"
    stop_pid node2 "$NODE2_PID"
    stop_pid redis "$REDIS_PID"
    echo "Stopped (logs stay in $RUN)."
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A previous run that was killed with kill -9 may have left its processes behind: they are ours
# (they belong to this demo's directory), so end them.
for f in "$RUN"/node1.pid "$RUN"/node2.pid "$RUN"/redis.pid; do
  [[ -f $f ]] || continue
  pid=$(cat "$f")
  # Tomcat names the directory on its command line; redis-server rewrites its own, but runs in it.
  if [[ -r /proc/$pid/cmdline ]] && { tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$RUN" \
      || [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$RUN"/* ]]; }; then
    echo "Stopping $(basename "$f" .pid) (pid $pid) left over from an earlier demo run"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
done

# ------------------------------------------------------------------------------------ helpers

for tool in java jar mvn redis-server redis-cli curl tar cksum; do
  command -v "$tool" >/dev/null || fail "'$tool' is not on the PATH (the demo needs JDK 17, Maven, redis-server, redis-cli and curl)"
done

# A port counts as taken when anything listens on it or any socket (also an outgoing connection's
# local end) uses it, as far as ss shows; without ss, when something answers on it.
if command -v ss >/dev/null; then
  port_in_use() { [[ -n $(ss -Htan "( sport = :$1 )" 2>/dev/null) ]] || (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
else
  port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
fi
TAKEN=" 6379 "
free_port() { # sets PORT; picks from 20000-31999, below the usual ephemeral ranges (Linux 32768+, macOS 49152+)
  local p i
  for ((i = 0; i < 500; i++)); do
    p=$((20000 + RANDOM % 12000))
    [[ $TAKEN == *" $p "* ]] && continue
    if ! port_in_use "$p"; then TAKEN+="$p "; PORT=$p; return 0; fi
  done
  fail "no free TCP port found"
}

rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

COOKIES=$RUN/cookies.txt
# curl with the user's cookie jar: what a browser would send and keep.
browser() { curl -sS --max-time 30 -b "$COOKIES" -c "$COOKIES" "$@"; }

# value of key=value line in the text answer
field() { sed -n "s/^$2=//p" <<<"$1" | head -n 1; }
SHOWN=
show() { SHOWN=$1; indent <<<"$1"; } # prints an answer
expect() { # answer key expected what
  local got
  got=$(field "$1" "$2")
  if [[ $got != "$3" ]]; then
    [[ $1 == "$SHOWN" ]] && fail "$4: expected $2=$3 but got $2=${got:-<nothing>} (the full answer is above)"
    fail "$4: expected $2=$3 but got $2=${got:-<nothing>}; the full answer:
$(indent <<<"$1")"
  fi
  ok "$2=$got"
}
jar_cookie() { awk '$6 == "JSESSIONID" { v = $7 } END { print v }' "$COOKIES"; }
set_cookie() { # headers file -> JSESSIONID value sent in Set-Cookie, if any
  tr -d '\r' <"$1" | sed -n 's/^[Ss]et-[Cc]ookie: *JSESSIONID=\([^;]*\).*/\1/p' | tail -n 1
}
status_of() { tr -d '\r' <"$1" | sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' | tail -n 1; }

record_key() { echo "tether:tomcat:localhost/$CONTEXT:{$1}"; }
show_record() { # base
  local key f v
  key=$(record_key "$1")
  run_shown "redis-cli -p $REDIS_PORT HGETALL '$key'   (values summarized)"
  [[ $(rcli EXISTS "$key") == 1 ]] || fail "Redis has no record $key"
  say "key  $key   (TTL $(rcli TTL "$key") s)"
  while IFS= read -r f; do
    case $f in
      a:*) say "  $(printf '%-14s' "$f") <$(rcli HSTRLEN "$key" "$f") bytes: the serialized attribute>" ;;
      created|lastAccessed|lastSaved)
        v=$(rcli HGET "$key" "$f")
        say "  $(printf '%-14s' "$f") $v  ($(date -d "@$((v / 1000))" '+%H:%M:%S' 2>/dev/null || echo ms))" ;;
      *) say "  $(printf '%-14s' "$f") $(rcli HGET "$key" "$f" | tr '\n' ',' | sed 's/,$//')" ;;
    esac
  done < <(rcli HKEYS "$key" | sort)
}
owner_epoch() { rcli HMGET "$(record_key "$1")" owner epoch | tr '\n' ' ' | sed 's/ $//'; }

# ------------------------------------------------------------------------------------ build

TOMCAT_VERSION=$(sed -n 's:.*<tomcat10.version>\(.*\)</tomcat10.version>.*:\1:p' pom.xml | head -n 1)
TOMCAT_VERSION=${TOMCAT_VERSION:-10.1.48}
WAR=examples/webapp/target/$CONTEXT.war

step "Build Tether for Tomcat and the example shop WAR"
if [[ $SKIP_BUILD == 1 ]]; then
  say "--skip-build: using what is already built"
else
  run_shown "mvn -q -DskipTests package -pl redis-store,examples/webapp,tomcat-valve"
  mkdir -p "$RUN"
  if ! mvn -q -B -DskipTests package -pl redis-store,examples/webapp,tomcat-valve >"$RUN/build.log" 2>&1; then
    { sed $'s/\e\\[[0-9;]*m//g' "$RUN/build.log" | grep -E '^\[ERROR\]' | head -n 25 | indent; } || true
    fail "the Maven build failed; its whole output is in $RUN/build.log"
  fi
fi
BUILT_JAR=$(ls tomcat-valve/target/tether-tomcat-*.jar 2>/dev/null | grep -v -e '-sources' -e '-tests' -e '/original-' | head -n 1 || true)
[[ -n $BUILT_JAR && -f $BUILT_JAR ]] || fail "tomcat-valve/target/tether-tomcat-*.jar is missing"
[[ -f $WAR ]] || fail "examples/webapp/target/$CONTEXT.war is missing"

# The nodes get copies taken now, checked to be whole: a build running meanwhile in the same tree
# (an IDE, a colleague's mvn) rewrites target/ in place.
snapshot() { # src dst class-it-must-contain
  local i before after
  for ((i = 0; i < 30; i++)); do
    before=$(cksum <"$1") || true
    cp "$1" "$2.tmp" && after=$(cksum <"$1") || true
    if [[ -n $before && $before == "$after" && $(cksum <"$2.tmp") == "$before" ]] \
        && jar tf "$2.tmp" 2>/dev/null | grep -qx "$3"; then
      mv "$2.tmp" "$2"
      return 0
    fi
    sleep 1
  done
  rm -f "$2.tmp"
  fail "$1 keeps changing or is not a complete archive (is another build running?)"
}
mkdir -p "$RUN"
TETHER_JAR=$RUN/$(basename "$BUILT_JAR")
snapshot "$BUILT_JAR" "$TETHER_JAR" dev/tether/tomcat/RedisSessionManager.class
snapshot "$WAR" "$RUN/$CONTEXT.war" WEB-INF/classes/dev/tether/example/CartServlet.class
WAR=$RUN/$CONTEXT.war
ok "$BUILT_JAR ($(du -k "$TETHER_JAR" | cut -f1) KB, Lettuce and Netty shaded inside)"
ok "examples/webapp/target/$CONTEXT.war"

CATALINA_HOME=$RUN/apache-tomcat-$TOMCAT_VERSION
if [[ ! -x $CATALINA_HOME/bin/catalina.sh ]]; then
  say "getting Apache Tomcat $TOMCAT_VERSION through Maven"
  run_shown "mvn -q -N dependency:copy -Dartifact=org.apache.tomcat:tomcat:$TOMCAT_VERSION:tar.gz -DoutputDirectory=examples/demo-run"
  if ! mvn -q -B -N dependency:copy "-Dartifact=org.apache.tomcat:tomcat:$TOMCAT_VERSION:tar.gz" "-DoutputDirectory=$RUN" \
      >"$RUN/dependency.log" 2>&1; then
    { sed $'s/\e\\[[0-9;]*m//g' "$RUN/dependency.log" | grep -E '^\[ERROR\]' | head -n 25 | indent; } || true
    fail "could not get org.apache.tomcat:tomcat:$TOMCAT_VERSION:tar.gz through Maven; see $RUN/dependency.log"
  fi
  tar -xzf "$RUN/tomcat-$TOMCAT_VERSION.tar.gz" -C "$RUN"
  [[ -x $CATALINA_HOME/bin/catalina.sh ]] || fail "unpacking Tomcat did not give $CATALINA_HOME"
fi
ok "Tomcat $TOMCAT_VERSION in $CATALINA_HOME"

# ------------------------------------------------------------------------------------ cluster

step "Start a private Redis and two Tomcat nodes"
rm -rf "$RUN/node1" "$RUN/node2" "$RUN/redis" "$COOKIES"
mkdir -p "$RUN/redis"

# Free ports are picked at random and checked, but another program may take one before our
# server binds it; then that server is started again on another port.

# In its own session (setsid) so that Ctrl-C reaches only this script, which then stops Redis
# after the Tomcats have written their sessions. (Background JVMs already ignore SIGINT.)
SETSID=$(command -v setsid || true)
for ((attempt = 1; ; attempt++)); do
  free_port; REDIS_PORT=$PORT
  : >"$RUN/redis/redis.log"
  $SETSID redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --dir "$RUN/redis" --logfile "$RUN/redis/redis.log" &
  REDIS_PID=$!
  echo "$REDIS_PID" >"$RUN/redis.pid"
  for ((i = 0; i < 100; i++)); do
    [[ $(rcli PING 2>/dev/null || true) == PONG ]] && break
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ $(rcli PING 2>/dev/null || true) == PONG ]] && kill -0 "$REDIS_PID" 2>/dev/null && break
  stop_pid redis "$REDIS_PID"; REDIS_PID=
  if ((attempt < 5)) && grep -qi 'address already in use' "$RUN/redis/redis.log"; then
    say "port $REDIS_PORT was taken meanwhile; trying another one"
    continue
  fi
  fail "redis-server did not start on port $REDIS_PORT; its log:
$(tail -n 20 "$RUN/redis/redis.log" | indent)"
done
ok "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID, no persistence)"

make_node() { # name: a CATALINA_BASE of its own
  local name=$1 base=$RUN/$1
  mkdir -p "$base"/{conf/Catalina/localhost,lib,logs,temp,webapps,work}
  cp -R "$CATALINA_HOME/conf/." "$base/conf/"
  cp "$TETHER_JAR" "$base/lib/"
  cp "$WAR" "$base/webapps/$CONTEXT.war"
  cat >"$base/conf/tomcat-users.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">
  <role rolename="shopper"/>
  <user username="alice" password="alice" roles="shopper"/>
  <user username="bob" password="bob" roles="shopper"/>
</tomcat-users>
EOF
  cat >"$base/conf/Catalina/localhost/$CONTEXT.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Context>
  <Manager className="dev.tether.tomcat.RedisSessionManager" redisUri="redis://127.0.0.1:$REDIS_PORT"/>
</Context>
EOF
}

write_server_xml() { # name port
  local name=$1 port=$2
  cat >"$RUN/$name/conf/server.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by examples/demo.sh for $name. -->
<Server port="-1" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.startup.VersionLoggerListener"/>
  <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener"/>
  <Listener className="org.apache.catalina.mbeans.GlobalResourcesLifecycleListener"/>
  <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener"/>
  <GlobalNamingResources>
    <Resource name="UserDatabase" auth="Container" type="org.apache.catalina.UserDatabase"
              factory="org.apache.catalina.users.MemoryUserDatabaseFactory" pathname="conf/tomcat-users.xml"/>
  </GlobalNamingResources>
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="$port" protocol="HTTP/1.1" connectionTimeout="20000"/>
    <!-- jvmRoute: session ids end in .$name, which is what a sticky balancer routes on. -->
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="$name">
      <Realm className="org.apache.catalina.realm.LockOutRealm">
        <Realm className="org.apache.catalina.realm.UserDatabaseRealm" resourceName="UserDatabase"/>
      </Realm>
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
EOF
}

start_node() { # name port -> STARTED_PID, STARTED_AT (first log line of this start)
  local name=$1 port=$2 log=$RUN/$1/logs/console.log
  write_server_xml "$name" "$port"
  touch "$log"
  STARTED_AT=$(($(wc -l <"$log") + 1))
  (
    export CATALINA_HOME CATALINA_BASE="$RUN/$name"
    # EXIT_ON_INIT_FAILURE: a node that cannot bind its port exits instead of running without it.
    export CATALINA_OPTS="-DjvmRoute=$name -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.apache.catalina.startup.EXIT_ON_INIT_FAILURE=true"
    unset CATALINA_PID
    exec "$CATALINA_HOME/bin/catalina.sh" run
  ) >>"$log" 2>&1 &
  STARTED_PID=$!
  echo "$STARTED_PID" >"$RUN/$name.pid"
}

await_node() { # name port pid since -> 0 once it serves the shop, 2 if its port was taken
  local name=$1 port=$2 pid=$3 since=$4 i code log=$RUN/$1/logs/console.log
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      rm -f "$RUN/$name.pid"
      tail -n "+$since" "$log" | grep -q 'BindException' && return 2
      fail "$name exited while starting; the last lines of its log:
$(tail -n "+$since" "$log" | tail -n 30 | indent)"
    fi
    if tail -n "+$since" "$log" | grep -qE 'Error deploying|startup failed due to previous errors'; then
      fail "$name could not deploy the shop; from its log:
$(tail -n "+$since" "$log" | grep -E 'SEVERE|Caused by|Exception' | head -n 20 | indent)"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/$CONTEXT/login.html" || true)
    [[ $code == 200 ]] && return 0
    sleep 0.2
  done
  fail "$name did not serve /$CONTEXT/ within 120 s; see $RUN/$name/logs/"
}

settle() { # name: waits for node<n> (NODE<n>_PID, PORT<n>, AT<n>), moving it to another port if needed
  local name=$1 n=${1#node} attempt rc
  local pidv=NODE${n}_PID portv=PORT$n atv=AT$n
  for ((attempt = 1; ; attempt++)); do
    rc=0; await_node "$name" "${!portv}" "${!pidv}" "${!atv}" || rc=$?
    ((rc == 0)) && return 0
    printf -v "$pidv" %s ""
    ((attempt < 5)) || fail "$name could not bind a free port"
    say "$name: port ${!portv} was taken meanwhile; trying another one"
    free_port; printf -v "$portv" %s "$PORT"
    start_node "$name" "$PORT"
    printf -v "$pidv" %s "$STARTED_PID"; printf -v "$atv" %s "$STARTED_AT"
  done
}

make_node node1
make_node node2
free_port; PORT1=$PORT; start_node node1 "$PORT1"; NODE1_PID=$STARTED_PID AT1=$STARTED_AT
free_port; PORT2=$PORT; start_node node2 "$PORT2"; NODE2_PID=$STARTED_PID AT2=$STARTED_AT
settle node1
ok "node1: Tomcat $TOMCAT_VERSION on http://127.0.0.1:$PORT1/$CONTEXT/ (pid $NODE1_PID, jvmRoute node1)"
settle node2
ok "node2: Tomcat $TOMCAT_VERSION on http://127.0.0.1:$PORT2/$CONTEXT/ (pid $NODE2_PID, jvmRoute node2)"
say "both: conf/Catalina/localhost/$CONTEXT.xml ->"
say "  <Manager className=\"dev.tether.tomcat.RedisSessionManager\" redisUri=\"redis://127.0.0.1:$REDIS_PORT\"/>"

N1=http://127.0.0.1:$PORT1/$CONTEXT
N2=http://127.0.0.1:$PORT2/$CONTEXT
H=$RUN/headers.txt

# ------------------------------------------------------------------------------------ the story

step "$USER_NAME logs in on node1 (FORM login)"
run_shown "curl '$N1/shop/cart?format=text'"
page=$(browser -L -D "$H" "$N1/shop/cart?format=text")
[[ $page == *j_security_check* ]] || fail "node1 did not answer a protected page with the login form; it answered:
$(indent <<<"$page")"
ok "node1 answers with the login form (HTTP $(status_of "$H"))"
run_shown "curl -L -d j_username=$USER_NAME -d j_password=... '$N1/shop/j_security_check'"
answer=$(browser -L -D "$H" --data-urlencode "j_username=$USER_NAME" --data-urlencode "j_password=$USER_PASSWORD" \
  "$N1/shop/j_security_check")
expect "$answer" user "$USER_NAME" "after logging in on node1"
expect "$answer" node node1 "after logging in on node1"

step "$USER_NAME fills the cart on node1"
say "the servlet does cart = session.getAttribute(\"cart\"); cart.add(item) and never calls setAttribute again"
for item in apple pear plum; do
  run_shown "curl -d item=$item '$N1/shop/add?format=text'"
  answer=$(browser -d "item=$item" "$N1/shop/add?format=text")
  [[ $(field "$answer" added) == "$item" ]] || fail "adding $item on node1 failed; node1 answered:
$(show "$answer")"
done
run_shown "curl '$N1/shop/cart?format=text'"
answer=$(browser "$N1/shop/cart?format=text")
show "$answer"
expect "$answer" node node1 "cart on node1"
expect "$answer" user "$USER_NAME" "cart on node1"
expect "$answer" items apple,pear,plum "cart on node1"

OLD_COOKIE=$(jar_cookie)
BASE=${OLD_COOKIE%%.*}
[[ $OLD_COOKIE == "$BASE.node1" ]] || fail "the session cookie should end in .node1 but is '$OLD_COOKIE'"
[[ $(field "$answer" session) == "$OLD_COOKIE" ]] || fail "the page shows session $(field "$answer" session) but the cookie is $OLD_COOKIE"
say "the browser's cookie:"
say "  JSESSIONID=$OLD_COOKIE"
ok "cookie ends in .node1: a sticky balancer keeps $USER_NAME on node1"

step "The session in Redis"
show_record "$BASE"
read -r owner epoch <<<"$(owner_epoch "$BASE")"
[[ $owner == node1 ]] || fail "Redis names '$owner' as the owner, not node1"
[[ $(rcli HEXISTS "$(record_key "$BASE")" a:cart) == 1 ]] || fail "Redis has no a:cart field"
[[ $(rcli HGET "$(record_key "$BASE")" n:principal) == "$USER_NAME" ]] || fail "Redis does not hold the login (n:principal)"
EPOCH1=$epoch
ok "owner=node1 epoch=$EPOCH1; the cart and the login are in Redis"

step "node1 dies: kill -9 $NODE1_PID"
run_shown "kill -9 $NODE1_PID"
kill -9 "$NODE1_PID"
wait "$NODE1_PID" 2>/dev/null || true
NODE1_PID=
rm -f "$RUN/node1.pid"
if curl -s -o /dev/null --max-time 2 "$N1/login.html"; then fail "node1 still answers after kill -9"; fi
ok "node1 is gone (no shutdown hook ran, nothing was flushed)"

step "The balancer sends $USER_NAME to node2, with the same cookie"
say "(simulated: curl sends the cookie jar's JSESSIONID=$OLD_COOKIE to node2's port)"
run_shown "curl -b 'JSESSIONID=$OLD_COOKIE' '$N2/shop/cart?format=text'"
answer=$(browser -D "$H" "$N2/shop/cart?format=text")
show "$answer"
[[ $(status_of "$H") == 200 ]] || fail "node2 answered HTTP $(status_of "$H")"
expect "$answer" node node2 "after failover to node2"
expect "$answer" user "$USER_NAME" "after failover to node2 (still logged in?)"
expect "$answer" items apple,pear,plum "after failover to node2 (cart intact?)"
NEW_COOKIE=$(set_cookie "$H")
[[ -n $NEW_COOKIE ]] || fail "node2 sent no new Set-Cookie: JSESSIONID; its headers were:
$(tr -d '\r' <"$H" | indent)"
say "node2's answer carries: Set-Cookie: JSESSIONID=$NEW_COOKIE"
[[ $NEW_COOKIE == "$BASE.node2" ]] || fail "node2's new cookie should be $BASE.node2 (same base, new route) but is $NEW_COOKIE"
ok "same session, re-suffixed: .node1 -> .node2 (the balancer now sticks to node2)"
[[ $(field "$answer" session) == "$NEW_COOKIE" ]] || fail "node2's page shows session $(field "$answer" session), not $NEW_COOKIE"
[[ $(jar_cookie) == "$NEW_COOKIE" ]] || fail "the browser's cookie jar holds $(jar_cookie), not $NEW_COOKIE"
show_record "$BASE"
read -r owner epoch <<<"$(owner_epoch "$BASE")"
[[ $owner == node2 ]] || fail "after failover Redis names '$owner' as the owner, not node2"
[[ $epoch == $((EPOCH1 + 1)) ]] || fail "after failover the epoch is $epoch, expected $((EPOCH1 + 1))"
EPOCH2=$epoch
ok "owner=node2 epoch=$EPOCH2 (was node1/$EPOCH1): node1 could no longer overwrite it"

step "$USER_NAME keeps shopping on node2"
run_shown "curl -d item=fig '$N2/shop/add?format=text'"
answer=$(browser -d item=fig "$N2/shop/add?format=text")
expect "$answer" node node2 "adding on node2"
expect "$answer" items apple,pear,plum,fig "adding on node2"

step "node1 comes back"
echo "----- restarted by demo.sh -----" >>"$RUN/node1/logs/console.log"
start_node node1 "$PORT1"; NODE1_PID=$STARTED_PID
await_node node1 "$PORT1" "$NODE1_PID" "$STARTED_AT" || fail "node1 cannot get its port $PORT1 back: another program took it"
ok "node1 is up again (pid $NODE1_PID), with an empty memory"

step "A stray request with the old .node1 cookie reaches node1"
say "(a tab or client that still had JSESSIONID=$OLD_COOKIE, or a balancer that switched back)"
run_shown "curl -b 'JSESSIONID=$OLD_COOKIE' '$N1/shop/cart?format=text'"
answer=$(curl -sS --max-time 30 -D "$H" -b "JSESSIONID=$OLD_COOKIE" "$N1/shop/cart?format=text")
show "$answer"
expect "$answer" node node1 "stray request at node1"
expect "$answer" user "$USER_NAME" "stray request at node1 (still logged in?)"
expect "$answer" items apple,pear,plum,fig "stray request at node1 (cart complete?)"
say "Redis now: owner/epoch = $(owner_epoch "$BASE")"
ok "node1 serves the complete, current cart: nothing it had before dying comes back to overwrite it"

# node1 has just taken the session over from node2 (owner node1 in Redis). alice's browser
# holds the .node2 cookie, so the balancer sends her next request to node2, which still has its
# own copy in memory: that copy must not be served or written as if nothing had happened.
step "$USER_NAME's next request goes to node2 again (cookie .node2)"
run_shown "curl -d item=kiwi '$N2/shop/add?format=text'   # cookie JSESSIONID=$NEW_COOKIE"
answer=$(browser -d item=kiwi "$N2/shop/add?format=text")
expect "$answer" node node2 "adding on node2 after the stray request"
expect "$answer" items apple,pear,plum,fig,kiwi "adding on node2 after the stray request"
run_shown "curl '$N2/shop/cart?format=text'"
answer=$(browser "$N2/shop/cart?format=text")
show "$answer"
expect "$answer" user "$USER_NAME" "node2 after the stray request"
expect "$answer" items apple,pear,plum,fig,kiwi "node2 after the stray request (is the kiwi still there?)"
show_record "$BASE"

echo
echo "${G}${B}Nothing lost:${N} $USER_NAME stayed logged in and kept every item (apple, pear, plum, fig, kiwi)"
echo "through kill -9 of node1, the failover to node2, node1's return and a stray request to it."

# ------------------------------------------------------------------------------------ your turn

if [[ $NO_WAIT == 1 ]]; then
  exit 0
fi
echo
echo "${B}The cluster is yours.${N} Both nodes run on 127.0.0.1, and browsers do not keep cookies apart by"
echo "port: switching the port in the address bar is exactly what a balancer does on failover."
echo
echo "   node1  http://127.0.0.1:$PORT1/$CONTEXT/    (the cart: /$CONTEXT/shop/, pid $NODE1_PID)"
echo "   node2  http://127.0.0.1:$PORT2/$CONTEXT/    (the cart: /$CONTEXT/shop/, pid $NODE2_PID)"
echo "   users  alice/alice, bob/bob"
echo "   redis  redis-cli -p $REDIS_PORT --scan --pattern 'tether:*'"
echo "   kill   kill -9 <pid> to kill a node"
echo
echo "Press Ctrl-C to stop everything."
while :; do sleep 1; done
