#!/usr/bin/env bash
# tests/pg/run_contract.sh BUILD_DIR [TEST] — run the store contract suite
# (or TEST, a test program relative to BUILD_DIR, default
# tests/contract/test_store_contract) against a throw-away PostgreSQL
# cluster (tests/pg/pgtmp.sh): start it, run the program with
# PCHAT_TEST_STORE_URL set to it, stop and remove the cluster (also on
# failure or interruption), and exit with the program's status. One
# database for the whole run: the suite is written for a shared database
# (per-test name prefixes).
set -euo pipefail

build="${1:?usage: run_contract.sh BUILD_DIR [TEST]}"
prog="${2:-tests/contract/test_store_contract}"
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(cd "$build" && pwd)/$prog"
[ -x "$bin" ] || { echo "run_contract.sh: $bin not built" >&2; exit 2; }

dir="$(mktemp -d /tmp/pchat-pgcontract-XXXXXX)"
cleanup() { "$here/pgtmp.sh" stop "$dir" || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

url="$("$here/pgtmp.sh" start "$dir")"
echo "run_contract.sh: PostgreSQL at $url" >&2
status=0
PCHAT_TEST_STORE_URL="$url" "$bin" || status=$?
exit "$status"
