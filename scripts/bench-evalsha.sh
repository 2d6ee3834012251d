#!/usr/bin/env bash
# EVALSHA throughput, tandem vs redis-server side by side, alternating rounds.
#   scripts/bench-evalsha.sh [PIPELINE] [ROUNDS] [BIN]
# Runs `redis-benchmark -n 200000 -c 50 -P PIPELINE evalsha <sha> 1 key` for
# `return redis.call('incr', KEYS[1])` (issue 12's figure) and prints each round and the
# ratio of the medians (ours / redis).
set -euo pipefail
P=${1:-16}; ROUNDS=${2:-5}; BIN=${3:-target/release/tandem}
SCRIPT="return redis.call('incr', KEYS[1])"
dir=$(mktemp -d)
start() { "$1" --port "$2" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/$2.log" 2>&1 & echo $!; }
PO=$((20000 + RANDOM % 5000)); PR=$((PO + 1))
po=$(start "$BIN" $PO); pr=$(start /usr/bin/redis-server $PR)
trap 'kill $po $pr 2>/dev/null; rm -rf "$dir"' EXIT
for p in $PO $PR; do for _ in $(seq 50); do redis-cli -p $p ping >/dev/null 2>&1 && break; sleep 0.1; done; done
sha=$(redis-cli -p $PO script load "$SCRIPT"); redis-cli -p $PR script load "$SCRIPT" >/dev/null
ours=(); theirs=()
rate() { redis-benchmark -p "$1" -n 200000 -c 50 -P "$P" -q evalsha "$sha" 1 key | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -n 1 | cut -d' ' -f1; }
for r in $(seq "$ROUNDS"); do
  a=$(rate $PO); b=$(rate $PR); ours+=("$a"); theirs+=("$b")
  echo "round $r: ours $a redis $b"
done
python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import sys, statistics
o = [float(x) for x in sys.argv[1].split()]; r = [float(x) for x in sys.argv[2].split()]
mo, mr = statistics.median(o), statistics.median(r)
print(f"median ours {mo:.0f} redis {mr:.0f} ratio {mo/mr:.2f}")
PY
