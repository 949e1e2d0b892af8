#!/usr/bin/env bash
#
# Tether demo: two nodes behind a sticky balancer share their HTTP sessions through Redis. A user
# logs in through the balancer and fills a cart; the node serving her is killed with kill -9; the
# balancer sends her next request to the other node, which carries on with the same login and cart.
#
#   examples/demo.sh                  run the story, then leave the cluster up for you (Ctrl-C ends it)
#   examples/demo.sh --no-wait        run the story and stop everything (smoke test; also DEMO_NO_WAIT=1)
#   examples/demo.sh --jetty          two Jetty 12 nodes instead of two Tomcats (also DEMO_CONTAINER=jetty)
#   examples/demo.sh --tomcat9        two Tomcat 9 nodes (javax.servlet) with the Tomcat 9 jar and the javax
#                                     shop WAR, both generated from the same sources (also DEMO_CONTAINER=tomcat9)
#   examples/demo.sh --balancer=NAME  haproxy, httpd, nginx or java (also DEMO_BALANCER=NAME); the default
#                                     is the first of haproxy, httpd, nginx that is installed, else java
#   examples/demo.sh --skip-build     reuse the jars/war already in the target/ directories
#
# Needs: JDK 17, Maven, redis-server, redis-cli, curl. The Java balancer (examples/demo-balancer) needs
# nothing more. Everything it creates lives under examples/demo-run/ (git-ignored); everything it
# starts is stopped when it ends.
#
set -euo pipefail

usage() { sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; }

NO_WAIT=${DEMO_NO_WAIT:-0}
SKIP_BUILD=${DEMO_SKIP_BUILD:-0}
CONTAINER=${DEMO_CONTAINER:-tomcat}
BALANCER=${DEMO_BALANCER:-auto}
for arg in "$@"; do
  case $arg in
    --no-wait) NO_WAIT=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    --jetty) CONTAINER=jetty ;;
    --tomcat) CONTAINER=tomcat ;;
    --tomcat9) CONTAINER=tomcat9 ;;
    --balancer=*) BALANCER=${arg#--balancer=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done
case $CONTAINER in tomcat|tomcat9|jetty) ;; *) echo "DEMO_CONTAINER must be tomcat, tomcat9 or jetty, not '$CONTAINER'" >&2; exit 2 ;; esac
# How the nodes are made and started: Tomcat 9 exactly like Tomcat 10.1, only the jar and the WAR differ.
NODE_KIND=${CONTAINER%9}
case $BALANCER in auto|haproxy|httpd|nginx|java) ;; *) echo "the balancer must be haproxy, httpd, nginx or java, not '$BALANCER'" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUN=$ROOT/examples/demo-run
CONTEXT=shop
USER_NAME=alice
USER_PASSWORD=alice

# ------------------------------------------------------------------------------------ output

if [[ -t 1 ]]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; D=$'\e[2m'; C=$'\e[36m'; N=$'\e[0m'; else B=; G=; R=; D=; C=; N=; fi
STEP=0
setup() { echo; echo "${B}== Setup: $*${N}"; }
step() { STEP=$((STEP + 1)); echo; echo "${B}== $STEP. $*${N}"; }
say()  { echo "   $*"; }
ok()   { echo "   ${G}OK${N}  $*"; }
run_shown() { echo "   ${D}\$ $*${N}"; }
indent() { sed 's/^/      /'; }
label() { printf '   %s%-9s%s %s\n' "$C" "$1" "$N" "$2"; } # label text
FAILED_SHOWN=
fail() {
  FAILED_SHOWN=1
  echo >&2
  echo "${R}${B}FAILED${N}${R}: $*${N}" >&2
  for n in node1 node2; do
    [[ -f $RUN/$n/logs/console.log ]] && echo "   (log of $n: $RUN/$n/logs/console.log)" >&2
  done
  [[ -f $RUN/balancer/balancer.log ]] && echo "   (log of the balancer: $RUN/balancer/balancer.log)" >&2
  exit 1
}

# ------------------------------------------------------------------------------------ cleanup

REDIS_PID= NODE1_PID= NODE2_PID= LB_PID= CLEANED=
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
  trap - INT TERM EXIT ERR
  if ((rc != 0 && rc != 130 && rc != 143)) && [[ -z $FAILED_SHOWN ]]; then
    # set -e stopped the script at a command that failed unexpectedly: say so, loudly.
    echo >&2
    echo "${R}${B}FAILED${N}${R}: the demo stopped unexpectedly (exit $rc)${ERR_AT:+ at $ERR_AT}${N}" >&2
  fi
  if [[ -n $LB_PID$NODE1_PID$NODE2_PID$REDIS_PID ]]; then
    echo
    echo "Stopping the demo cluster..."
    stop_pid balancer "$LB_PID"
    stop_pid node1 "$NODE1_PID"
    stop_pid node2 "$NODE2_PID"
    stop_pid redis "$REDIS_PID"
    echo "Stopped (logs stay in $RUN)."
  fi
  exit "$rc"
}
ERR_AT=
trap 'ERR_AT="line $LINENO: $BASH_COMMAND"' ERR
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A previous run that was killed with kill -9 may have left its processes behind: they are ours
# (they belong to this demo's directory), so end them.
for f in "$RUN"/balancer.pid "$RUN"/node1.pid "$RUN"/node2.pid "$RUN"/redis.pid; do
  [[ -f $f ]] || continue
  pid=$(cat "$f")
  # The nodes and balancers name the directory on their command lines; redis-server rewrites its
  # own, but runs in it.
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
header_of() { tr -d '\r' <"$1" | grep -i "^$2:" | tail -n 1 | sed 's/^[^:]*: *//' || true; } # headers-file name

# Tomcat keys records by host and context, Jetty by virtual host (none: 0.0.0.0) and context.
if [[ $CONTAINER == jetty ]]; then KEY_PREFIX="tether:jetty:0.0.0.0/$CONTEXT:"; else KEY_PREFIX="tether:tomcat:localhost/$CONTEXT:"; fi
record_key() { echo "$KEY_PREFIX{$1}"; }
show_record() { # base [full]: the session's Redis record; full lists every field
  local key f v line=
  key=$(record_key "$1")
  if [[ $(rcli EXISTS "$key") != 1 ]]; then
    fail "Redis has no record $key; the demo Redis holds:
$(rcli --scan --pattern 'tether:*' | head -n 20 | indent)"
  fi
  label redis "$key  owner=$(rcli HGET "$key" owner) ver=$(rcli HGET "$key" ver) TTL=$(rcli TTL "$key")s"
  if [[ ${2:-} == full ]]; then
    run_shown "redis-cli -p $REDIS_PORT HGETALL '$key'   (values summarized)"
    while IFS= read -r f; do
      case $f in
        a:*) say "  $(printf '%-44s' "$f") <$(rcli HSTRLEN "$key" "$f") bytes: the serialized attribute>" ;;
        created|lastAccessed|lastSaved)
          v=$(rcli HGET "$key" "$f")
          say "  $(printf '%-44s' "$f") $v  ($(date -d "@$((v / 1000))" '+%H:%M:%S' 2>/dev/null || echo ms))" ;;
        *) say "  $(printf '%-44s' "$f") $(rcli HGET "$key" "$f" | tr '\n' ',' | sed 's/,$//')" ;;
      esac
    done < <(rcli HKEYS "$key" | sort)
  else
    while IFS= read -r f; do line+="$f($(rcli HSTRLEN "$key" "$f")) "; done < <(rcli HKEYS "$key" | grep '^[an]:' | sort)
    label "" "fields (bytes): $line"
  fi
}
# The node that serves the session, and the record's version (every write that changes data raises it).
owner_version() { rcli HMGET "$(record_key "$1")" owner ver | tr '\n' ' ' | sed 's/ $//'; }
# How the user's login is kept: Tomcat's Manager stores the principal as a note, Jetty's FORM
# authenticator as session attributes.
login_field() { if [[ $CONTAINER == jetty ]]; then echo "a:org.eclipse.jetty.security.sessionAuthenticated"; else echo "n:principal"; fi; }
# What the page shows as session=: Tomcat's getId() is the whole id, Jetty's the base without route.
page_session() { if [[ $CONTAINER == jetty ]]; then echo "${1%%.*}"; else echo "$1"; fi; }

# ------------------------------------------------------------------------------------ build

if [[ $CONTAINER == tomcat9 ]]; then
  TOMCAT_VERSION=$(sed -n 's:.*<tomcat9.version>\(.*\)</tomcat9.version>.*:\1:p' pom.xml | head -n 1)
  TOMCAT_VERSION=${TOMCAT_VERSION:-9.0.117}
else
  TOMCAT_VERSION=$(sed -n 's:.*<tomcat10.version>\(.*\)</tomcat10.version>.*:\1:p' pom.xml | head -n 1)
  TOMCAT_VERSION=${TOMCAT_VERSION:-10.1.48}
fi
JETTY_VERSION=$(sed -n 's:.*<jetty120.version>\(.*\)</jetty120.version>.*:\1:p' pom.xml | head -n 1)
JETTY_VERSION=${JETTY_VERSION:-12.0.31}
if [[ $CONTAINER == tomcat9 ]]; then WAR_MODULE=examples/webapp-javax; else WAR_MODULE=examples/webapp; fi
WAR=$WAR_MODULE/target/$CONTEXT.war
BALANCERS=examples/balancers

# Which balancer: the first of HAProxy (2.2+), httpd, nginx that is installed and whose template
# is in examples/balancers/, else the Java one. A forced one that cannot run is an error.
# (The daemons often live in /usr/sbin, which is not on every user's PATH.)
haproxy_bin() { command -v haproxy 2>/dev/null || ls /usr/sbin/haproxy /usr/local/sbin/haproxy 2>/dev/null | head -n 1; }
haproxy_ok() {
  [[ -n $(haproxy_bin) ]] || { WHY="haproxy is not installed"; return 1; }
  [[ -f $BALANCERS/haproxy/haproxy.cfg ]] || { WHY="$BALANCERS/haproxy/haproxy.cfg is missing"; return 1; }
  local v maj min; v=$("$(haproxy_bin)" -v 2>/dev/null | sed -n 's/^HA-*Proxy version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | head -n 1)
  read -r maj min <<<"${v:-0 0}"
  ((maj > 2 || (maj == 2 && min >= 2))) || { WHY="haproxy is older than 2.2 ($("$(haproxy_bin)" -v 2>/dev/null | head -n 1))"; return 1; }
}
httpd_bin() { command -v apache2 2>/dev/null || command -v httpd 2>/dev/null || ls /usr/sbin/apache2 /usr/sbin/httpd /usr/local/sbin/httpd 2>/dev/null | head -n 1; }
httpd_modules() { local d; for d in /usr/lib/apache2/modules /usr/lib64/httpd/modules /usr/lib/httpd/modules /usr/local/apache2/modules /opt/homebrew/lib/httpd/modules /usr/local/lib/httpd/modules; do [[ -f $d/mod_proxy_balancer.so ]] && { echo "$d"; return 0; }; done; return 1; }
httpd_ok() {
  [[ -n $(httpd_bin) ]] || { WHY="httpd (apache2) is not installed"; return 1; }
  [[ -f $BALANCERS/httpd/httpd.conf ]] || { WHY="$BALANCERS/httpd/httpd.conf is missing"; return 1; }
  httpd_modules >/dev/null || { WHY="httpd's mod_proxy_balancer.so was not found"; return 1; }
}
nginx_bin() { command -v nginx 2>/dev/null || ls /usr/sbin/nginx /usr/local/sbin/nginx 2>/dev/null | head -n 1; }
nginx_ok() {
  [[ -n $(nginx_bin) ]] || { WHY="nginx is not installed"; return 1; }
  [[ -f $BALANCERS/nginx/nginx.conf ]] || { WHY="$BALANCERS/nginx/nginx.conf is missing"; return 1; }
}
WHY= BALANCER_NOTE=
if [[ $BALANCER == auto ]]; then
  BALANCER=java
  skipped=()
  for b in haproxy httpd nginx; do
    if "${b}_ok"; then BALANCER=$b; break; fi
    skipped+=("$WHY")
  done
  if [[ $BALANCER == java && ${#skipped[@]} -gt 0 ]]; then
    BALANCER_NOTE="none of HAProxy, httpd, nginx can be used here: $(IFS=';'; echo "${skipped[*]}" | sed 's/;/; /g')"
  fi
elif [[ $BALANCER != java ]]; then
  "${BALANCER}_ok" || fail "--balancer=$BALANCER cannot be used: $WHY"
fi

if [[ $CONTAINER == jetty ]]; then
  MODULES=examples/webapp,jetty-module
  CONTAINER_NAME="Jetty $JETTY_VERSION"
elif [[ $CONTAINER == tomcat9 ]]; then
  MODULES=examples/webapp-javax,tomcat9-valve
  CONTAINER_NAME="Tomcat $TOMCAT_VERSION (javax.servlet)"
else
  MODULES=examples/webapp,tomcat-valve
  CONTAINER_NAME="Tomcat $TOMCAT_VERSION"
fi
[[ $BALANCER == java ]] && MODULES+=,examples/demo-balancer

if [[ $BALANCER == java ]]; then
  setup "Build Tether for $CONTAINER_NAME, the example shop WAR and the Java balancer"
else
  setup "Build Tether for $CONTAINER_NAME and the example shop WAR"
fi
if [[ $SKIP_BUILD == 1 ]]; then
  say "--skip-build: using what is already built"
else
  run_shown "mvn -q -DskipTests package -pl $MODULES -am"
  mkdir -p "$RUN"
  if ! mvn -q -B -DskipTests package -pl "$MODULES" -am >"$RUN/build.log" 2>&1; then
    { sed $'s/\e\\[[0-9;]*m//g' "$RUN/build.log" | grep -E '^\[ERROR\]' | head -n 25 | indent; } || true
    fail "the Maven build failed; its whole output is in $RUN/build.log"
  fi
fi
[[ -f $WAR ]] || fail "$WAR is missing"
if [[ $CONTAINER == jetty ]]; then
  BUILT=$(ls jetty-module/target/tether-jetty-module-*.tar.gz 2>/dev/null | head -n 1 || true)
  [[ -n $BUILT && -f $BUILT ]] || fail "jetty-module/target/tether-jetty-module-*.tar.gz is missing"
elif [[ $CONTAINER == tomcat9 ]]; then
  BUILT=$(ls tomcat9-valve/target/tether-tomcat9-*.jar 2>/dev/null | grep -v -e '-sources' -e '-tests' -e '/original-' | head -n 1 || true)
  [[ -n $BUILT && -f $BUILT ]] || fail "tomcat9-valve/target/tether-tomcat9-*.jar is missing"
else
  BUILT=$(ls tomcat-valve/target/tether-tomcat-*.jar 2>/dev/null | grep -v -e '-sources' -e '-tests' -e '/original-' | head -n 1 || true)
  [[ -n $BUILT && -f $BUILT ]] || fail "tomcat-valve/target/tether-tomcat-*.jar is missing"
fi
if [[ $BALANCER == java ]]; then
  [[ -f examples/demo-balancer/target/tether-demo-balancer.jar ]] || fail "examples/demo-balancer/target/tether-demo-balancer.jar is missing"
fi

# The nodes get copies taken now, checked to be whole: a build running meanwhile in the same tree
# (an IDE, a colleague's mvn) rewrites target/ in place.
snapshot() { # src dst file-it-must-contain
  local i before after list
  for ((i = 0; i < 30; i++)); do
    before=$(cksum <"$1") || true
    cp "$1" "$2.tmp" && after=$(cksum <"$1") || true
    if [[ $1 == *.tar.gz ]]; then list="tar tzf"; else list="jar tf"; fi
    if [[ -n $before && $before == "$after" && $(cksum <"$2.tmp") == "$before" ]] \
        && $list "$2.tmp" 2>/dev/null | grep -qx "$3"; then
      mv "$2.tmp" "$2"
      return 0
    fi
    sleep 1
  done
  rm -f "$2.tmp"
  fail "$1 keeps changing or is not a complete archive (is another build running?)"
}
mkdir -p "$RUN"
TETHER_ARCHIVE=$RUN/$(basename "$BUILT")
if [[ $CONTAINER == jetty ]]; then
  snapshot "$BUILT" "$TETHER_ARCHIVE" modules/session-store-redis.mod
  ok "$BUILT (unpacked into each \$JETTY_BASE: lib/tether/, modules/session-store-redis.mod, etc/sessions/redis/)"
else
  snapshot "$BUILT" "$TETHER_ARCHIVE" dev/tether/tomcat/RedisSessionManager.class
  ok "$BUILT ($(du -k "$TETHER_ARCHIVE" | cut -f1) KB, Lettuce and Netty shaded inside)"
  if [[ $CONTAINER == tomcat9 ]]; then
    say "generated at build time from tomcat-valve's sources (jakarta.servlet -> javax.servlet), compiled against Tomcat $TOMCAT_VERSION"
  fi
fi
snapshot "$WAR" "$RUN/$CONTEXT.war" WEB-INF/classes/dev/tether/example/CartServlet.class
ok "$WAR"
[[ $CONTAINER != tomcat9 ]] || say "the same shop as examples/webapp, generated for javax.servlet (Servlet 4.0 web.xml)"
WAR=$RUN/$CONTEXT.war
if [[ $BALANCER == java ]]; then
  snapshot examples/demo-balancer/target/tether-demo-balancer.jar "$RUN/tether-demo-balancer.jar" dev/tether/example/balancer/Main.class
  ok "examples/demo-balancer/target/tether-demo-balancer.jar (Jetty's BalancerServlet with failover, one jar)"
fi

fetch_dist() { # groupId:artifactId:version:tar.gz what
  run_shown "mvn -q -N dependency:copy -Dartifact=$1 -DoutputDirectory=examples/demo-run"
  if ! mvn -q -B -N dependency:copy "-Dartifact=$1" "-DoutputDirectory=$RUN" >"$RUN/dependency.log" 2>&1; then
    { sed $'s/\e\\[[0-9;]*m//g' "$RUN/dependency.log" | grep -E '^\[ERROR\]' | head -n 25 | indent; } || true
    fail "could not get $1 through Maven; see $RUN/dependency.log"
  fi
}
if [[ $CONTAINER == jetty ]]; then
  JETTY_HOME=$RUN/jetty-home-$JETTY_VERSION
  if [[ ! -f $JETTY_HOME/start.jar ]]; then
    say "getting Jetty $JETTY_VERSION (jetty-home) through Maven"
    fetch_dist "org.eclipse.jetty:jetty-home:$JETTY_VERSION:tar.gz"
    tar -xzf "$RUN/jetty-home-$JETTY_VERSION.tar.gz" -C "$RUN"
    [[ -f $JETTY_HOME/start.jar ]] || fail "unpacking jetty-home did not give $JETTY_HOME"
  fi
  ok "Jetty $JETTY_VERSION in $JETTY_HOME"
else
  CATALINA_HOME=$RUN/apache-tomcat-$TOMCAT_VERSION
  if [[ ! -x $CATALINA_HOME/bin/catalina.sh ]]; then
    say "getting Apache Tomcat $TOMCAT_VERSION through Maven"
    fetch_dist "org.apache.tomcat:tomcat:$TOMCAT_VERSION:tar.gz"
    tar -xzf "$RUN/tomcat-$TOMCAT_VERSION.tar.gz" -C "$RUN"
    [[ -x $CATALINA_HOME/bin/catalina.sh ]] || fail "unpacking Tomcat did not give $CATALINA_HOME"
  fi
  ok "Tomcat $TOMCAT_VERSION in $CATALINA_HOME"
fi

# ------------------------------------------------------------------------------------ Redis

setup "Start a private Redis and two $CONTAINER_NAME nodes"
rm -rf "$RUN/node1" "$RUN/node2" "$RUN/redis" "$RUN/balancer" "$COOKIES"
mkdir -p "$RUN/redis"

# Free ports are picked at random and checked, but another program may take one before our
# server binds it; then that server is started again on another port.

# In its own session (setsid) so that Ctrl-C reaches only this script, which then stops Redis
# after the nodes have written their sessions. (Background JVMs already ignore SIGINT.)
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

# ------------------------------------------------------------------------------------ Tomcat nodes

make_tomcat_node() { # name: a CATALINA_BASE of its own
  local name=$1 base=$RUN/$1
  mkdir -p "$base"/{conf/Catalina/localhost,lib,logs,temp,webapps,work}
  cp -R "$CATALINA_HOME/conf/." "$base/conf/"
  cp "$TETHER_ARCHIVE" "$base/lib/"
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
    <!-- jvmRoute: session ids end in .$name, which is what the sticky balancer routes on. -->
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

launch_tomcat_node() { # name port log
  local name=$1 port=$2 log=$3
  write_server_xml "$name" "$port"
  (
    export CATALINA_HOME CATALINA_BASE="$RUN/$name"
    # EXIT_ON_INIT_FAILURE: a node that cannot bind its port exits instead of running without it.
    export CATALINA_OPTS="-DjvmRoute=$name -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.apache.catalina.startup.EXIT_ON_INIT_FAILURE=true"
    unset CATALINA_PID
    exec "$CATALINA_HOME/bin/catalina.sh" run
  ) >>"$log" 2>&1 &
  STARTED_PID=$!
}

# ------------------------------------------------------------------------------------ Jetty nodes

make_jetty_node() { # name: a JETTY_BASE of its own, set up the way the README tells an administrator
  local name=$1 base=$RUN/$1 ini
  mkdir -p "$base"/{logs,modules,etc,webapps,work}
  tar -xzf "$TETHER_ARCHIVE" -C "$base"
  # The shop's FORM login needs a realm named like the realm-name in its web.xml ("Tether shop").
  cat >"$base/modules/shop-realm.mod" <<'EOF'
# Written by examples/demo.sh: the demo shop's users.
[description]
A HashLoginService named "Tether shop" (the realm-name in the shop's web.xml).

[depends]
security

[xml]
etc/shop-realm.xml
EOF
  cat >"$base/etc/shop-realm.xml" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE Configure PUBLIC "-//Jetty//Configure//EN" "https://jetty.org/configure_10_0.dtd">
<!-- Written by examples/demo.sh: the shop's users, in the realm its web.xml names ("Tether shop"). -->
<Configure id="Server" class="org.eclipse.jetty.server.Server">
  <Call class="org.eclipse.jetty.util.resource.ResourceFactory" name="of">
    <Arg><Ref refid="Server"/></Arg>
    <Call id="shopRealmResource" name="newResource">
      <Arg><Property name="jetty.base"/>/etc/shop-realm.properties</Arg>
    </Call>
  </Call>
  <Call name="addBean">
    <Arg>
      <New class="org.eclipse.jetty.security.HashLoginService">
        <Set name="name">Tether shop</Set>
        <Set name="config"><Ref refid="shopRealmResource"/></Set>
      </New>
    </Arg>
  </Call>
</Configure>
EOF
  printf '%s\n' 'alice: alice,shopper' 'bob: bob,shopper' >"$base/etc/shop-realm.properties"
  if ! (cd "$base" && java -jar "$JETTY_HOME/start.jar" "jetty.home=$JETTY_HOME" "jetty.base=$base" \
      --add-modules=http,ee10-deploy,session-store-redis,shop-realm) >"$base/logs/setup.log" 2>&1; then
    fail "java -jar start.jar --add-modules=... failed for $name:
$(tail -n 20 "$base/logs/setup.log" | indent)"
  fi
  ini=$base/start.d/session-store-redis.ini
  grep -q '^jetty.session.redis.redisUri=' "$ini" || fail "$ini has no jetty.session.redis.redisUri line"
  sed "s#^jetty.session.redis.redisUri=.*#jetty.session.redis.redisUri=redis://127.0.0.1:$REDIS_PORT#" "$ini" >"$ini.new" && mv "$ini.new" "$ini"
  echo "jetty.sessionIdManager.workerName=$name" >>"$base/start.d/sessions.ini"
  cp "$WAR" "$base/webapps/$CONTEXT.war"
}

launch_jetty_node() { # name port log
  local name=$1 port=$2 log=$3 base=$RUN/$1 ini=$RUN/$1/start.d/http.ini
  grep -v -e '^jetty.http.host=' -e '^jetty.http.port=' "$ini" >"$ini.new" || true
  printf '%s\n' "jetty.http.host=127.0.0.1" "jetty.http.port=$port" >>"$ini.new"
  mv "$ini.new" "$ini"
  # No JVM options in any ini, so start.jar runs Jetty in this very JVM (no fork): its PID is
  # the server's, and kill -9 of it is a kill -9 of the server. -DjvmRoute only tells the shop's
  # page its node name (Jetty's getId() has no route suffix to show).
  (
    cd "$base"
    exec java "-DjvmRoute=$name" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
      -jar "$JETTY_HOME/start.jar" "jetty.home=$JETTY_HOME" "jetty.base=$base"
  ) >>"$log" 2>&1 &
  STARTED_PID=$!
}

# ------------------------------------------------------------------------------------ both

start_node() { # name port -> STARTED_PID, STARTED_AT (first log line of this start)
  local name=$1 port=$2 log=$RUN/$1/logs/console.log
  mkdir -p "$RUN/$name/logs"
  touch "$log"
  STARTED_AT=$(($(wc -l <"$log") + 1))
  "launch_${NODE_KIND}_node" "$name" "$port" "$log"
  echo "$STARTED_PID" >"$RUN/$name.pid"
}

await_node() { # name port pid since -> 0 once it serves the shop, 2 if its port was taken
  local name=$1 port=$2 pid=$3 since=$4 i code log=$RUN/$1/logs/console.log
  local bind_failed='BindException|Failed to bind'
  local deploy_failed='Error deploying|startup failed due to previous errors|Failed startup of context|FAILED org.eclipse.jetty.server.Server'
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      rm -f "$RUN/$name.pid"
      tail -n "+$since" "$log" | grep -qE "$bind_failed" && return 2
      fail "$name exited while starting; the last lines of its log:
$(tail -n "+$since" "$log" | tail -n 30 | indent)"
    fi
    if tail -n "+$since" "$log" | grep -qE "$bind_failed"; then
      stop_pid "$name" "$pid"
      return 2
    fi
    if tail -n "+$since" "$log" | grep -qE "$deploy_failed"; then
      fail "$name could not deploy the shop; from its log:
$(tail -n "+$since" "$log" | grep -E 'SEVERE|WARN|Caused by|Exception' | head -n 20 | indent)"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/$CONTEXT/login.html" || true)
    # Tether connects to Redis in the background and never holds up a start; wait for it anyway,
    # so that the story does not begin with writes queued for later.
    if [[ $code == 200 ]] && tail -n "+$since" "$log" | grep -q 'Tether: connected to Redis at'; then
      return 0
    fi
    sleep 0.2
  done
  fail "$name did not serve /$CONTEXT/ (connected to Redis) within 120 s; see $RUN/$name/logs/"
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

"make_${NODE_KIND}_node" node1
"make_${NODE_KIND}_node" node2
free_port; PORT1=$PORT; start_node node1 "$PORT1"; NODE1_PID=$STARTED_PID AT1=$STARTED_AT
free_port; PORT2=$PORT; start_node node2 "$PORT2"; NODE2_PID=$STARTED_PID AT2=$STARTED_AT
settle node1
settle node2
if [[ $CONTAINER == jetty ]]; then
  ok "node1: Jetty $JETTY_VERSION on http://127.0.0.1:$PORT1/$CONTEXT/ (pid $NODE1_PID, workerName node1)"
  ok "node2: Jetty $JETTY_VERSION on http://127.0.0.1:$PORT2/$CONTEXT/ (pid $NODE2_PID, workerName node2)"
  say "both: \$JETTY_BASE = the Tether archive + start.jar --add-modules=http,ee10-deploy,session-store-redis,shop-realm"
  say "  start.d/session-store-redis.ini: jetty.session.redis.redisUri=redis://127.0.0.1:$REDIS_PORT"
  say "  start.d/sessions.ini:            jetty.sessionIdManager.workerName=node1 (node2)"
else
  ok "node1: Tomcat $TOMCAT_VERSION on http://127.0.0.1:$PORT1/$CONTEXT/ (pid $NODE1_PID, jvmRoute node1)"
  ok "node2: Tomcat $TOMCAT_VERSION on http://127.0.0.1:$PORT2/$CONTEXT/ (pid $NODE2_PID, jvmRoute node2)"
  say "both: conf/Catalina/localhost/$CONTEXT.xml ->"
  say "  <Manager className=\"dev.tether.tomcat.RedisSessionManager\" redisUri=\"redis://127.0.0.1:$REDIS_PORT\"/>"
fi

node_of_port() { case $1 in "$PORT1") echo node1 ;; "$PORT2") echo node2 ;; *) echo "port $1" ;; esac; }

# ------------------------------------------------------------------------------------ the balancer

LB_DIR=$RUN/balancer
LB_LOG=$LB_DIR/balancer.log
STATS_PORT=

render() { # template output: fills in the placeholders the templates in examples/balancers use
  sed -e "s#\${LISTEN_PORT}#$LB_PORT#g" -e "s#\${NODE1_PORT}#$PORT1#g" -e "s#\${NODE2_PORT}#$PORT2#g" \
      -e "s#\${RUN_DIR}#$LB_DIR#g" -e "s#\${MODULES_DIR}#${MODULES_DIR:-}#g" \
      -e "s#\${RUN_USER}#${RUN_USER:-}#g" -e "s#\${RUN_GROUP}#${RUN_GROUP:-}#g" "$1" >"$2"
  if grep -n '\${[A-Z_]*}' "$2" | grep -v '^[0-9]*: *#' >/dev/null; then
    fail "$1 has placeholders the demo does not know:
$(grep -n '\${[A-Z_]*}' "$2" | grep -v '^[0-9]*: *#' | indent)"
  fi
}

launch_haproxy() {
  render "$BALANCERS/haproxy/haproxy.cfg" "$LB_DIR/haproxy.cfg"
  # HAProxy's statistics page, in a file of its own next to the example's (not part of it).
  cat >"$LB_DIR/stats.cfg" <<EOF
# Written by examples/demo.sh: HAProxy's statistics page for the demo.
listen demo-stats
    mode http
    bind 127.0.0.1:$STATS_PORT
    timeout client 30s
    stats enable
    stats uri /
    stats refresh 2s
EOF
  LB_CMD=("$(haproxy_bin)" -db -f "$LB_DIR/haproxy.cfg" -f "$LB_DIR/stats.cfg")
  if ! "$(haproxy_bin)" -c -f "$LB_DIR/haproxy.cfg" -f "$LB_DIR/stats.cfg" >"$LB_DIR/check.log" 2>&1; then
    fail "HAProxy refuses the rendered configuration $LB_DIR/haproxy.cfg:
$(grep -E 'ALERT|WARNING|rror' "$LB_DIR/check.log" | head -n 15 | indent)"
  fi
  $SETSID "${LB_CMD[@]}" >>"$LB_LOG" 2>&1 &
  LB_PID=$!
}

launch_httpd() {
  MODULES_DIR=$(httpd_modules)
  # httpd switches its workers to User/Group when started as root (and refuses root for them);
  # otherwise the directives have no effect.
  RUN_USER=$(id -un) RUN_GROUP=$(id -gn)
  if [[ $RUN_USER == root ]]; then
    RUN_USER=nobody RUN_GROUP=nobody
    for ug in www-data:www-data apache:apache daemon:daemon nobody:nogroup; do
      if grep -q "^${ug%%:*}:" /etc/passwd && grep -q "^${ug##*:}:" /etc/group; then
        RUN_USER=${ug%%:*} RUN_GROUP=${ug##*:}
        break
      fi
    done
  fi
  render "$BALANCERS/httpd/httpd.conf" "$LB_DIR/httpd.conf"
  # The balancer-manager page, in a file of its own next to the example's (not part of it).
  cat >"$LB_DIR/status.conf" <<EOF
# Written by examples/demo.sh: httpd's balancer-manager page for the demo.
# (httpd listens on 127.0.0.1 only.)
ProxyPass /balancer-manager !
<Location "/balancer-manager">
    SetHandler balancer-manager
    Require all granted
</Location>
EOF
  # The status page has to win over the example's "ProxyPass /": httpd takes the first match.
  awk -v inc="Include $LB_DIR/status.conf" '/^ProxyPass[ \t]/ && !done { print inc; done = 1 } { print }' \
    "$LB_DIR/httpd.conf" >"$LB_DIR/httpd.conf.new" && mv "$LB_DIR/httpd.conf.new" "$LB_DIR/httpd.conf"
  LB_CMD=("$(httpd_bin)" -f "$LB_DIR/httpd.conf" -DFOREGROUND)
  if ! "$(httpd_bin)" -f "$LB_DIR/httpd.conf" -t >"$LB_DIR/check.log" 2>&1; then
    fail "httpd refuses the rendered configuration $LB_DIR/httpd.conf:
$(head -n 15 "$LB_DIR/check.log" | indent)"
  fi
  $SETSID "${LB_CMD[@]}" >>"$LB_LOG" 2>&1 &
  LB_PID=$!
}

launch_nginx() {
  render "$BALANCERS/nginx/nginx.conf" "$LB_DIR/nginx.conf"
  LB_CMD=("$(nginx_bin)" -p "$LB_DIR/" -c "$LB_DIR/nginx.conf" -g 'daemon off;')
  if ! "$(nginx_bin)" -t -p "$LB_DIR/" -c "$LB_DIR/nginx.conf" -g 'daemon off;' >"$LB_DIR/check.log" 2>&1; then
    fail "nginx refuses the rendered configuration $LB_DIR/nginx.conf:
$(head -n 15 "$LB_DIR/check.log" | indent)"
  fi
  $SETSID "${LB_CMD[@]}" >>"$LB_LOG" 2>&1 &
  LB_PID=$!
}

launch_java() {
  LB_CMD=(java -Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar "$RUN/tether-demo-balancer.jar"
    --port "$LB_PORT" --member "node1=http://127.0.0.1:$PORT1" --member "node2=http://127.0.0.1:$PORT2")
  "${LB_CMD[@]}" >>"$LB_LOG" 2>&1 &
  LB_PID=$!
}

# The balancer's own view of its members, one line each: "node1 UP <detail>".
balancer_members() {
  case $BALANCER in
    haproxy)
      # HAProxy's CSV statistics: columns by name from the header line.
      { curl -s --max-time 5 "http://127.0.0.1:$STATS_PORT/;csv" || true; } | awk -F, '
        NR == 1 { sub(/^# */, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
        $2 == "node1" || $2 == "node2" {
          st = $(col["status"]); gsub(/ /, "-", st)   # "UP", "DOWN", or on the way: "UP-1/2", "DOWN-1/2"
          printf "%s %s requests=%s check=%s\n", $2, st, $(col["stot"]), $(col["check_status"]) }' ;;
    java)
      { curl -s --max-time 5 "http://127.0.0.1:$LB_PORT/balancer-status" || true; } | awk '$1 == "node1" || $1 == "node2" {
        line = $1 " " $3 " " $4; for (i = 5; i <= NF; i++) line = line " " $i; print line }' ;;
    httpd)
      # balancer-manager's HTML table, one row per member: URL, Route, RouteRedir, Factor, Set,
      # Status ("Init Ok", "Init Err"), Elected (requests sent to it), ...
      { curl -s --max-time 5 "http://127.0.0.1:$LB_PORT/balancer-manager" || true; } | tr -d '\n' | sed 's#<tr>#\n#g' \
        | { grep -E '<td>node[12]</td>' || true; } | sed 's#</td>#|#g; s#<[^>]*>##g' | awk -F'|' '{
          st = $6; gsub(/^ +| +$/, "", st); s = st ~ /Err/ ? "DOWN" : st ~ /Ok/ ? "UP" : st
          printf "%s %s requests=%s status=\"%s\"\n", $2, s, $7, st }' ;;
    nginx) ;; # open-source nginx has no status page for its upstreams
  esac
}
member_state() { balancer_members | awk -v m="$1" '$1 == m { print $2; exit }'; } # UP, DOWN, UP-1/2...; "" (unknown)

NGINX_SEEN=0
show_balancer() { # what the balancer says about its members
  local lines
  if [[ $BALANCER == nginx ]]; then
    # Open-source nginx shows no upstream state; what it logs about the upstreams since the last
    # look is the next best thing.
    lines=$(tail -n "+$((NGINX_SEEN + 1))" "$LB_DIR/error.log" 2>/dev/null | grep 'upstream' \
      | sed -n 's#^[0-9/]* \([0-9:]*\) \[\([a-z]*\)\] [^*]*\*[0-9]* \([^,]*\),.*upstream: "[a-z]*://\([^/"]*\).*#\1 [\2] \3 (\4)#p' \
      | while read -r t l m; do echo "$t $l $m" | sed "s/(127.0.0.1:$PORT1)/(node1)/; s/(127.0.0.1:$PORT2)/(node2)/"; done || true)
    NGINX_SEEN=$(wc -l <"$LB_DIR/error.log" 2>/dev/null || echo 0)
    [[ -z $lines ]] || label balancer "nginx's error log: $(sed -n 1p <<<"$lines")"
    [[ -z $(sed -n 2p <<<"$lines") ]] || sed 1d <<<"$lines" | head -n 4 | while IFS= read -r l; do label "" "$l"; done
    return 0
  fi
  lines=$(balancer_members)
  [[ -n $lines ]] || return 0
  label balancer "$(sed -n 1p <<<"$lines")"
  [[ -z $(sed -n 2p <<<"$lines") ]] || label "" "$(sed -n 2p <<<"$lines")"
}

# httpd (without mod_proxy_hcheck) and nginx have no health checks: they learn that a member is
# down from a failed request, and try it again a while later (httpd retry=5, nginx fail_timeout=5s).
PASSIVE=
[[ $BALANCER == httpd || $BALANCER == nginx ]] && PASSIVE=1
await_member() { # member UP|DOWN seconds -> 0 once the balancer reports that state
  local i
  [[ $BALANCER == nginx ]] && return 0
  for ((i = 0; i < $3 * 5; i++)); do
    [[ $(member_state "$1") == "$2" ]] && return 0
    sleep 0.2
  done
  return 1
}

setup "Start the balancer in front of them: $BALANCER"
[[ -z $BALANCER_NOTE ]] || say "(the Java balancer: $BALANCER_NOTE)"
mkdir -p "$LB_DIR"
for ((attempt = 1; ; attempt++)); do
  free_port; LB_PORT=$PORT
  [[ $BALANCER == haproxy ]] && { free_port; STATS_PORT=$PORT; }
  : >"$LB_LOG"
  "launch_$BALANCER"
  echo "$LB_PID" >"$RUN/balancer.pid"
  ready=
  for ((i = 0; i < 150; i++)); do
    kill -0 "$LB_PID" 2>/dev/null || break
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$LB_PORT/$CONTEXT/login.html" || true)
    if [[ $code == 200 ]] && { [[ $BALANCER == nginx ]] \
        || [[ $(member_state node1) == UP && $(member_state node2) == UP ]]; }; then
      ready=1
      break
    fi
    sleep 0.2
  done
  [[ -n $ready ]] && break
  stop_pid balancer "$LB_PID"; LB_PID=
  if ((attempt < 5)) && grep -qiE 'address already in use|cannot bind|cannot listen|Failed to bind' "$LB_LOG"; then
    say "port $LB_PORT was taken meanwhile; trying another one"
    continue
  fi
  fail "the $BALANCER balancer did not start on port $LB_PORT (or does not see both nodes); its log:
$(tail -n 20 "$LB_LOG" | indent)"
done
LB=http://127.0.0.1:$LB_PORT
case $BALANCER in
  haproxy)
    ok "HAProxy $("$(haproxy_bin)" -v | sed -n 's/^HA-*Proxy version \([^ ]*\).*/\1/p' | head -n 1) on $LB/ (pid $LB_PID)"
    say "config: $BALANCERS/haproxy/haproxy.cfg with the ports filled in -> $LB_DIR/haproxy.cfg:"
    grep -E '^[[:space:]]*(http-request set-var|use-server|option redispatch|retry-on|server )' "$LB_DIR/haproxy.cfg" | sed 's/^ */  /' | indent
    say "statistics: http://127.0.0.1:$STATS_PORT/ (CSV: /;csv)"
    ;;
  httpd)
    ok "Apache httpd on $LB/ (pid $LB_PID)"
    say "config: $BALANCERS/httpd/httpd.conf with the ports filled in -> $LB_DIR/httpd.conf:"
    grep -E '^[[:space:]]*(BalancerMember|ProxySet)' "$LB_DIR/httpd.conf" | sed 's/^ */  /' | indent
    say "balancer-manager: $LB/balancer-manager"
    ;;
  nginx)
    ok "nginx on $LB/ (pid $LB_PID)"
    say "config: $BALANCERS/nginx/nginx.conf with the ports filled in -> $LB_DIR/nginx.conf:"
    grep -E '^[[:space:]]*("~\^|node[12] |server 127|proxy_next_upstream )' "$LB_DIR/nginx.conf" | sed 's/^ */  /' | indent
    say "(open-source nginx has no status page for its upstreams: the story shows its error log)"
    ;;
  java)
    ok "the Java balancer (examples/demo-balancer) on $LB/ (pid $LB_PID)"
    run_shown "java -jar tether-demo-balancer.jar --port $LB_PORT --member node1=http://127.0.0.1:$PORT1 --member node2=http://127.0.0.1:$PORT2"
    say "Jetty's BalancerServlet, stickySessions=true: routes on the JSESSIONID route suffix; fails over to"
    say "the other member when one is down. Status: $LB/balancer-status"
    ;;
esac
show_balancer
say "every request of the story goes to $LB/; the balancer picks the node"

SHOP=$LB/$CONTEXT
H=$RUN/headers.txt

# Which node served the last answer: the page's node= and port= lines, and the Java balancer's
# X-Tether-Balancer-Member header.
served_by() { # answer
  local node port member
  node=$(field "$1" node); port=$(field "$1" port)
  member=$(header_of "$H" X-Tether-Balancer-Member)
  local via=
  [[ -z $member ]] || via="; X-Tether-Balancer-Member: $member"
  label served "by ${B}${node:-?}${N} (port ${port:-?} = $(node_of_port "${port:-0}"))$via"
}
show_cookie() {
  label cookie "JSESSIONID=$(jar_cookie)   (the browser's cookie jar)"
}

# ------------------------------------------------------------------------------------ the story

step "$USER_NAME logs in (FORM login), through the balancer"
run_shown "curl -L '$SHOP/shop/cart?format=text'"
page=$(browser -L -D "$H" "$SHOP/shop/cart?format=text")
[[ $page == *j_security_check* ]] || fail "the shop did not answer a protected page with the login form; it answered:
$(indent <<<"$page")"
ok "the shop answers with the login form (HTTP $(status_of "$H"))"
run_shown "curl -L -d j_username=$USER_NAME -d j_password=... '$SHOP/j_security_check'"
answer=$(browser -L -D "$H" --data-urlencode "j_username=$USER_NAME" --data-urlencode "j_password=$USER_PASSWORD" \
  "$SHOP/j_security_check")
expect "$answer" user "$USER_NAME" "after logging in"
S=$(field "$answer" node)
case $S in
  node1) O=node2 ;;
  node2) O=node1 ;;
  *) fail "the page names no node (node=$S); the answer:
$(indent <<<"$answer")" ;;
esac
served_by "$answer"
COOKIE=$(jar_cookie)
[[ $COOKIE == *".$S" ]] || fail "the session cookie should end in .$S, the node that served the login, but is '$COOKIE'"
show_cookie
ok "the balancer picked $S for this new session; $S's route is in the cookie: $USER_NAME sticks to $S"

step "$USER_NAME fills the cart"
say "the servlet does cart = session.getAttribute(\"cart\"); cart.add(item) and never calls setAttribute again"
for item in apple pear plum; do
  run_shown "curl -d item=$item '$SHOP/shop/add?format=text'"
  answer=$(browser -D "$H" -d "item=$item" "$SHOP/shop/add?format=text")
  [[ $(field "$answer" added) == "$item" ]] || fail "adding $item failed; the shop answered:
$(show "$answer")"
  [[ $(field "$answer" node) == "$S" ]] || fail "adding $item was served by $(field "$answer" node), not $S: the balancer is not sticky"
done
run_shown "curl '$SHOP/shop/cart?format=text'"
answer=$(browser -D "$H" "$SHOP/shop/cart?format=text")
show "$answer"
expect "$answer" node "$S" "cart (sticky to $S?)"
expect "$answer" user "$USER_NAME" "cart"
expect "$answer" items apple,pear,plum "cart"
OLD_COOKIE=$(jar_cookie)
BASE=${OLD_COOKIE%%.*}
[[ $OLD_COOKIE == "$BASE.$S" ]] || fail "the session cookie should end in .$S but is '$OLD_COOKIE'"
[[ $(field "$answer" session) == "$(page_session "$OLD_COOKIE")" ]] || fail "the page shows session $(field "$answer" session) but the cookie is $OLD_COOKIE"
served_by "$answer"
show_cookie
show_balancer
show_record "$BASE" full
read -r owner version <<<"$(owner_version "$BASE")"
[[ $owner == "$S" ]] || fail "Redis names '$owner' as the owner, not $S"
[[ $(rcli HEXISTS "$(record_key "$BASE")" a:cart) == 1 ]] || fail "Redis has no a:cart field"
[[ $(rcli HEXISTS "$(record_key "$BASE")" "$(login_field)") == 1 ]] || fail "Redis does not hold the login ($(login_field))"
[[ $CONTAINER == jetty || $(rcli HGET "$(record_key "$BASE")" n:principal) == "$USER_NAME" ]] || fail "Redis's n:principal is not $USER_NAME"
VERSION1=$version
ok "every request went to $S; in Redis: owner=$S ver=$VERSION1, the cart (a:cart) and the login ($(login_field))"

SPID_VAR=NODE${S#node}_PID
S_PID=${!SPID_VAR}
step "$S, the node serving $USER_NAME, dies: kill -9 $S_PID"
run_shown "kill -9 $S_PID"
kill -9 "$S_PID"
wait "$S_PID" 2>/dev/null || true
printf -v "$SPID_VAR" %s ""
rm -f "$RUN/$S.pid"
SPORT_VAR=PORT${S#node}
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:${!SPORT_VAR}/$CONTEXT/login.html"; then fail "$S still answers after kill -9"; fi
ok "$S is gone: no shutdown hook ran, nothing was flushed"
show_balancer
if [[ $(member_state "$S") == UP ]]; then
  say "(the balancer has not noticed yet: the next request to $S will find it dead)"
fi

step "$USER_NAME's next request: the balancer sends it to $O, and the cart is there"
say "the browser still sends JSESSIONID=$OLD_COOKIE; $S is dead, so the balancer fails over to $O"
run_shown "curl '$SHOP/shop/cart?format=text'"
answer=$(browser -D "$H" "$SHOP/shop/cart?format=text")
show "$answer"
[[ $(status_of "$H") == 200 ]] || fail "the balancer answered HTTP $(status_of "$H")"
expect "$answer" node "$O" "after failover to $O"
expect "$answer" user "$USER_NAME" "after failover to $O (still logged in?)"
expect "$answer" items apple,pear,plum "after failover to $O (cart intact?)"
FAILOVER_AT=$SECONDS
served_by "$answer"
NEW_COOKIE=$(set_cookie "$H")
ok "$O loaded the session from Redis: same login, same cart"

step "The cookie's suffix changes: .$S -> .$O"
[[ -n $NEW_COOKIE ]] || fail "$O sent no new Set-Cookie: JSESSIONID; the headers were:
$(tr -d '\r' <"$H" | indent)"
label response "Set-Cookie: JSESSIONID=$NEW_COOKIE   (from $O, passed on by the balancer)"
[[ $NEW_COOKIE == "$BASE.$O" ]] || fail "$O's new cookie should be $BASE.$O (same base, new route) but is $NEW_COOKIE"
[[ $(field "$answer" session) == "$(page_session "$NEW_COOKIE")" ]] || fail "$O's page shows session $(field "$answer" session), not $NEW_COOKIE"
[[ $(jar_cookie) == "$NEW_COOKIE" ]] || fail "the browser's cookie jar holds $(jar_cookie), not $NEW_COOKIE"
show_cookie
ok "same session, re-suffixed: the balancer now routes $USER_NAME to $O"
await_member "$S" DOWN 10 || say "(the balancer still reports $S as $(member_state "$S") after 10 s)"
show_balancer
show_record "$BASE"
read -r owner version <<<"$(owner_version "$BASE")"
[[ $owner == "$O" ]] || fail "after failover Redis names '$owner' as the owner, not $O"
[[ $version =~ ^[0-9]+$ ]] && ((version >= VERSION1)) || fail "after failover the record's version is '$version', below $VERSION1"
ok "owner=$O ver=$version (was $S/$VERSION1): $O serves it now, and the record never goes back"
say "$USER_NAME keeps shopping:"
run_shown "curl -d item=fig '$SHOP/shop/add?format=text'"
answer=$(browser -D "$H" -d item=fig "$SHOP/shop/add?format=text")
expect "$answer" node "$O" "adding after the failover (sticky to $O now?)"
expect "$answer" items apple,pear,plum,fig "adding on $O"

step "$S comes back"
echo "----- restarted by demo.sh -----" >>"$RUN/$S/logs/console.log"
start_node "$S" "${!SPORT_VAR}"; printf -v "$SPID_VAR" %s "$STARTED_PID"
await_node "$S" "${!SPORT_VAR}" "${!SPID_VAR}" "$STARTED_AT" || fail "$S cannot get its port ${!SPORT_VAR} back: another program took it"
ok "$S is up again (pid ${!SPID_VAR}), with an empty memory"
if [[ -n $PASSIVE ]]; then
  # Without health checks the balancer tries $S again only after its retry time since the failure.
  wait_s=$((FAILOVER_AT + 6 - SECONDS))
  if ((wait_s > 0)); then
    say "($BALANCER has no health check: it tries $S again 5 s after the failure; waiting $wait_s s)"
    sleep "$wait_s"
  fi
elif ! await_member "$S" UP 20; then
  show_balancer
  fail "the balancer does not report $S as UP 20 s after it came back"
fi
if [[ -z $PASSIVE ]]; then
  show_balancer
  ok "the balancer sends $S's sessions to $S again"
fi
say "a stray request with the old .$S cookie (a tab that still had JSESSIONID=$OLD_COOKIE):"
run_shown "curl -b 'JSESSIONID=$OLD_COOKIE' '$SHOP/shop/cart?format=text'"
answer=$(curl -sS --max-time 30 -D "$H" -b "JSESSIONID=$OLD_COOKIE" "$SHOP/shop/cart?format=text")
show "$answer"
expect "$answer" node "$S" "stray request (routed to $S by its .$S cookie?)"
expect "$answer" user "$USER_NAME" "stray request at $S (still logged in?)"
expect "$answer" items apple,pear,plum,fig "stray request at $S (cart complete?)"
served_by "$answer"
[[ -z $PASSIVE ]] || show_balancer
show_record "$BASE"
ok "$S serves the complete, current cart: nothing it had before dying comes back to overwrite it"

# $S has just taken the session over from $O (owner $S in Redis). alice's browser holds the .$O
# cookie, so the balancer sends her next request to $O, which still has its own copy in memory:
# that copy must not be served or written as if nothing had happened.
step "Nothing lost"
say "$USER_NAME's browser (cookie .$O) goes on: the balancer sends her to $O, whose copy is now stale"
run_shown "curl -d item=kiwi '$SHOP/shop/add?format=text'"
answer=$(browser -D "$H" -d item=kiwi "$SHOP/shop/add?format=text")
expect "$answer" node "$O" "adding after the stray request"
expect "$answer" items apple,pear,plum,fig,kiwi "adding after the stray request"
run_shown "curl '$SHOP/shop/cart?format=text'"
answer=$(browser -D "$H" "$SHOP/shop/cart?format=text")
show "$answer"
expect "$answer" user "$USER_NAME" "$O after the stray request"
expect "$answer" items apple,pear,plum,fig,kiwi "$O after the stray request (is the kiwi still there?)"
served_by "$answer"
show_cookie
show_balancer
show_record "$BASE"

echo
echo "${G}${B}Nothing lost:${N} $USER_NAME stayed logged in and kept every item (apple, pear, plum, fig, kiwi)"
echo "through kill -9 of $S, the balancer's failover to $O, $S's return and a stray request to it."

# ------------------------------------------------------------------------------------ your turn

if [[ $NO_WAIT == 1 ]]; then
  exit 0
fi
echo
echo "${B}The cluster is yours:${N} open ${B}$SHOP/${N} in a browser (users alice/alice, bob/bob)."
echo "The page shows the node that served it; kill that node and reload."
echo
echo "   balancer  $LB/   ($BALANCER, pid $LB_PID)"
case $BALANCER in
  haproxy) echo "             statistics: http://127.0.0.1:$STATS_PORT/" ;;
  httpd)   echo "             balancer-manager: $LB/balancer-manager" ;;
  java)    echo "             status: $LB/balancer-status" ;;
esac
echo "   node1     http://127.0.0.1:$PORT1/$CONTEXT/   ($CONTAINER_NAME, pid $NODE1_PID)"
echo "   node2     http://127.0.0.1:$PORT2/$CONTEXT/   ($CONTAINER_NAME, pid $NODE2_PID)"
echo "   redis     redis-cli -p $REDIS_PORT --scan --pattern 'tether:*'"
echo "   kill      kill -9 <pid> kills a node; examples/demo.sh restarts nothing by itself"
echo
echo "Press Ctrl-C to stop everything."
while :; do sleep 1; done
