import Testing

@testable import KafkaStreams

/// The order a RocksDB restore batch writes its records in: byte order of the keys, a
/// key's records in the order they came (the last one wins in the store), against a plain
/// stable sort, over keys that share prefixes of every length, end inside the compared
/// word, and differ only in zero bytes or in length.
@Suite struct KeyByteOrderTests {
    /// Keys over a few bytes after `prefix`: zeros and 0xff make padding and sign mistakes
    /// show.
    private static func keys(_ random: inout SplitMix, prefix: [UInt8], count: Int, maxLength: UInt64) -> [[UInt8]] {
        let alphabet: [UInt8] = [0, 1, 0x7f, 0x80, 0xff]
        return (0..<count).map { _ in
            prefix + (0..<Int(random.next() % (maxLength + 1))).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
        }
    }

    private static func expectedOrder(_ keys: [[UInt8]]) -> [Int] {
        // Equal keys keep their batch order.
        keys.indices.sorted { keys[$0] == keys[$1] ? $0 < $1 : keys[$0].lexicographicallyPrecedes(keys[$1]) }
    }

    private static func sortedIndices(_ keys: [[UInt8]]) -> [Int] {
        // Copies of the keys in one buffer, as the restore batch holds them.
        let bytes = keys.flatMap { $0 }
        return bytes.withUnsafeBytes { raw in
            var start = 0
            let buffers = keys.map { key in
                defer { start += key.count }
                return UnsafeRawBufferPointer(rebasing: raw[start..<(start + key.count)])
            }
            return KeyByteOrder.sortedIndices(of: buffers)
        }
    }

    static let shapes: [(prefix: [UInt8], maxLength: UInt64)] = [([], 3), ([], 12), ([9, 9, 9, 9, 9, 9, 9, 9], 10), ([0, 0, 0], 20), ([0xff], 9)]

    @Test(arguments: shapes)
    func ordersLikeAStableByteSort(prefix: [UInt8], maxLength: UInt64) {
        var random = SplitMix(seed: 17 &+ maxLength &* 31 &+ UInt64(prefix.count))
        for _ in 0..<200 {
            let keys = Self.keys(&random, prefix: prefix, count: Int(random.next() % 60), maxLength: maxLength)
            #expect(Self.sortedIndices(keys) == Self.expectedOrder(keys), "keys \(keys)")
        }
    }

    @Test func windowKeysAcrossTwoSegments() {
        // `[segment][key][start]`: the shared prefix ends inside the segment number.
        var random = SplitMix(seed: 5)
        let keys = (0..<500).map { _ in
            let segment = UInt64(40 + random.next() % 2)
            let start = segment * 86_400_000 + random.next() % 86_400_000
            return withUnsafeBytes(of: segment.bigEndian, Array.init) + Array("k\(random.next() % 30)".utf8) + withUnsafeBytes(of: start.bigEndian, Array.init)
        }
        #expect(Self.sortedIndices(keys) == Self.expectedOrder(keys))
    }

    @Test func emptyAndSingleBatches() {
        #expect(Self.sortedIndices([]) == [])
        #expect(Self.sortedIndices([[]]) == [0])
        #expect(Self.sortedIndices([[], [], [0]]) == [0, 1, 2])
        #expect(Self.sortedIndices([[0], [], [0]]) == [1, 0, 2])
    }
}
