import Testing

@testable import KafkaStreams

/// The record cache's and the stores' dictionary key: its fingerprint must agree with its
/// bytes, whatever their length, or a lookup misses a held write.
@Suite struct StoreKeyBytesTests {
    @Test func equalBytesHaveEqualFingerprintsAndEveryLengthAndTailCounts() {
        // Lengths around the eight-byte words the fingerprint folds, with zero tails that
        // only the length tells apart.
        var keys: [[UInt8]] = []
        for length in 0...24 {
            keys.append([UInt8](repeating: 0, count: length))
            keys.append((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) })
        }
        keys.append([1, 2, 3, 4, 5, 6, 7, 8, 9])
        keys.append([1, 2, 3, 4, 5, 6, 7, 8, 10])
        let distinct = Set(keys)
        var table: [StoreKeyBytes: Int] = [:]
        for (index, key) in distinct.enumerated() { table[StoreKeyBytes(key)] = index }
        #expect(table.count == distinct.count, "no two different keys may be one entry")
        for (index, key) in distinct.enumerated() {
            #expect(table[StoreKeyBytes(Array(key))] == index, "a copy of the bytes finds the entry")
            #expect(StoreKeyBytes(key).fingerprint == StoreKeyBytes(Array(key)).fingerprint)
        }
        #expect(StoreKeyBytes([0]) != StoreKeyBytes([0, 0]))
        #expect(StoreKeyBytes([0]) < StoreKeyBytes([0, 0]))
        #expect(StoreKeyBytes([1]) > StoreKeyBytes([0, 9]))
    }

    @Test func manyKeysCopiedBetweenTablesStayFindable() {
        // Tables of different sizes hash with different seeds: copying one into another
        // must neither lose keys nor (with one probe order for all) crawl.
        let keys = (0..<50_000).map { index in withUnsafeBytes(of: Int64(index).bigEndian) { Array($0) } + [7] }
        var small: [StoreKeyBytes: Int] = [:]
        for (index, key) in keys.enumerated() { small[StoreKeyBytes(key)] = index }
        var copy: [StoreKeyBytes: Int] = [:]
        for (key, value) in small { copy[key] = value }
        #expect(copy.count == keys.count)
        #expect(keys.indices.allSatisfy { copy[StoreKeyBytes(keys[$0])] == $0 })
    }
}
