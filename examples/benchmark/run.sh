#!/usr/bin/env bash
#
# Tether benchmark: in-memory sessions vs Tether vs Redisson, on the real Tomcat 10.1 and Jetty 12
# distributions, with the same WAR, JVM flags and wrk load; reports throughput, p50/p99 latency,
# Redis commands per request, failover takeover latency and memory per 10,000 sessions.
#
#   examples/benchmark/run.sh           the benchmark: 5 rounds of 6 s runs (~1 hour)      -> examples/benchmark/results/
#   examples/benchmark/run.sh --quick   1 round of 2 s runs, rough numbers (~5 min)      -> examples/benchmark/target/results-quick/
#   examples/benchmark/run.sh --smoke   1 s runs, for CI: every row, numbers meaningless -> examples/benchmark/target/results-smoke/
#
# Options: --skip-build (use the jars/war already built)  --out DIR  --work DIR
#          --variants=tomcat-memory,tomcat-tether,tomcat-tether-async,tomcat-redisson,jetty-memory,jetty-tether,
#            tomcat-floor-lettuce,tomcat-floor-socket, and two Tomcat nodes behind HAProxy (a group of their own, run after the
#            others): balanced-memory-sticky,balanced-tether-sticky,balanced-tether-shared-rr,balanced-redisson-rr
#          --workloads=read,write,mix,page (default: all four; smoke: the first three)  --balanced-workloads=read,write
#          --profile=VARIANTS|none (JFR during an extra write run; full mode: tomcat-tether,jetty-tether)
#          --breakdown=VARIANTS|none (async-profiler: CPU per write request side by side; full mode: the Tomcat
#            in-memory, Lettuce floor and Tether variants, Jetty in-memory and Tether)
#          --rounds=N --duration=S --warmup=S --warmup-max=S --threads=N --connections=N --sessions=N --memory-sessions=N --failover-sessions=N
# Environment: BENCH_JVM_OPTS (server JVM flags, default -Xms512m -Xmx512m -XX:+UseG1GC),
#              TOMCAT_VERSION, JETTY_VERSION, REDISSON_VERSION, ASYNC_PROFILER_VERSION (defaults: the versions in the poms).
#
# Needs JDK 17, Maven, redis-server and wrk (Debian: apt-get install redis-server wrk), and haproxy for the two-node variants. Starts its own
# redis-server on a free loopback port without persistence; everything it starts ends with it.
# More: examples/benchmark/README.md
#
set -euo pipefail

usage() { sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; }

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
MODE=full
SKIP_BUILD=0
OUT=
WORK=
PASS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) MODE=quick ;;
    --smoke) MODE=smoke ;;
    --skip-build) SKIP_BUILD=1 ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#--out=} ;;
    --work) WORK=$2; shift ;;
    --work=*) WORK=${1#--work=} ;;
    -h|--help) usage; exit 0 ;;
    --variants=*|--workloads=*|--balanced-workloads=*|--profile=*|--breakdown=*|--rounds=*|--duration=*|--warmup=*|--warmup-max=*|--threads=*|--connections=*|--sessions=*|--memory-sessions=*|--failover-sessions=*|--failover-warmup-round=*)
      PASS+=("$1") ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

case $MODE in
  full) OUT=${OUT:-$BENCH/results} ;;
  *) OUT=${OUT:-$BENCH/target/results-$MODE} ;;
esac
WORK=${WORK:-$BENCH/target/bench-run-$MODE}
mkdir -p "$OUT" "$WORK"
OUT=$(cd "$OUT" && pwd)
WORK=$(cd "$WORK" && pwd)

say() { echo "[run.sh] $*"; }
die() { echo "[run.sh] ERROR: $*" >&2; exit 1; }

JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
for tool in "$JAVA" mvn redis-server wrk tar; do
  command -v "$tool" >/dev/null || die "'$tool' is not on the PATH (needs JDK 17, Maven, redis-server, wrk)"
done

# A version from a pom: the first <name>value</name>.
pom_prop() { sed -n "s:.*<$2>\([^<]*\)</$2>.*:\1:p" "$1" | head -n 1; }
TOMCAT_VERSION=${TOMCAT_VERSION:-$(pom_prop "$ROOT/pom.xml" tomcat10.version)}
JETTY_VERSION=${JETTY_VERSION:-$(pom_prop "$ROOT/pom.xml" jetty121.version)}
REDISSON_VERSION=${REDISSON_VERSION:-$(pom_prop "$BENCH/pom.xml" redisson.version)}
[[ -n $TOMCAT_VERSION && -n $JETTY_VERSION && -n $REDISSON_VERSION ]] || die "could not read the versions from the poms"

TETHER_JAR=$ROOT/tomcat-valve/target/tether-tomcat-1.0.0.jar
JETTY_ARCHIVE=$ROOT/jetty-module/target/tether-jetty-module-1.0.0.tar.gz
WAR=$BENCH/target/bench.war
CLASSES=$BENCH/target/classes
# The harness's Redis, HTTP client and server nodes.
TESTKIT_JAR=$ROOT/testkit/target/tether-testkit-1.0.0.jar

# ---------------------------------------------------------------------------------- build
if [[ $SKIP_BUILD == 0 ]]; then
  # One reactor build from the root: the harness needs the testkit, which is not installed anywhere.
  MODULES=testkit,tomcat-valve,jetty-module
  # BENCH_SKIP_SELF_BUILD is set by the smoke test, which runs after this module's package phase.
  [[ ${BENCH_SKIP_SELF_BUILD:-0} == 1 ]] || MODULES+=,examples/benchmark
  say "building $MODULES (log: $WORK/build.log)"
  (cd "$ROOT" && mvn -B -DskipTests -DskipITs -pl "$MODULES" -am package) >"$WORK/build.log" 2>&1 \
    || { tail -n 40 "$WORK/build.log" >&2; die "the build failed"; }
fi
for f in "$TESTKIT_JAR" "$TETHER_JAR" "$JETTY_ARCHIVE" "$WAR" "$CLASSES/dev/tether/bench/harness/Main.class"; do
  [[ -e $f ]] || die "$f is missing: run without --skip-build (or build: mvn -DskipTests package)"
done

# ---------------------------------------------------------------------------------- distributions, Redisson
DL=$WORK/../bench-downloads
mkdir -p "$DL"
DL=$(cd "$DL" && pwd)
fetch() { # groupId:artifactId:version[:type] file
  [[ -s $DL/$2 ]] && return 0
  say "fetching $1 from Maven Central"
  (cd "$DL" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy -Dartifact="$1" -DoutputDirectory="$DL") \
    >>"$WORK/fetch.log" 2>&1 || { tail -n 20 "$WORK/fetch.log" >&2; die "could not fetch $1"; }
  [[ -s $DL/$2 ]] || die "fetched $1 but $DL/$2 is not there"
}
fetch "org.apache.tomcat:tomcat:$TOMCAT_VERSION:tar.gz" "tomcat-$TOMCAT_VERSION.tar.gz"
fetch "org.eclipse.jetty:jetty-home:$JETTY_VERSION:tar.gz" "jetty-home-$JETTY_VERSION.tar.gz"
# Redisson: org.redisson:redisson with its runtime dependencies, and redisson-tomcat-10 (redisson-all, the
# same classes in one jar, does not resolve for the newer releases).
REDISSON_LIB=$DL/redisson-$REDISSON_VERSION
if [[ ! -s $REDISSON_LIB/redisson-tomcat-10-$REDISSON_VERSION.jar ]]; then
  say "fetching org.redisson:redisson and redisson-tomcat-10 $REDISSON_VERSION with their dependencies from Maven Central"
  rm -rf "$REDISSON_LIB" && mkdir -p "$REDISSON_LIB/pom"
  cat >"$REDISSON_LIB/pom/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>bench</groupId><artifactId>redisson-classpath</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.redisson</groupId><artifactId>redisson</artifactId><version>$REDISSON_VERSION</version></dependency>
    <dependency><groupId>org.redisson</groupId><artifactId>redisson-tomcat-10</artifactId><version>$REDISSON_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  (cd "$REDISSON_LIB/pom" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$REDISSON_LIB") >>"$WORK/fetch.log" 2>&1 \
    || { tail -n 20 "$WORK/fetch.log" >&2; rm -rf "$REDISSON_LIB"; die "could not fetch Redisson $REDISSON_VERSION"; }
fi
REDISSON_JARS=$(ls "$REDISSON_LIB"/*.jar | paste -sd, -)
HAPROXY=$(command -v haproxy || ls /usr/sbin/haproxy /usr/local/sbin/haproxy 2>/dev/null | head -n 1 || true)
[[ -n $HAPROXY ]] || say "haproxy is not installed (apt-get install haproxy): the two-node variants behind it are skipped"
# The profiler for the CPU breakdown: optional, the benchmark runs without it.
ASYNC_PROFILER_VERSION=${ASYNC_PROFILER_VERSION:-$(pom_prop "$BENCH/pom.xml" async-profiler.version)}
ASYNC_PROFILER_JAR=$DL/async-profiler-$ASYNC_PROFILER_VERSION.jar
(fetch "tools.profiler:async-profiler:$ASYNC_PROFILER_VERSION" "async-profiler-$ASYNC_PROFILER_VERSION.jar") 2>/dev/null \
  || say "async-profiler $ASYNC_PROFILER_VERSION could not be fetched: no CPU breakdown in profile.md"
TOMCAT_HOME=$DL/apache-tomcat-$TOMCAT_VERSION
JETTY_HOME=$DL/jetty-home-$JETTY_VERSION
[[ -x $TOMCAT_HOME/bin/catalina.sh ]] || tar xzf "$DL/tomcat-$TOMCAT_VERSION.tar.gz" -C "$DL"
[[ -f $JETTY_HOME/start.jar ]] || tar xzf "$DL/jetty-home-$JETTY_VERSION.tar.gz" -C "$DL"
[[ -x $TOMCAT_HOME/bin/catalina.sh && -f $JETTY_HOME/start.jar ]] || die "unpacking the distributions failed"

# ---------------------------------------------------------------------------------- run
rm -rf "$WORK/nodes" "$WORK/raw"
say "mode $MODE; results -> $OUT; work -> $WORK"
ARGS=(--mode="$MODE" --out="$OUT" --work="$WORK"
  --tomcat-home="$TOMCAT_HOME" --jetty-home="$JETTY_HOME" --tether-jar="$TETHER_JAR" --jetty-archive="$JETTY_ARCHIVE"
  --war="$WAR" --lua="$BENCH/src/main/wrk/sessions.lua"
  --redisson-jars="$REDISSON_JARS" --haproxy="$HAPROXY"
  --wrk="$(command -v wrk)"
  --tomcat-version="$TOMCAT_VERSION" --jetty-version="$JETTY_VERSION" --redisson-version="$REDISSON_VERSION"
  --async-profiler="$([[ -s $ASYNC_PROFILER_JAR ]] && echo "$ASYNC_PROFILER_JAR")")
[[ -n ${BENCH_JVM_OPTS:-} ]] && ARGS+=(--jvm-opts="$BENCH_JVM_OPTS")
exec "$JAVA" -Xmx512m -cp "$CLASSES:$TESTKIT_JAR" dev.tether.bench.harness.Main "${ARGS[@]}" ${PASS[@]+"${PASS[@]}"}
