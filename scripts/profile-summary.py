#!/usr/bin/env python3
"""Summarizes a `perf record` profile of one thread: its share of the process's samples,
its top symbols, and the share of its samples spent in Swift's generic-metadata lookups,
dynamic casts and existential opens (the runtime calls specialized code does not make).

    perf record -e cpu-clock -F 2000 -o wc.data .build/release/streams-bench wordcount
    scripts/profile-summary.py wc.data [--thread StreamThread-1] [--top 25]
"""
import argparse
import collections
import re
import subprocess

# Swift runtime entry points (and their internals) that unspecialized generic code calls
# per operation: metadata instantiation and caches, witness lookups, casts, existentials.
RUNTIME_PATTERNS = [
    r"swift_getGenericMetadata", r"getCache\b", r"MetadataCacheKey", r"GenericCacheEntry",
    r"MetadataCacheEntryBase", r"swift_getAssociatedType", r"swift_getAssociatedConformance",
    r"ConformanceCache", r"swift_conformsToProtocol", r"tryCast", r"swift_dynamicCast",
    r"swift_getWitnessTable", r"swift_checkMetadataState", r"swift_getTupleTypeMetadata",
    r"swift_getFunctionTypeMetadata", r"swift_getExistentialTypeMetadata",
    r"swift_getExtendedExistentialTypeMetadata", r"_project_boxed_opaque_existential",
    r"swift_getCanonicalSpecializedMetadata", r"swift_instantiateConcreteTypeFromMangledName",
    r"swift_getTypeByMangledName", r"swift_getOpaqueTypeMetadata",
]
RUNTIME = re.compile("|".join(RUNTIME_PATTERNS))
# `perf script -F comm,ip,sym`: the thread name, the address, the symbol (may hold spaces).
SAMPLE = re.compile(r"^\s*(.*?)\s+[0-9a-f]+\s+(.*?)\s*$")


def samples(data):
    """(comm, symbol) -> samples, from `perf script`."""
    out = subprocess.run(["perf", "script", "-G", "-i", data, "-F", "comm,ip,sym"], capture_output=True, text=True, check=True).stdout
    counts = collections.Counter()
    for line in out.splitlines():
        match = SAMPLE.match(line)
        if match:
            counts[(match.group(1), match.group(2))] += 1
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--thread", default="StreamThread-1")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    counts = samples(args.data)
    total = sum(counts.values())
    thread = collections.Counter({symbol: n for (comm, symbol), n in counts.items() if comm == args.thread})
    in_thread = sum(thread.values())
    if in_thread == 0:
        raise SystemExit(f"no samples of thread {args.thread}")
    runtime = sum(n for symbol, n in thread.items() if RUNTIME.search(symbol))
    print(f"{args.thread}: {in_thread} of {total} samples ({100 * in_thread / total:.1f}% of the process)")
    print(f"generic-metadata lookups, dynamic casts, existential opens: {runtime} samples, "
          f"{100 * runtime / in_thread:.2f}% of the thread")
    print(f"top {args.top} symbols of the thread (% of the thread):")
    for symbol, n in thread.most_common(args.top):
        print(f"  {100 * n / in_thread:5.2f}%  {symbol}")


if __name__ == "__main__":
    main()
