#!/usr/bin/env bash
# EVALSHA throughput, tandem vs redis-server side by side, alternating rounds.
#   scripts/bench-evalsha.sh [PIPELINE] [ROUNDS] [BIN]
# Runs `redis-benchmark -n 200000 -c 50 -P PIPELINE evalsha <sha> 1 key` for
# `return redis.call('incr', KEYS[1])` (issue 12's figure) through scripts/bench-cmd.sh, the
# script loaded on both servers first, and prints each round and the ratio of the medians.
set -euo pipefail
P=${1:-16}; ROUNDS=${2:-5}
export BIN=${3:-${BIN:-target/release/tandem}}
SCRIPT="return redis.call('incr', KEYS[1])"
sha=$(printf '%s' "$SCRIPT" | sha1sum | cut -d' ' -f1)
SETUP="script load \"$SCRIPT\"" exec "$(dirname "$0")/bench-cmd.sh" "$P" "$ROUNDS" evalsha "$sha" 1 key
