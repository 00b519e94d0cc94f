#!/usr/bin/env bash
# Runs the test suite and, when it fails, repeats every failure line at the end: CI
# logs are often read from the tail, and Swift Testing's summary does not name the test.
#
# Without arguments the RocksDB suite runs first, on its own: its memory-budget test
# depends on how fast memtables flush, which the other suites' parallel disk and CPU load
# (stores, mock brokers) would skew. MemoryTests run on their own too, since they bound
# the process's resident memory. Then the service sample's tests run (Samples/Service, a
# package of its own), and the DocC documentation is built with its warnings as
# errors (a broken symbol link fails the run). Then the exactly-once crash proof runs over
# CHAOS_SEEDS seeds (default 250; 0 skips it), and the word-count sample is SIGKILLed
# and restarted CHAOS_KILLS times (default 20; 0 skips it). Arguments go to one
# `swift test` run as they are.
set -uo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests || exit $?
for product in streams-chaos embedded-kafka word-count streams-reset; do
    swift build --product "$product" || exit $?
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# run_chaos SUBCOMMAND FLAG COUNT: one streams-chaos run (skipped when COUNT is 0), logged;
# its failure becomes the script's status unless an earlier step failed first.
run_chaos() {
    [ "$3" -gt 0 ] || return 0
    echo "streams-chaos $*"
    .build/debug/streams-chaos "$@" 2>&1 | tee -a "$log"
    local chaos=${PIPESTATUS[0]}
    [ "$chaos" -ne 0 ] && echo "✘ streams-chaos $1 failed (exit $chaos)" | tee -a "$log"
    [ "$status" -eq 0 ] && status=$chaos
    return 0
}
if [ "$#" -eq 0 ]; then
    swift test --skip-build --filter RocksDBTests 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    swift test --skip-build --filter MemoryTests 2>&1 | tee -a "$log"
    memory=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] && status=$memory
    swift test --skip-build --skip RocksDBTests --skip MemoryTests 2>&1 | tee -a "$log"
    rest=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] && status=$rest
    # The service sample is a package of its own (an HTTP server the library does not
    # build): its endpoint tests run here, after the library's.
    make --no-print-directory service-test 2>&1 | tee -a "$log"
    service=${PIPESTATUS[0]}
    [ "$service" -ne 0 ] && echo "✘ the service sample's tests failed (exit $service)" | tee -a "$log"
    [ "$status" -eq 0 ] && status=$service
    make --no-print-directory docs 2>&1 | tee -a "$log"
    docs=${PIPESTATUS[0]}
    [ "$docs" -ne 0 ] && echo "✘ the documentation did not build (exit $docs)" | tee -a "$log"
    [ "$status" -eq 0 ] && status=$docs
    run_chaos sim --seeds "${CHAOS_SEEDS:-250}"
    run_chaos kill --kills "${CHAOS_KILLS:-20}"
else
    swift test --skip-build "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
fi
if [ "$status" -ne 0 ]; then
    echo "---- failures ----"
    grep -E '✘|error:|Fatal error|Crash' "$log" || echo "(no failure lines; exit status $status)"
fi
exit "$status"
