/// The keys of a store layer's dictionary in byte order, so a range scan over that layer
/// costs a binary search and its results rather than a pass over every key. Window and
/// session stores scan a key's few windows on every record, with thousands of writes held
/// in the record cache and pending for RocksDB.
///
/// Two sorted runs: the long one, and a short one of recent insertions that is merged in
/// once it outgrows the square root of the long one, so an insertion moves few references
/// (amortized) and a scan searches two runs. Removed keys (``remove(_:)``) stay in the runs,
/// skipped, until they are as many as the live ones.
struct SortedKeyIndex {
    private var long: [StoreKeyBytes]
    private var recent: [StoreKeyBytes] = []
    /// Keys still in the runs that the index no longer holds.
    private var removed: Set<StoreKeyBytes> = []

    /// An index of `keys`, which are distinct.
    init(_ keys: some Sequence<StoreKeyBytes>) {
        long = keys.sorted()
    }

    /// How many keys the index holds.
    var count: Int { long.count + recent.count - removed.count }

    /// Adds `key`, which the index does not hold.
    mutating func insert(_ key: StoreKeyBytes) {
        // A removed key is still in its run, in place.
        if !removed.isEmpty, removed.remove(key) != nil { return }
        recent.insert(key, at: Self.firstIndex(notBelow: key, in: recent))
        if recent.count * recent.count > max(long.count, 4096) { mergeRecent() }
    }

    /// Drops `key`, which the index holds.
    mutating func remove(_ key: StoreKeyBytes) {
        removed.insert(key)
        if removed.count * 2 > long.count + recent.count { compact() }
    }

    /// The keys with `lower <= key <= upper` (`nil`: unbounded), in byte order.
    func keys(from lower: [UInt8]?, through upper: [UInt8]?) -> [StoreKeyBytes] {
        let last = upper.map(StoreKeyBytes.init)
        return keys(from: lower) { key in last.map { !($0 < key) } ?? true }
    }

    /// The keys that start with `prefix`, in byte order.
    func keys(withPrefix prefix: [UInt8]) -> [StoreKeyBytes] {
        keys(from: prefix) { $0.bytes.hasBytePrefix(prefix) }
    }

    /// The keys from `lower` on while `continues` holds, merged from both runs.
    private func keys(from lower: [UInt8]?, while continues: (StoreKeyBytes) -> Bool) -> [StoreKeyBytes] {
        let start = lower.map(StoreKeyBytes.init)
        var l = start.map { Self.firstIndex(notBelow: $0, in: long) } ?? 0
        var r = start.map { Self.firstIndex(notBelow: $0, in: recent) } ?? 0
        var found: [StoreKeyBytes] = []
        while true {
            let next: StoreKeyBytes
            if l < long.count, r == recent.count || long[l] < recent[r] {
                next = long[l]
                l += 1
            } else if r < recent.count {
                next = recent[r]
                r += 1
            } else {
                break
            }
            guard continues(next) else { break }
            if removed.isEmpty || !removed.contains(next) { found.append(next) }
        }
        return found
    }

    private mutating func mergeRecent() {
        var merged: [StoreKeyBytes] = []
        merged.reserveCapacity(long.count + recent.count)
        var l = 0
        var r = 0
        while l < long.count || r < recent.count {
            if l < long.count, r == recent.count || long[l] < recent[r] {
                merged.append(long[l])
                l += 1
            } else {
                merged.append(recent[r])
                r += 1
            }
        }
        long = merged
        recent.removeAll(keepingCapacity: true)
    }

    private mutating func compact() {
        mergeRecent()
        long.removeAll { removed.contains($0) }
        removed.removeAll()
    }

    /// The position of the first key of `run` at or after `key`.
    private static func firstIndex(notBelow key: StoreKeyBytes, in run: [StoreKeyBytes]) -> Int {
        var low = 0
        var high = run.count
        while low < high {
            let middle = (low + high) / 2
            if run[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension Array where Element == (key: [UInt8], value: [UInt8]) {
    /// These entries (in byte order) with `writes` (in byte order; a `nil` value deletes)
    /// applied on top, in byte order.
    func overlaid(with writes: [(key: StoreKeyBytes, value: [UInt8]?)]) -> Self {
        guard !writes.isEmpty else { return self }
        var merged: Self = []
        merged.reserveCapacity(count + writes.count)
        var stored = 0
        for write in writes {
            let key = write.key
            while stored < count, StoreKeyBytes(self[stored].key) < key {
                merged.append(self[stored])
                stored += 1
            }
            // A write replaces the stored entry of its key.
            if stored < count, StoreKeyBytes(self[stored].key) == key { stored += 1 }
            if let value = write.value { merged.append((key: key.bytes, value: value)) }
        }
        merged.append(contentsOf: self[stored...])
        return merged
    }
}
