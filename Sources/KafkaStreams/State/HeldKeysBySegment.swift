/// A segmented store's held keys grouped by segment: the keys' first eight bytes, a
/// big-endian number (window and session store keys). Expiring a segment is a range
/// deletion of whole segments; with the keys grouped, it looks at the expired segments'
/// keys only, instead of every key the cache holds, however many segments a large cache
/// or a long commit interval keeps there.
///
/// Keys are added when first held and leave only with their group (or all at once at a
/// flush): a group may still name a key the cache dropped since, or name it twice after
/// it was held again, so the caller skips keys it no longer holds.
struct HeldKeysBySegment {
    private var groups: [UInt64: [StoreKeyBytes]] = [:]

    /// `key` is now held.
    mutating func add(_ key: StoreKeyBytes) {
        groups[Self.segment(of: key.bytes), default: []].append(key)
    }

    /// Takes out the grouped keys with `lower <= key < upper`, unordered.
    mutating func removeKeys(from lower: [UInt8], before upper: [UInt8]) -> [StoreKeyBytes] {
        let first = StoreKeyBytes(lower)
        let end = StoreKeyBytes(upper)
        // A key in the range has a segment between those of the bounds (a bound shorter
        // than eight bytes counts as padded with zeros, which keeps both comparisons true).
        let (low, high) = (Self.segment(of: lower), Self.segment(of: upper))
        guard low <= high else { return [] }
        let segments = low...high
        // A bound that is its segment's first key (the segment, then only zeros) is at or
        // below every key of that segment at least as long as the bound. Expiry's bounds
        // are such keys, so the keys it drops need no comparing; only a shorter key does.
        let wholeLow = Self.isFirstKey(lower)
        let wholeHigh = Self.isFirstKey(upper)
        var taken: [StoreKeyBytes] = []
        // The groups are few (the segments written since the last flush).
        for segment in groups.keys.filter(segments.contains) {
            guard let keys = groups.removeValue(forKey: segment) else { continue }
            if segment > low && segment < high {
                taken += keys
                continue
            }
            var kept: [StoreKeyBytes] = []
            for key in keys {
                let atOrAboveLower = segment > low || (wholeLow && key.bytes.count >= lower.count) || !(key < first)
                let belowUpper = segment < high || !(wholeHigh && key.bytes.count >= upper.count) && key < end
                if atOrAboveLower && belowUpper { taken.append(key) } else { kept.append(key) }
            }
            if !kept.isEmpty { groups[segment] = kept }
        }
        return taken
    }

    /// Whether `bound` is the first key of its segment: nothing but zeros after the segment.
    private static func isFirstKey(_ bound: [UInt8]) -> Bool {
        bound.dropFirst(8).allSatisfy { $0 == 0 }
    }

    /// The cache holds nothing now.
    mutating func removeAll() { groups.removeAll(keepingCapacity: true) }

    /// The first eight bytes of `bytes` as a big-endian number, zeros past their end:
    /// ordered as the bytes are.
    private static func segment(of bytes: [UInt8]) -> UInt64 {
        var segment: UInt64 = 0
        for index in 0..<8 {
            segment = segment << 8 | UInt64(index < bytes.count ? bytes[index] : 0)
        }
        return segment
    }
}
