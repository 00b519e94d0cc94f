#!/usr/bin/env bash
# Runs the test suite and, when it fails, repeats every failure line at the end: CI
# logs are often read from the tail, and Swift Testing's summary does not name the test.
#
# Without arguments the RocksDB suite runs first, on its own: its memory-budget test
# depends on how fast memtables flush, which the other suites' parallel disk and CPU load
# (stores, mock brokers) would skew. Then the exactly-once crash proof runs over
# CHAOS_SEEDS seeds (default 1000; 0 skips it), and the word-count sample is SIGKILLed
# and restarted CHAOS_KILLS times (default 20; 0 skips it). Arguments go to one
# `swift test` run as they are.
set -uo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests || exit $?
for product in streams-chaos embedded-kafka word-count; do
    swift build --product "$product" || exit $?
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ "$#" -eq 0 ]; then
    swift test --skip-build --filter RocksDBTests 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    swift test --skip-build --skip RocksDBTests 2>&1 | tee -a "$log"
    rest=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] && status=$rest
    seeds=${CHAOS_SEEDS:-1000}
    if [ "$seeds" -gt 0 ]; then
        echo "streams-chaos sim --seeds $seeds"
        .build/debug/streams-chaos sim --seeds "$seeds" 2>&1 | tee -a "$log"
        chaos=${PIPESTATUS[0]}
        [ "$chaos" -ne 0 ] && echo "✘ streams-chaos sim failed (exit $chaos)" | tee -a "$log"
        [ "$status" -eq 0 ] && status=$chaos
    fi
    kills=${CHAOS_KILLS:-20}
    if [ "$kills" -gt 0 ]; then
        echo "streams-chaos kill --kills $kills"
        .build/debug/streams-chaos kill --kills "$kills" 2>&1 | tee -a "$log"
        killed=${PIPESTATUS[0]}
        [ "$killed" -ne 0 ] && echo "✘ streams-chaos kill failed (exit $killed)" | tee -a "$log"
        [ "$status" -eq 0 ] && status=$killed
    fi
else
    swift test --skip-build "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
fi
if [ "$status" -ne 0 ]; then
    echo "---- failures ----"
    grep -E '✘|error:|Fatal error|Crash' "$log" || echo "(no failure lines; exit status $status)"
fi
exit "$status"
