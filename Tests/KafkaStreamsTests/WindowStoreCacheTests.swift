import Foundation
import Logging
import Testing

@testable import KafkaStreams

/// The window store's updates of windows, held above the record cache as aggregates (as a
/// windowed aggregation holds them) or, without a cache, written below at once: new windows,
/// held ones updated in place, windows below the cache read back, checked against a model of
/// the windows over many records with commits, evictions (a small cache), expiries and
/// queries between them.
@Suite struct WindowStoreCacheTests {
    @Test(arguments: [
        (kind: StoreKind.persistent, budget: Int?.some(1 << 20)), (.persistent, 2_000), (.inMemory, 1 << 20), (.inMemory, 2_000), (.persistent, nil), (.inMemory, nil),
    ])
    func hoppingUpdatesAgreeWithAModel(kind: StoreKind, budget: Int?) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("window-store-cache-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recordCache = budget.map { RecordCache(maxBytes: $0) }
        // Segments are at least a minute long: a retention of 200 s makes them 100 s.
        let (size, advance, retention): (Int64, Int64, Int64) = (60_000, 10_000, 200_000)
        let (instance, store) = try Self.heldWindowStore(kind: kind, size: size, retention: retention, recordCache: recordCache, directory: directory)
        defer { instance.typed.close { instance.root.close() } }
        #expect((store.held != nil) == (budget != nil), "updates are held above a record cache, and only there")
        let windows = TimeWindows(size: size, advance: advance, grace: 0)

        var model: [String: [Int64: (count: Int64, time: Int64)]] = [:]
        var random = SplitMix(seed: 0x2545_F491_4F6C_DD1D)
        var streamTime: Int64 = 0
        for index in 0..<5_000 {
            let key = "k\(random.next() % 7)"
            let time = max(0, Int64(index) * 200 - Int64(random.next() % 8) * 500)
            streamTime = max(streamTime, time)
            let keyBytes = Array(key.utf8)
            let latest = windows.latestStart(containing: time)
            let updates = store.updates(of: keyBytes, headers: [])
            let latestWritten = try store.noteUpdates(of: updates.storeKey, through: latest)
            for start in windows.windowStarts(containing: time) {
                let previous = model[key, default: [:]][start]
                let (before, updated) = try store.update(updates, start: start, latestWritten: latestWritten) { current in
                    #expect(current?.value == previous?.count && current?.timestamp == previous?.time, "\(key)@\(start) before record \(index)")
                    return ((current?.value ?? 0) + 1, max(current?.timestamp ?? time, time))
                }
                #expect(before == previous?.count, "\(key)@\(start) returned before record \(index)")
                model[key, default: [:]][start] = (updated.value, updated.timestamp)
            }
            try store.finishUpdates(updates)
            // Queries see the held updates over what is stored.
            if index % 50 == 0 {
                let firstKept = (max(streamTime - retention, 0) / store.segmentInterval) * store.segmentInterval
                try expectQueries(of: store, toFind: model, keptFrom: firstKept, through: streamTime, after: "record \(index)", key: key)
            }
            // A commit now and then; expiry as stream time moves.
            if random.next() % 97 == 0 { try store.flushCache() }
            try store.expireWindows(before: streamTime - retention)
            let firstKept = (max(streamTime - retention, 0) / store.segmentInterval) * store.segmentInterval
            for modelKey in model.keys { model[modelKey] = model[modelKey]!.filter { $0.key >= firstKept } }
        }
        store.stageOperatorState(WindowedOperatorState(observedStreamTime: streamTime, lastEmitted: -1))
        try store.flushCache()
        #expect(recordCache?.usedBytes ?? 0 == 0, "what was held was charged to the budget and released as it left")
        for (key, starts) in model {
            let stored = try store.fetch(key, from: 0, through: streamTime)
            // Whole segments expire: the store keeps what the model kept.
            let expected = starts.sorted { $0.key < $1.key }
            #expect(stored.map(\.window) == expected.map(\.key), "the windows of \(key)")
            #expect(stored.map(\.value) == expected.map(\.value.count), "the counts of \(key)")
            #expect(stored.map(\.timestamp) == expected.map(\.value.time), "the times of \(key)")
        }
    }

    @Test func closingWithoutACommitDropsTheHeldUpdatesAndReleasesTheirBudget() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("window-store-close-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recordCache = RecordCache(maxBytes: 1 << 20)
        let (instance, store) = try Self.heldWindowStore(kind: .persistent, size: 60_000, retention: 120_000, recordCache: recordCache, directory: directory)
        for key in ["a", "b", "c"] {
            let updates = store.updates(of: Array(key.utf8), headers: [])
            _ = try store.update(updates, start: 0, latestWritten: -1) { _ in (1, 5) }
            try store.finishUpdates(updates)
        }
        #expect(recordCache.usedBytes > 0, "the held updates are charged to the budget")
        #expect(try store.fetch("b", from: 0, through: 0).map(\.value) == [1], "a query reads a held update")
        // As a task closes its stores (an exactly-once abort, say): through the store's
        // managed view, not its type.
        instance.typed.close { instance.root.close() }
        #expect(recordCache.usedBytes == 0, "closing released what was held")
        #expect(store.held?.isEmpty == true, "closing dropped the held updates")
    }

    /// A window store of counts by string key, made as a task makes it (its record cache
    /// from `recordCache`, `nil`: none), holding its updates as a windowed aggregation does.
    private static func heldWindowStore(
        kind: StoreKind, size: Int64, retention: Int64, recordCache: RecordCache?, directory: String
    ) throws -> (StoreInstance, TypedWindowStore<String, Int64>) {
        let context = TaskContext(
            id: TaskID(subtopology: 0, partition: 0), applicationID: "app", logger: Logger(label: "test"), clock: .system,
            collector: PartitionGroupTests.DiscardingCollector(), defaultSerdes: DefaultSerdes(), recordCache: recordCache)
        let builder = WindowStoreBuilder<String, Int64>(
            name: "w", windows: .time(size: size), materialized: .as("w", kind: kind), keySerde: .string, valueSerde: .int64, retention: retention)
        let instance = try builder.definition().make(StoreCreation(task: context, directory: directory, resources: nil))
        let store = try #require(instance.typed as? TypedWindowStore<String, Int64>)
        store.holdUpdatesAboveCache()
        return (instance, store)
    }

    /// Checks what queries read (every window, and `key`'s) against the model's windows.
    private func expectQueries(
        of store: TypedWindowStore<String, Int64>, toFind model: [String: [Int64: (count: Int64, time: Int64)]], keptFrom firstKept: Int64,
        through streamTime: Int64, after point: String, key: String
    ) throws {
        var expected: [(key: String, start: Int64, count: Int64)] = []
        for (modelKey, starts) in model {
            for (start, window) in starts where start >= firstKept { expected.append((modelKey, start, window.count)) }
        }
        expected.sort { $0.start != $1.start ? $0.start < $1.start : $0.key < $1.key }
        let all = try store.windows(from: 0, through: streamTime)
        #expect(all.map { String(decoding: $0.key, as: UTF8.self) } == expected.map(\.key), "the keys of every window after \(point)")
        #expect(all.map(\.start) == expected.map(\.start), "the starts of every window after \(point)")
        #expect(all.map(\.value) == expected.map(\.count), "the counts of every window after \(point)")
        let ofKey = try store.fetch(key, from: 0, through: streamTime)
        #expect(ofKey.map(\.value) == expected.filter { $0.key == key }.map(\.count), "the counts of \(key) after \(point)")
    }
}
