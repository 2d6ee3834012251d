#!/usr/bin/env bash
# The test command: installs test dependencies, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-test-deps.sh
python3 scripts/check-module-cycles.py
cargo build --release --bins
cargo test --release -- --test-threads=2
