#!/usr/bin/env bash
# Installs the system libraries the package links (librdkafka, RocksDB) when they are
# missing: apt on Debian/Ubuntu (sudo when not root), Homebrew on macOS. The Swift
# toolchain (6.0 or later) is a prerequisite: see https://swift.org/install.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift toolchain (6.0+) is not on PATH; install it first (https://swift.org/install)" >&2
    exit 1
fi

case "$(uname -s)" in
Darwin)
    missing=()
    for formula in pkg-config librdkafka rocksdb; do
        brew list --versions "$formula" >/dev/null 2>&1 || missing+=("$formula")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing with Homebrew: ${missing[*]}"
        brew install "${missing[@]}"
    fi
    ;;
Linux)
    missing=()
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    pkg-config --exists rdkafka 2>/dev/null || missing+=(librdkafka-dev)
    pkg-config --exists rocksdb 2>/dev/null || missing+=(librocksdb-dev)
    # The RocksDB shim is C++: Swift's clang needs libstdc++'s headers, which g++ brings.
    command -v g++ >/dev/null 2>&1 || missing+=(g++)
    if [ ${#missing[@]} -gt 0 ]; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "error: missing ${missing[*]} and no apt-get: install librdkafka (2.0+), RocksDB (7+) and pkg-config yourself" >&2
            exit 1
        fi
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "Installing with apt-get: ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    ;;
*)
    echo "error: unsupported system $(uname -s); install librdkafka, RocksDB and pkg-config yourself" >&2
    exit 1
    ;;
esac
