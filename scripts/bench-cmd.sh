#!/usr/bin/env bash
# One command's throughput, tandem vs redis-server side by side, alternating rounds.
#   scripts/bench-cmd.sh PIPELINE ROUNDS [redis-benchmark options --] command args...
# e.g. scripts/bench-cmd.sh 16 5 -r 100000 -- bitfield bf:__rand_int__ INCRBY i5 100 1 GET u4 0
# Prints each round and the ratio of the medians (ours / redis). BIN overrides the binary;
# SERVER_ARGS adds options to both servers, e.g. SERVER_ARGS="--appendonly yes"; SETUP is a
# redis-cli command run on both before the rounds, e.g. SETUP="script load 'return 1'".
set -euo pipefail
P=$1; ROUNDS=$2; shift 2
opts=()
if [[ " $* " == *" -- "* ]]; then
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
fi
BIN=${BIN:-target/release/tandem}
dir=$(mktemp -d)
# shellcheck disable=SC2086
start() { mkdir -p "$dir/$2"; "$1" --port "$2" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir/$2" ${SERVER_ARGS:-} >"$dir/$2.log" 2>&1 & echo $!; }
PO=$((20000 + RANDOM % 5000)); PR=$((PO + 1))
po=$(start "$BIN" $PO); pr=$(start /usr/bin/redis-server $PR)
trap 'kill $po $pr 2>/dev/null; rm -rf "$dir"' EXIT
for p in $PO $PR; do for _ in $(seq 50); do redis-cli -p $p ping >/dev/null 2>&1 && break; sleep 0.1; done; done
if [ -n "${SETUP:-}" ]; then
  for p in $PO $PR; do eval "redis-cli -p $p $SETUP" >/dev/null; done
fi
ours=(); theirs=()
rate() { redis-benchmark -p "$1" -n 200000 -c 50 -P "$P" "${opts[@]}" -q "${@:2}" | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -n 1 | cut -d' ' -f1; }
for r in $(seq "$ROUNDS"); do
  a=$(rate $PO "$@"); b=$(rate $PR "$@"); ours+=("$a"); theirs+=("$b")
  echo "round $r: ours $a redis $b"
done
python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import sys, statistics
o = [float(x) for x in sys.argv[1].split()]; r = [float(x) for x in sys.argv[2].split()]
mo, mr = statistics.median(o), statistics.median(r)
print(f"median ours {mo:.0f} redis {mr:.0f} ratio {mo/mr:.2f}")
PY
