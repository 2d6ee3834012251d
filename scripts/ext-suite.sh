#!/bin/bash
# usage: ext.sh BIN file...   -> runs unit files in external mode against a fresh BIN server
BIN=$1; shift
PORT=$((20000 + RANDOM % 20000))
D=$(mktemp -d)
$BIN --port $PORT --save "" --dir $D --enable-debug-command yes --enable-protected-configs yes > $D/log 2>&1 &
PID=$!
sleep 0.5
args=()
for f in "$@"; do args+=(--single "$f"); done
timeout 400 /work/shared/redis-suite/run.sh external $PORT --baseport $((10000 + RANDOM % 9000)) "${args[@]}" > $D/out 2>&1
sed 's/\x1b\[[0-9;]*m//g' $D/out > $D/clean
echo "ok=$(grep -c '^\[ok\]' $D/clean) err=$(grep -cE '^\[(err|exception)\]' $D/clean) $(grep -q 'All tests passed' $D/clean && echo PASSED)"
grep -E '^\[(err|exception)\]' -A3 $D/clean | head -40
kill $PID 2>/dev/null
echo "out: $D/clean"
