#!/usr/bin/env bash
# make run: builds the samples and runs them on the embedded broker, one after the other.
#
# The samples build apart from the tests, in .build/samples, without debug info or an
# index store: a newcomer's first run compiles the library a fifth faster, and `make test`
# keeps its own debug build in .build. Once the first sample is built it runs while the
# others build in the background (a sample mostly waits on the broker's group join), and
# each sample runs as soon as its own build is done. Each argument is a sample to run, in
# order, with its own arguments after its name (`make replay`: "orders-dashboard --replay").
set -euo pipefail
cd "$(dirname "$0")/.."
runs=("$@")
[ "${#runs[@]}" -gt 0 ] || runs=(click-events word-count orders-dashboard fraud-alerts)
samples=()
for run in "${runs[@]}"; do samples+=("${run%% *}"); done
scratch=.build/samples
build() { swift build --scratch-path "$scratch" --disable-index-store -Xswiftc -gnone --product "$1"; }

build "${samples[0]}"
mkdir -p "$scratch/make-run"
rm -f "$scratch/make-run/"*
log="$scratch/make-run/builds.log"
# The other samples build one at a time (SwiftPM locks its build directory); each marks
# itself built, or the chain stops and marks the failure.
(
    for sample in "${samples[@]:1}"; do
        if build "$sample"; then touch "$scratch/make-run/$sample.built"; else touch "$scratch/make-run/failed"; exit 1; fi
    done
) > "$log" 2>&1 &
builds=$!
trap 'kill "$builds" 2>/dev/null || true' EXIT

for index in "${!runs[@]}"; do
    sample=${samples[$index]}
    read -r -a arguments <<< "${runs[$index]#"$sample"}"
    if [ "$index" -gt 0 ]; then
        # Waits for a file the background build writes (the build's own end, not a time).
        while [ ! -e "$scratch/make-run/$sample.built" ]; do
            if [ -e "$scratch/make-run/failed" ] || { ! kill -0 "$builds" 2>/dev/null && [ ! -e "$scratch/make-run/$sample.built" ]; }; then
                cat "$log"
                echo "make run: building $sample failed" >&2
                exit 1
            fi
            sleep 0.2
        done
    fi
    "$scratch/debug/$sample" ${arguments[@]+"${arguments[@]}"}
done
wait "$builds"
