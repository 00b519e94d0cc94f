#!/usr/bin/env bash
# Runs the test suite and, when it fails, repeats every failure line at the end: CI
# logs are often read from the tail, and Swift Testing's summary does not name the test.
set -uo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests || exit $?
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift test --skip-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo "---- failures ----"
    grep -E '✘|error:|Fatal error|Crash' "$log" || echo "(no failure lines; exit status $status)"
fi
exit "$status"
