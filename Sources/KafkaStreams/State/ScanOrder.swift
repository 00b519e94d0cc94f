/// A layer's ``SortedKeyIndex``, kept only while scans use it: built by a scan, updated
/// by the insertions and removals that follow, and dropped once more keys were inserted
/// since the last scan than it holds, since rebuilding it at the next scan then costs
/// less than keeping it up to date did. A session store that scans on every record keeps
/// its index; a window store that scans once per segment of time does not pay for one
/// between its scans.
struct ScanOrder {
    private var index: SortedKeyIndex?
    private var insertsSinceScan = 0

    /// The keys in byte order, built from `keys` (the layer's keys, distinct) when needed.
    mutating func index(of keys: () -> some Sequence<StoreKeyBytes>) -> SortedKeyIndex {
        insertsSinceScan = 0
        if let index { return index }
        let built = SortedKeyIndex(keys())
        index = built
        return built
    }

    /// The keys with `lower <= key < upper` among `keys` (the layer's), unordered: from the
    /// index when scans keep one, else by one pass over them, which costs less than
    /// sorting them all for a rare range deletion (a window store's expired segment).
    func keys(from lower: [UInt8], before upper: [UInt8], among keys: some Sequence<StoreKeyBytes>) -> [StoreKeyBytes] {
        if let index { return index.keys(from: lower, before: upper) }
        let first = StoreKeyBytes(lower)
        let end = StoreKeyBytes(upper)
        return keys.filter { !($0 < first) && $0 < end }
    }

    /// `key` was added to the layer.
    mutating func inserted(_ key: StoreKeyBytes) {
        guard index != nil else { return }
        insertsSinceScan += 1
        if insertsSinceScan > max(index!.count, 1024) {
            index = nil
        } else {
            index!.insert(key)
        }
    }

    /// `key` left the layer.
    mutating func removed(_ key: StoreKeyBytes) {
        index?.remove(key)
    }

    /// The layer was emptied.
    mutating func reset() {
        index = nil
        insertsSinceScan = 0
    }
}
