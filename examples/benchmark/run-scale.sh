#!/usr/bin/env bash
#
# Tether at scale, measured on a real Tomcat 10.1 (on demand; not part of the build's tests):
#   1. one node grows to 1k, 10k, 100k logged-in sessions: heap and Redis memory per session (used_memory,
#      MEMORY USAGE by key kind), read and write cost per request as the sessions grow;
#   2. two nodes behind HAProxy, the one holding 10,000 active sessions is killed (kill -9) under load: time until
#      every user is served again, take-over latency p50/p99/max, Redis CPU during the storm;
#   3. from the measured Redis CPU per request: what one Redis core and a 3-master Cluster carry.
#
#   examples/benchmark/run-scale.sh            -> examples/benchmark/results/scale.md (about 10 minutes on 2 cores)
#
# Options: --skip-build  --out DIR  --work DIR
#          --levels=1000,10000,100000  --storm-sessions=10000 --storm-others=2000 --storm-clients=16
#          --duration=S (measured wrk runs, 10) --warmup=S (4)  --parts=grow,storm
#          --jvm-opts-grow="..." (-Xms2g -Xmx2g -XX:+UseG1GC)  --jvm-opts-storm="..." (-Xms1g -Xmx1g -XX:+UseG1GC)
# Needs JDK 17, Maven, redis-server, wrk and haproxy (Debian: apt-get install redis-server wrk haproxy).
# Starts its own redis-server on a free loopback port without persistence; everything it starts ends with it.
#
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
SKIP_BUILD=0
OUT=$BENCH/results
WORK=$BENCH/target/scale-run
PASS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --skip-build) SKIP_BUILD=1 ;;
    --out=*) OUT=${1#--out=} ;;
    --work=*) WORK=${1#--work=} ;;
    -h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --levels=*|--storm-sessions=*|--storm-others=*|--storm-clients=*|--duration=*|--warmup=*|--parts=*|--jvm-opts-grow=*|--jvm-opts-storm=*)
      PASS+=("$1") ;;
    *) echo "run-scale.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT" "$WORK"
OUT=$(cd "$OUT" && pwd)
WORK=$(cd "$WORK" && pwd)
say() { echo "[run-scale.sh] $*"; }
die() { echo "[run-scale.sh] ERROR: $*" >&2; exit 1; }

JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
for tool in "$JAVA" mvn redis-server wrk haproxy tar; do
  command -v "$tool" >/dev/null || die "'$tool' is not on the PATH (needs JDK 17, Maven, redis-server, wrk, haproxy)"
done
pom_prop() { sed -n "s:.*<$2>\([^<]*\)</$2>.*:\1:p" "$1" | head -n 1; }
TOMCAT_VERSION=${TOMCAT_VERSION:-$(pom_prop "$ROOT/pom.xml" tomcat10.version)}
TETHER_JAR=$ROOT/tomcat-valve/target/tether-tomcat-1.0.0.jar
TESTKIT_JAR=$ROOT/testkit/target/tether-testkit-1.0.0.jar
WAR=$BENCH/target/bench.war
CLASSES=$BENCH/target/classes

if [[ $SKIP_BUILD == 0 ]]; then
  say "building testkit, tomcat-valve, examples/benchmark (log: $WORK/build.log)"
  (cd "$ROOT" && mvn -B -DskipTests -DskipITs -pl testkit,tomcat-valve,examples/benchmark -am package) >"$WORK/build.log" 2>&1 \
    || { tail -n 40 "$WORK/build.log" >&2; die "the build failed"; }
fi
for f in "$TESTKIT_JAR" "$TETHER_JAR" "$WAR" "$CLASSES/dev/tether/bench/scale/Scale.class"; do
  [[ -e $f ]] || die "$f is missing: run without --skip-build"
done

DL=$BENCH/target/bench-downloads
mkdir -p "$DL"
if [[ ! -s $DL/tomcat-$TOMCAT_VERSION.tar.gz ]]; then
  say "fetching Tomcat $TOMCAT_VERSION"
  (cd "$DL" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      -Dartifact="org.apache.tomcat:tomcat:$TOMCAT_VERSION:tar.gz" -DoutputDirectory="$DL") >>"$WORK/fetch.log" 2>&1 \
    || { tail -n 20 "$WORK/fetch.log" >&2; die "could not fetch Tomcat $TOMCAT_VERSION"; }
fi
TOMCAT_HOME=$DL/apache-tomcat-$TOMCAT_VERSION
[[ -x $TOMCAT_HOME/bin/catalina.sh ]] || tar xzf "$DL/tomcat-$TOMCAT_VERSION.tar.gz" -C "$DL"

rm -rf "$WORK/nodes" "$WORK/raw"
say "results -> $OUT/scale.md; work -> $WORK"
exec "$JAVA" -Xmx768m -cp "$CLASSES:$TESTKIT_JAR" dev.tether.bench.scale.Scale \
  --out="$OUT" --work="$WORK" --tomcat-home="$TOMCAT_HOME" --tether-jar="$TETHER_JAR" --war="$WAR" \
  --lua="$BENCH/src/main/wrk/sessions.lua" --haproxy-cfg="$ROOT/examples/balancers/haproxy/haproxy.cfg" \
  --wrk="$(command -v wrk)" --haproxy="$(command -v haproxy)" ${PASS[@]+"${PASS[@]}"}
