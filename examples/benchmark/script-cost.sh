#!/usr/bin/env bash
#
# What a fenced write costs inside Redis, against the floor's plain SET (on demand, a few seconds):
# Redis's own execution time per command (INFO commandstats, usec_per_call), network and parsing left out,
# for 100,000 commands sent through `redis-cli --pipe` on a redis-server of its own:
#   - SET of a short value (what the floor variants send);
#   - an empty script (returns at once) called with the arguments of a write: the least any script costs;
#   - save.lua writing one changed attribute on the version Redis holds (the common write of the benchmark).
# The three alternate, 5 rounds; the medians are printed as a Markdown table.
#
#   examples/benchmark/script-cost.sh [--rounds=N] [--out=FILE]
#
# Needs redis-server, redis-cli and awk.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SAVE_LUA=$BENCH/../../redis-store/src/main/resources/dev/tether/store/record/save.lua
ROUNDS=5
N=100000
OUT=/dev/stdout
for a in "$@"; do
  case $a in
    --rounds=*) ROUNDS=${a#--rounds=} ;;
    --out=*) OUT=${a#--out=} ;;
    *) echo "script-cost.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-cli awk; do
  command -v $tool >/dev/null || { echo "script-cost.sh: '$tool' is not on the PATH" >&2; exit 1; }
done

WORK=$(mktemp -d)
PORT=
for _ in $(seq 20); do
  p=$((20000 + RANDOM % 20000))
  if ! redis-cli -p $p ping >/dev/null 2>&1; then PORT=$p; break; fi
done
[[ -n $PORT ]] || { echo "script-cost.sh: no free port found" >&2; exit 1; }
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize yes \
  --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
trap 'redis-cli -p $PORT shutdown nosave >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
R=(redis-cli -p "$PORT")

SAVE=$("${R[@]}" script load "$(cat "$SAVE_LUA")")
EMPTY=$("${R[@]}" script load "return {'OK', 1}")

# RESP commands, one per line of fields (awk writes the protocol). A write as Tether sends it for one
# changed attribute: record and tombstone keys, node, base, mode, ttl, #sets, #dels, then the sets.
resp() { awk '{ printf "*%d\r\n", NF; for (i = 1; i <= NF; i++) printf "$%d\r\n%s\r\n", length($i), $i }'; }
awk -v n=$N 'BEGIN { for (i = 0; i < n; i++) print "SET bench:floor:0123456789abcdef " i }' | resp > "$WORK/set"
write_args() { # $1 sha; base i, the version Redis holds when it arrives
  awk -v n=$N -v sha="$1" 'BEGIN { for (i = 0; i < n; i++)
    print "EVALSHA " sha " 2 s:0123456789abcdef s:0123456789abcdef:gone node1 " i " d 0 4 0 a:counter I" i \
      " m:a:counter " i + 1 ":node1 ver " i + 1 " lastAccessed 1764000000000" }' | resp
}
write_args "$SAVE" > "$WORK/save"
write_args "$EMPTY" > "$WORK/empty"

usec() { # $1 file, $2 command name in commandstats
  "${R[@]}" config resetstat >/dev/null
  "${R[@]}" --pipe < "$1" >/dev/null
  "${R[@]}" info commandstats | tr -d '\r' | awk -F'[=,]' -v c="cmdstat_$2:calls" '$1 == c { print $6 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: > "$WORK/set.us"; : > "$WORK/empty.us"; : > "$WORK/save.us"
for _ in $(seq "$ROUNDS"); do
  usec "$WORK/set" set >> "$WORK/set.us"
  usec "$WORK/empty" evalsha >> "$WORK/empty.us"
  "${R[@]}" del s:0123456789abcdef >/dev/null
  "${R[@]}" hset s:0123456789abcdef ver 0 >/dev/null
  usec "$WORK/save" evalsha >> "$WORK/save.us"
  [[ $("${R[@]}" hget s:0123456789abcdef ver) == "$N" ]] || { echo "script-cost.sh: save.lua did not write every delta" >&2; exit 1; }
done
SET_US=$(median < "$WORK/set.us")
EMPTY_US=$(median < "$WORK/empty.us")
SAVE_US=$(median < "$WORK/save.us")
{
  echo "Redis $("${R[@]}" info server | tr -d '\r' | awk -F: '$1 == "redis_version" { print $2 }'), $(nproc) cores," \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg); $N commands per round, median of $ROUNDS rounds" \
    "(rounds: SET $(paste -sd/ "$WORK/set.us"), empty script $(paste -sd/ "$WORK/empty.us"), save.lua $(paste -sd/ "$WORK/save.us"))."
  echo
  echo "| command | Redis execution µs per call |"
  echo "|---|---:|"
  echo "| \`SET\` (the floor variants) | $SET_US |"
  echo "| empty script, a write's arguments | $EMPTY_US |"
  echo "| \`save.lua\`, one changed attribute | $SAVE_US |"
} > "$OUT"
