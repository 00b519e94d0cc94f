/// The keys of a store layer's dictionary in byte order, so a range scan over that layer
/// costs a binary search and its results rather than a pass over every key. Window and
/// session stores scan a key's few windows on every record, with thousands of writes held
/// in the record cache and pending for RocksDB.
///
/// A sorted list of short sorted chunks (each under ``maximumChunk`` keys), found by their
/// last keys: an insertion or removal searches twice and moves at most one chunk's
/// references, whatever the number of keys.
struct SortedKeyIndex {
    private var chunks: [[StoreKeyBytes]] = []
    /// The last key of each chunk.
    private var lastKeys: [StoreKeyBytes] = []
    private(set) var count = 0

    private static let maximumChunk = 512

    /// An index of `keys`, which are distinct.
    init(_ keys: some Sequence<StoreKeyBytes>) {
        let sorted = keys.sorted()
        count = sorted.count
        var start = 0
        while start < sorted.count {
            let end = min(start + Self.maximumChunk / 2, sorted.count)
            chunks.append(Array(sorted[start..<end]))
            lastKeys.append(sorted[end - 1])
            start = end
        }
    }

    /// Adds `key`, which the index does not hold.
    mutating func insert(_ key: StoreKeyBytes) {
        count += 1
        guard !chunks.isEmpty else {
            chunks = [[key]]
            lastKeys = [key]
            return
        }
        // The chunk that ends at or after the key, or the last one for a new largest key.
        let chunk = min(Self.firstIndex(notBelow: key, in: lastKeys), chunks.count - 1)
        let position = Self.firstIndex(notBelow: key, in: chunks[chunk])
        chunks[chunk].insert(key, at: position)
        if position == chunks[chunk].count - 1 { lastKeys[chunk] = key }
        if chunks[chunk].count >= Self.maximumChunk { split(chunk) }
    }

    /// Drops `key`, which the index holds.
    mutating func remove(_ key: StoreKeyBytes) {
        let chunk = Self.firstIndex(notBelow: key, in: lastKeys)
        guard chunk < chunks.count else { return }
        let position = Self.firstIndex(notBelow: key, in: chunks[chunk])
        guard position < chunks[chunk].count, chunks[chunk][position] == key else { return }
        count -= 1
        chunks[chunk].remove(at: position)
        if chunks[chunk].isEmpty {
            chunks.remove(at: chunk)
            lastKeys.remove(at: chunk)
        } else if position == chunks[chunk].count {
            lastKeys[chunk] = chunks[chunk][position - 1]
        }
    }

    /// The keys with `lower <= key <= upper` (`nil`: unbounded), in byte order.
    func keys(from lower: [UInt8]?, through upper: [UInt8]?) -> [StoreKeyBytes] {
        let last = upper.map(StoreKeyBytes.init)
        return keys(from: lower) { key in last.map { !($0 < key) } ?? true }
    }

    /// The keys with `lower <= key < upper`, in byte order.
    func keys(from lower: [UInt8], before upper: [UInt8]) -> [StoreKeyBytes] {
        let end = StoreKeyBytes(upper)
        return keys(from: lower) { $0 < end }
    }

    /// The keys that start with `prefix`, in byte order.
    func keys(withPrefix prefix: [UInt8]) -> [StoreKeyBytes] {
        keys(from: prefix) { $0.bytes.hasBytePrefix(prefix) }
    }

    /// The keys from `lower` on while `continues` holds.
    private func keys(from lower: [UInt8]?, while continues: (StoreKeyBytes) -> Bool) -> [StoreKeyBytes] {
        let start = lower.map(StoreKeyBytes.init)
        var chunk = start.map { Self.firstIndex(notBelow: $0, in: lastKeys) } ?? 0
        guard chunk < chunks.count else { return [] }
        var position = start.map { Self.firstIndex(notBelow: $0, in: chunks[chunk]) } ?? 0
        var found: [StoreKeyBytes] = []
        while chunk < chunks.count {
            let keys = chunks[chunk]
            while position < keys.count {
                guard continues(keys[position]) else { return found }
                found.append(keys[position])
                position += 1
            }
            chunk += 1
            position = 0
        }
        return found
    }

    private mutating func split(_ chunk: Int) {
        let half = chunks[chunk].count / 2
        let upper = Array(chunks[chunk][half...])
        chunks[chunk].removeSubrange(half...)
        lastKeys[chunk] = chunks[chunk][half - 1]
        chunks.insert(upper, at: chunk + 1)
        lastKeys.insert(upper[upper.count - 1], at: chunk + 1)
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
            while stored < count, StoreKeyBytes.compare(self[stored].key, key.bytes) < 0 {
                merged.append(self[stored])
                stored += 1
            }
            // A write replaces the stored entry of its key.
            if stored < count, StoreKeyBytes.compare(self[stored].key, key.bytes) == 0 { stored += 1 }
            if let value = write.value { merged.append((key: key.bytes, value: value)) }
        }
        merged.append(contentsOf: self[stored...])
        return merged
    }
}
