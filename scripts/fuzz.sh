#!/usr/bin/env bash
# The long fuzz pass: every target of tests/fuzz.rs for the given seconds each (default 60),
# in release mode, then the inputs run per target and their total.
#   scripts/fuzz.sh [secs-per-target] [target,target,...]
# A failure leaves the input in tests/fuzz-corpus/<target>/crash-<hash> (a regression case
# from then on) and prints the arbtest seed that reproduces it.
set -uo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
log="$(mktemp -t tandem-fuzz.XXXXXX)"
export TANDEM_FUZZ_SECS="$secs"
if [ -n "${2:-}" ]; then export TANDEM_FUZZ_TARGETS="$2"; fi
cargo test --release --test fuzz -- --nocapture --test-threads=1 2>&1 | tee "$log" | grep -E '^fuzz|^test result|panicked|failed' | cut -c1-300
status=${PIPESTATUS[0]}
echo
echo "inputs per target:"
grep -E '^fuzz [a-z_]+ +[0-9]+ inputs' "$log" | awk '$2 != "total" {printf "  %-13s %12d\n", $2, $3; t += $3} END {printf "  %-13s %12d\n", "total", t}'
echo "full output: $log"
exit "$status"
