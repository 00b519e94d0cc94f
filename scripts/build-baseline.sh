#!/usr/bin/env bash
# Builds streams-bench (release) with the library of an earlier commit, in a scratch
# worktree, for the benchmarks that compare this build with an earlier one in the same run:
#
#   scripts/build-baseline.sh c973e15            # prints the binary's path
#   .build/release/streams-bench wordcount --rounds 5 --baseline-binary "$(scripts/build-baseline.sh c973e15)"
#
# The benchmark harness (Benchmarks/) is this commit's, so both sides measure the same
# way and only the library differs; it uses the library's public API only.
# The worktree lives in ${BASELINE_DIR:-/tmp/streams-baseline-<commit>}; remove it with
# `git worktree remove --force <dir>`.
set -euo pipefail
cd "$(dirname "$0")/.."
revision=${1:?usage: scripts/build-baseline.sh <commit>}
commit=$(git rev-parse --verify "$revision^{commit}")
dir=${BASELINE_DIR:-/tmp/streams-baseline-${commit:0:12}}
if [ ! -d "$dir" ]; then
    git worktree add --detach "$dir" "$commit" >&2
fi
[ "$(git -C "$dir" rev-parse HEAD)" = "$commit" ] || { echo "$dir holds another commit; remove it first" >&2; exit 1; }
rm -rf "$dir/Benchmarks"
git archive HEAD Benchmarks | tar -x -C "$dir"
(cd "$dir" && swift build -c release --product streams-bench >&2)
echo "$dir/.build/release/streams-bench"
