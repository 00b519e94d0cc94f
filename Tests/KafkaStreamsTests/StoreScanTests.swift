import Foundation
import Logging
import Testing

@testable import KafkaStreams

/// Range and prefix scans through every layer that holds writes in memory (record cache,
/// RocksDB's pending batch, the in-memory store) against a plain dictionary, over random
/// writes, deletions, range deletions, flushes and commits: the layers keep their keys in byte order for
/// scans, built lazily and kept up to date, and must never disagree with the model.
@Suite struct StoreScanTests {
    /// A short key over a few bytes, so prefixes, the empty key and 0xff bounds all occur.
    private static func randomKey(_ random: inout SplitMix, maxLength: UInt64 = 3) -> [UInt8] {
        let alphabet: [UInt8] = [0, 1, 2, 0x7f, 0xff]
        return (0..<Int(random.next() % (maxLength + 1))).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
    }

    private static func segmentOf(_ key: [UInt8]) -> UInt64 { key.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }

    /// A window store's key, `[segment][key][start]`, in one of four segments.
    private static func windowKey(_ random: inout SplitMix) -> [UInt8] {
        Array(segmentFirstKey(random.next() % 4).prefix(8)) + randomKey(&random) + [0, 0, 0, 0, 0, 0, 0, UInt8(random.next() % 4)]
    }

    /// The first key of a segment, as window store expiry bounds its range deletions.
    private static func segmentFirstKey(_ segment: UInt64) -> [UInt8] {
        withUnsafeBytes(of: segment.bigEndian, Array.init) + [UInt8](repeating: 0, count: 8)
    }

    private static func expected(_ model: [[UInt8]: [UInt8]], where includes: ([UInt8]) -> Bool) -> [[UInt8]] {
        model.filter { includes($0.key) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { $0.key + [0xAA] + $0.value }
    }

    /// `segmented`: the cache groups its keys as a window store's (by their first eight
    /// bytes), which range deletions use instead of a pass over every held key.
    @Test(arguments: [
        (persistent: true, cached: true, budget: 1 << 20, segmented: false), (true, true, 300, false), (true, false, 0, false),
        (false, true, 1 << 20, false), (false, false, 0, false), (true, true, 1 << 20, true), (false, true, 300, true),
    ])
    func scansAgreeWithAModelThroughWritesFlushesAndCommits(persistent: Bool, cached: Bool, budget: Int, segmented: Bool) throws {
        let directory = StateStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let context = TaskContext(
            id: TaskID(subtopology: 0, partition: 0), applicationID: "app", logger: Logger(label: "test"), clock: .system,
            collector: PartitionGroupTests.DiscardingCollector(), defaultSerdes: DefaultSerdes(), recordCache: RecordCache(maxBytes: budget))
        var builder: KeyValueStoreBuilder<[UInt8], [UInt8]> =
            persistent ? .persistent("kv", key: .bytes, value: .bytes) : .inMemory("kv", key: .bytes, value: .bytes)
        builder = cached ? builder.withCachingEnabled() : builder.withCachingDisabled()
        builder.segmentedKeys = segmented
        let instance = try builder.definition().make(StoreCreation(task: context, directory: directory, resources: nil))
        let stores = TaskStores(instances: [instance], lock: nil)
        defer { stores.close() }
        let store = try #require(instance.typed as? TypedKeyValueStore<[UInt8], [UInt8]>)

        var model: [[UInt8]: [UInt8]] = [:]
        var random = SplitMix(seed: UInt64(budget) &+ (persistent ? 1 : 2) &+ (cached ? 10 : 20) &+ (segmented ? 100 : 0))
        var scans = 0
        var deletions = 0
        for step in 0..<3000 {
            if step % 1500 == 750 {
                // A burst of new keys with no scan between: an index kept for scans is
                // dropped rather than updated, and rebuilt by the next scan.
                for burst in 0..<1100 {
                    let key = Self.randomKey(&random, maxLength: 7)
                    try store.put(key, [UInt8(truncatingIfNeeded: burst)])
                    model[key] = [UInt8(truncatingIfNeeded: burst)]
                }
            }
            let key = random.next() % 3 == 0 ? Self.windowKey(&random) : Self.randomKey(&random)
            switch random.next() % 100 {
            case 0..<30:
                let value = [UInt8(truncatingIfNeeded: step)]
                try store.put(key, value)
                model[key] = value
            case 30..<45:
                // A read-modify-write (an aggregation's): the read sees what the model holds.
                let prepared = try #require(try store.readForUpdate(key))
                #expect(prepared.value == model[key], "read for update of \(key) at step \(step)")
                let value = [UInt8(truncatingIfNeeded: step)]
                try store.write(prepared, value, timestamp: Int64(step), headers: [])
                model[key] = value
            case 45..<60:
                try store.put(key, nil)
                model[key] = nil
            case 60..<80:
                let lower = random.next() % 5 == 0 ? nil : Self.randomKey(&random)
                let upper = random.next() % 5 == 0 ? nil : Self.randomKey(&random)
                let found = try store.range(from: lower, to: upper).map { $0.key + [0xAA] + $0.value }
                let wanted = Self.expected(model) { key in
                    !(lower.map { key.lexicographicallyPrecedes($0) } ?? false) && !(upper.map { $0.lexicographicallyPrecedes(key) } ?? false)
                }
                #expect(found == wanted, "range \(String(describing: lower))...\(String(describing: upper)) at step \(step)")
                scans += 1
            case 80..<95:
                let found = try store.prefixScan(key).map { $0.key + [0xAA] + $0.value }
                let wanted = Self.expected(model) { $0.starts(with: key) }
                #expect(found == wanted, "prefix \(key) at step \(step)")
                scans += 1
            case 95..<97:
                // A range deletion, in every layer: between any keys, or from one segment's
                // first key to a later one's (a window store's expired segments).
                let expiry = random.next() % 2 == 0
                let lower = expiry ? Self.segmentFirstKey(random.next() % 3) : Self.randomKey(&random)
                let upper = expiry ? Self.segmentFirstKey(Self.segmentOf(lower) + 1 + random.next() % 2) : Self.randomKey(&random)
                try store.deleteRange(from: lower, to: upper)
                for key in model.keys where !key.lexicographicallyPrecedes(lower) && key.lexicographicallyPrecedes(upper) { model[key] = nil }
                deletions += 1
            case 97:
                try stores.flushCaches()
            default:
                try stores.flushCaches()
                try stores.checkpoint(sourceOffsets: [:])
            }
        }
        #expect(scans > 500 && deletions > 30)
        let all = try store.all().map { $0.key + [0xAA] + $0.value }
        #expect(all == Self.expected(model) { _ in true })
    }

    @Test func theIndexDropsRemovedKeysAndTakesThemBack() {
        var index = SortedKeyIndex([[3], [1]].map(StoreKeyBytes.init))
        for key in [[2], [0], [1, 0], [4]] as [[UInt8]] { index.insert(StoreKeyBytes(key)) }
        #expect(index.keys(from: nil, through: nil).map(\.bytes) == [[0], [1], [1, 0], [2], [3], [4]])
        index.remove(StoreKeyBytes([1]))
        index.remove(StoreKeyBytes([3]))
        #expect(index.keys(from: [1], through: [3]).map(\.bytes) == [[1, 0], [2]])
        #expect(index.keys(withPrefix: [1]).map(\.bytes) == [[1, 0]])
        index.insert(StoreKeyBytes([1]))
        #expect(index.keys(withPrefix: [1]).map(\.bytes) == [[1], [1, 0]])
        for key in [[0], [1, 0], [2], [4], [1]] as [[UInt8]] { index.remove(StoreKeyBytes(key)) }
        #expect(index.keys(from: nil, through: nil).isEmpty && index.count == 0)
        index.insert(StoreKeyBytes([9]))
        #expect(index.keys(from: nil, through: nil).map(\.bytes) == [[9]])
    }

    /// Enough keys that chunks split, empty and go, with ranges checked throughout.
    @Test func theIndexAgreesWithASortedModelAcrossManyChunks() {
        var random = SplitMix(seed: 7)
        var model = Set<[UInt8]>()
        var index = SortedKeyIndex([StoreKeyBytes]())
        for step in 0..<16_000 {
            let key = withUnsafeBytes(of: (random.next() % 6000).bigEndian) { Array($0.suffix(2)) }
            // Grow for most of the run, then shrink, so whole chunks empty out.
            let adds = step < 10_000 ? random.next() % 3 != 0 : random.next() % 4 == 0
            if adds, !model.contains(key) {
                index.insert(StoreKeyBytes(key))
                model.insert(key)
            } else if !adds, model.contains(key) {
                index.remove(StoreKeyBytes(key))
                model.remove(key)
            }
            if step % 401 == 0 {
                let lower = withUnsafeBytes(of: (random.next() % 6000).bigEndian) { Array($0.suffix(2)) }
                let upper = withUnsafeBytes(of: (random.next() % 6000).bigEndian) { Array($0.suffix(2)) }
                let wanted = model.filter { !$0.lexicographicallyPrecedes(lower) && !upper.lexicographicallyPrecedes($0) }
                    .sorted { $0.lexicographicallyPrecedes($1) }
                #expect(index.keys(from: lower, through: upper).map(\.bytes) == wanted, "step \(step)")
                #expect(index.count == model.count)
            }
        }
        #expect(index.keys(from: nil, through: nil).map(\.bytes) == model.sorted { $0.lexicographicallyPrecedes($1) })
    }
}

/// A small seeded generator, so a failing sequence is the same on every run.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
