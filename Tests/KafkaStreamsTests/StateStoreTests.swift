import Foundation
import Logging
import RdKafka
import Synchronization
import Testing

@testable import KafkaStreams

/// The byte stores, the task directory lock and damaged local state, below the DSL.
@Suite struct StateStoreTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("state-store-tests-\(UInt64.random(in: 0...UInt64.max))").path
    }

    @Test func rocksDBWritesWaitForTheCommitAndCarryTheChangelogOffset() throws {
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try RocksDBBytesStore(path: path, resources: nil)
        try store.put([1], [10])
        try store.put([2], [20])
        try store.commit(changelogOffset: 41)
        try store.put([3], [30])
        try store.put([1], nil)
        // Pending writes are visible to reads and scans before the commit...
        #expect(try store.get([1]) == nil)
        #expect(try store.range(from: nil, to: nil).map(\.key) == [[2], [3]])
        #expect(try store.storedChangelogOffset() == 41)
        // ...and gone if the task closes without committing: the changelog restores them.
        store.close()
        let reopened = try RocksDBBytesStore(path: path, resources: nil)
        defer { reopened.close() }
        #expect(try reopened.range(from: nil, to: nil).map(\.key) == [[1], [2]])
        #expect(try reopened.storedChangelogOffset() == 41)
        try reopened.restore([(key: [3], value: [33]), (key: [2], value: nil)], through: 57)
        #expect(try reopened.range(from: nil, to: nil).map { $0.key + $0.value } == [[1, 10], [3, 33]])
        #expect(try reopened.storedChangelogOffset() == 57)
        // A restore batch goes to RocksDB in key order; a key's later record still wins.
        try reopened.restore(
            [(key: [9], value: [1]), (key: [4], value: [2]), (key: [9], value: [3]), (key: [4], value: nil), (key: [0, 1], value: [5]), (key: [0], value: [6])],
            through: 60)
        #expect(try reopened.range(from: nil, to: nil).map { $0.key + $0.value } == [[0, 6], [0, 1, 5], [1, 10], [3, 33], [9, 3]])
        try reopened.wipe()
        #expect(try reopened.range(from: nil, to: nil).isEmpty)
        #expect(try reopened.storedChangelogOffset() == -1)
    }

    @Test func aTaskDirectoryIsLockedAgainstASecondInstance() throws {
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try StateDirectoryLock(directory: path)
        #expect(throws: StreamsError.self) { try StateDirectoryLock(directory: path) }
        first.release()
        let second = try StateDirectoryLock(directory: path)
        second.release()
    }

    @Test func unreadableLocalStateIsDeletedToBeRestored() throws {
        let root = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let builder = KeyValueStoreBuilder<String, String>.persistent("kv", key: .string, value: .string)
        let context = TaskContext(
            id: TaskID(subtopology: 0, partition: 0), applicationID: "app", logger: Logger(label: "test"), clock: .system,
            collector: DiscardingCollector(), defaultSerdes: DefaultSerdes())
        let first = try builder.definition().make(StoreCreation(task: context, directory: root, resources: nil))
        try first.root.put(Array("k".utf8), Array("v".utf8))
        try first.root.commit(changelogOffset: 3)
        first.root.close()
        // Damage the database: its manifest pointer names a file that does not exist.
        try "MANIFEST-999999\n".write(toFile: "\(root)/kv/CURRENT", atomically: true, encoding: .utf8)
        let reopened = try builder.definition().make(StoreCreation(task: context, directory: root, resources: nil))
        defer { reopened.root.close() }
        #expect(try reopened.root.storedChangelogOffset() == -1)
        #expect(try reopened.root.get(Array("k".utf8)) == nil)
    }

    @Test func aFailedChangelogWriteStopsTheCheckpoint() throws {
        let context = TaskContext(
            id: TaskID(subtopology: 0, partition: 1), applicationID: "app", logger: Logger(label: "test"), clock: .system,
            collector: DiscardingCollector(failChanges: true), defaultSerdes: DefaultSerdes())
        let instance = try KeyValueStoreBuilder<String, String>.inMemory("kv", key: .string, value: .string).definition()
            .make(StoreCreation(task: context, directory: Self.temporaryDirectory(), resources: nil))
        let stores = TaskStores(instances: [instance], lock: nil)
        defer { stores.close() }
        try (instance.typed as! TypedKeyValueStore<String, String>).put("k", "v")
        #expect(throws: StreamsError.self) { try stores.checkpoint(sourceOffsets: [:]) }
    }
}

extension StateStoreTests {
    private struct CachedStore {
        let store: TypedKeyValueStore<String, String>
        let instance: StoreInstance
        let cache: RecordCache
        let task: TaskContext
    }

    @Test(arguments: [false, true])
    func aQueryIsNotHeldUpByAChangelogSendThatBlocks(cached: Bool) throws {
        // A producer whose queue is full blocks the stream thread in the send.
        let collector = BlockingCollector()
        let (store, instance) = try Self.stringStore(cached: cached, collector: collector)
        defer { TaskStores(instances: [instance], lock: nil).close() }
        try store.put("before", "1")
        if cached { try store.flushCache() }

        collector.blocks = true
        let writerDone = DispatchSemaphore(value: 0)
        startThread(named: "test:writer") {
            _ = try? store.put("k", "v")
            if cached { _ = try? store.flushCache() }
            writerDone.signal()
        }
        try #require(collector.entered.wait(timeout: .now() + 30) == .success, "the write reached the changelog send")
        let answered = DispatchSemaphore(value: 0)
        startThread(named: "test:query") {
            _ = try? store.get("before")
            _ = try? store.all()
            answered.signal()
        }
        let queryAnswered = answered.wait(timeout: .now() + 10) == .success
        collector.release()
        #expect(queryAnswered, "a query waited for the blocked changelog send")
        #expect(writerDone.wait(timeout: .now() + 30) == .success)
        if !queryAnswered { _ = answered.wait(timeout: .now() + 30) }
        #expect(try store.get("k") == "v")
    }

    /// An in-memory string store of a task of its own, its writes held in a 1 MiB record
    /// cache or not.
    private static func stringStore(
        cached: Bool, collector: RecordCollector
    ) throws -> (store: TypedKeyValueStore<String, String>, instance: StoreInstance) {
        let context = TaskContext(
            id: TaskID(subtopology: 0, partition: 0), applicationID: "app", logger: Logger(label: "test"), clock: .system,
            collector: collector, defaultSerdes: DefaultSerdes(), recordCache: RecordCache(maxBytes: 1 << 20))
        var builder = KeyValueStoreBuilder<String, String>.inMemory("kv", key: .string, value: .string)
        if cached { builder = builder.withCachingEnabled() }
        let instance = try builder.definition().make(StoreCreation(task: context, directory: temporaryDirectory(), resources: nil))
        return (instance.typed as! TypedKeyValueStore<String, String>, instance)
    }

    private static func cachedStore(budget: Int, collector: DiscardingCollector) throws -> CachedStore {
        let cache = RecordCache(maxBytes: budget)
        let context = TaskContext(
            id: TaskID(subtopology: 0, partition: 0), applicationID: "app", logger: Logger(label: "test"), clock: .system,
            collector: collector, defaultSerdes: DefaultSerdes(), recordCache: cache)
        let instance = try KeyValueStoreBuilder<String, String>.inMemory("kv", key: .string, value: .string).withCachingEnabled()
            .definition().make(StoreCreation(task: context, directory: temporaryDirectory(), resources: nil))
        return CachedStore(store: instance.typed as! TypedKeyValueStore<String, String>, instance: instance, cache: cache, task: context)
    }

    @Test func aCachedStoreHoldsWritesUntilFlushedThenSendsTheLatestOnce() throws {
        let collector = DiscardingCollector()
        let fixture = try Self.cachedStore(budget: 1 << 20, collector: collector)
        let (store, instance, cache, context) = (fixture.store, fixture.instance, fixture.cache, fixture.task)
        var flushed: [String] = []
        #expect(store.setFlushListener { flushed.append("\($0.key)=\($0.value.newValue ?? "-")@\($0.timestamp)") })
        try instance.root.put(Array("c".utf8), Array("9".utf8))
        for (timestamp, write) in [(10, ("a", "1")), (20, ("a", "2")), (30, ("b", "1")), (40, ("c", nil))] as [(Int64, (String, String?))] {
            context.currentRecord = RecordContext(topic: "in", partition: 0, offset: timestamp, timestamp: timestamp, headers: [])
            try store.put(write.0, write.1)
        }
        context.currentRecord = nil
        // Reads see the held writes; nothing went below yet.
        #expect(try store.get("a") == "2")
        #expect(try store.get("c") == nil)
        #expect(try store.all().map { "\($0.key)=\($0.value)" } == ["a=2", "b=1"])
        #expect(try store.range(from: "b", to: "z").map(\.key) == ["b"])
        #expect(try store.approximateCount() == 2)
        #expect(collector.changes.isEmpty && flushed.isEmpty)
        #expect(cache.usedBytes > 0)

        try store.flushCache()
        let expected = ["a=2@20", "b=1@30", "c=-@40"]
        #expect(collector.changes == expected)
        #expect(flushed == expected)
        #expect(try instance.root.range(from: nil, to: nil).count == 2)
        #expect(cache.usedBytes == 0)
        try store.flushCache()
        #expect(collector.changes.count == 3)
    }

    @Test func aReadModifyWriteFindsItsKeyOnceAndSurvivesCacheChangesBetween() throws {
        let collector = DiscardingCollector()
        let fixture = try Self.cachedStore(budget: 1 << 20, collector: collector)
        let (store, cache) = (fixture.store, fixture.cache)
        var flushed: [String] = []
        _ = store.setFlushListener { flushed.append("\($0.key)=\($0.value.newValue ?? "-")@\($0.timestamp)\($0.headers.map(\.key))") }
        try store.put("a", "1")

        // Held key: updated in place through the slot.
        let a = try #require(try store.readForUpdate("a"))
        #expect(a.value == "1")
        try store.write(a, "2", timestamp: 10, headers: [RecordHeader(key: "h", value: nil)])
        #expect(try store.get("a") == "2")

        // Absent key, but another key was added before the write: the slot is stale.
        let fresh = try #require(try store.readForUpdate("new"))
        #expect(fresh.value == nil)
        try store.put("other", "x")
        try store.write(fresh, "n", timestamp: 20, headers: [])
        #expect(try store.get("new") == "n" && store.get("other") == "x")

        // A flush between the read and the write empties the cache: the write holds anew.
        let again = try #require(try store.readForUpdate("a"))
        try store.flushCache()
        try store.write(again, "3", timestamp: 30, headers: [])
        #expect(try store.get("a") == "3")
        try store.flushCache()
        #expect(flushed == ["a=2@10[\"h\"]", "other=x@0[]", "new=n@20[]", "a=3@30[]"])
        #expect(collector.changes == ["a=2@10", "other=x@0", "new=n@20", "a=3@30"])
        #expect(cache.usedBytes == 0, "every held byte was accounted for and released")
    }

    @Test func theStreamThreadsOperationCountsReachTheCountersInBatchesAndAtEachCommit() {
        let metrics = TestMetrics()
        let store = StoreMetrics(applicationID: "batched-store-metrics", task: TaskID(subtopology: 0, partition: 0), store: "s")
        func count(_ operation: String) -> Int64 {
            metrics.total("kafka_streams_store_operations_total", application: "batched-store-metrics", where: ("operation", operation))
        }
        store.countGet()
        #expect(count("get") == 1, "a read from any thread is counted at once")
        store.countUpdateRead()
        store.countPut()
        store.countDelete()
        #expect(count("get") == 1 && count("put") == 0 && count("delete") == 0)
        store.publish()
        #expect(count("get") == 2 && count("put") == 1 && count("delete") == 1, "a commit publishes them")
        for _ in 0..<(StoreMetrics.publishEvery - 1) { store.countPut() }
        #expect(count("put") == 1)
        store.countPut()
        #expect(count("put") == 1 + Int64(StoreMetrics.publishEvery), "never more than a batch waits")
        store.publish()
        #expect(count("put") == 1 + Int64(StoreMetrics.publishEvery))
    }

    @Test func aRangeDeletionSendsItsHeldWritesOnButNotBelow() throws {
        // A window store's expired segment: the last values of its windows, held since the
        // last flush, still reach downstream (as Kafka Streams' flush would send them).
        let collector = DiscardingCollector()
        let fixture = try Self.cachedStore(budget: 1 << 20, collector: collector)
        let (store, instance, cache, context) = (fixture.store, fixture.instance, fixture.cache, fixture.task)
        var flushed: [String] = []
        _ = store.setFlushListener { flushed.append("\($0.key)=\($0.value.newValue ?? "-")@\($0.timestamp)") }
        try instance.root.put(Array("b0".utf8), Array("stored".utf8))
        for (timestamp, write) in [(1, ("a2", "1")), (2, ("a1", "1")), (3, ("c1", "1")), (4, ("a2", "2")), (5, ("b0", "x"))] as [(Int64, (String, String))] {
            context.currentRecord = RecordContext(topic: "in", partition: 0, offset: timestamp, timestamp: timestamp, headers: [])
            try store.put(write.0, write.1)
        }
        context.currentRecord = nil
        try store.deleteRange(from: "a", to: "b1")
        // In the order of their latest writes, each with its own record's time.
        #expect(flushed == ["a1=1@2", "a2=2@4", "b0=x@5"])
        #expect(collector.changes.isEmpty, "nothing of the range reaches the changelog")
        try store.flushCache()
        #expect(flushed == ["a1=1@2", "a2=2@4", "b0=x@5", "c1=1@3"])
        #expect(try instance.root.range(from: nil, to: nil).map { String(decoding: $0.key, as: UTF8.self) } == ["c1"])
        #expect(cache.usedBytes == 0)
    }

    @Test func aKeyWrittenAndDeletedBetweenFlushesReachesNeitherTheChangelogNorDownstream() throws {
        // As in Kafka Streams' caching stores, which skip a deletion whose key the store
        // below lacks: a session merged away before any flush sent it is no result.
        let collector = DiscardingCollector()
        let fixture = try Self.cachedStore(budget: 1 << 20, collector: collector)
        let (store, instance, cache) = (fixture.store, fixture.instance, fixture.cache)
        var flushed: [String] = []
        _ = store.setFlushListener { flushed.append("\($0.key)=\($0.value.newValue ?? "-")") }
        try instance.root.put(Array("stored".utf8), Array("9".utf8))

        // Read as absent below, written, then deleted: forgotten.
        try store.write(try #require(try store.readForUpdate("read")), "1", timestamp: 1, headers: [])
        try store.write(try #require(try store.readForUpdate("read")), nil, timestamp: 2, headers: [])
        // Known to be absent below by the caller (a session just made).
        try store.write(store.prepareWriteOfUnstoredKey { $0 = Array("made".utf8) }, "1", timestamp: 3, headers: [])
        try store.write(try #require(try store.readForUpdate("made")), nil, timestamp: 4, headers: [])
        // A key stored below: its deletion must go below.
        try store.write(try #require(try store.readForUpdate("stored")), nil, timestamp: 5, headers: [])
        #expect(try store.get("read") == nil && store.get("made") == nil && store.get("stored") == nil)

        // Absent when read, but a flush wrote it below before the delete: the delete goes below.
        let late = try #require(try store.readForUpdate("late"))
        try store.put("late", "x")
        try store.flushCache()
        try store.write(late, nil, timestamp: 6, headers: [])
        try store.flushCache()

        #expect(flushed == ["stored=-", "late=x", "late=-"])
        #expect(collector.changes.map { $0.split(separator: "@")[0] } == ["stored=-", "late=x", "late=-"])
        #expect(try instance.root.range(from: nil, to: nil).isEmpty)
        #expect(cache.usedBytes == 0, "every held byte was accounted for and released")
    }

    @Test(arguments: [false, true])
    func queriesReadTheirOwnKeyWhileTheStreamThreadWrites(cached: Bool) throws {
        let (store, instance) = try Self.stringStore(cached: cached, collector: DiscardingCollector())
        defer { TaskStores(instances: [instance], lock: nil).close() }
        try store.put("the-queried-key", "queried")
        if cached { try store.flushCache() }

        // The stream thread serializes keys into a buffer it reuses; a query must never
        // read through it, or it would read whichever key the writer put there.
        let done = DispatchSemaphore(value: 0)
        let wrongReads = Mutex(0)
        startThread(named: "test:query") {
            for _ in 0..<20_000 where (try? store.get("the-queried-key")) != "queried" {
                wrongReads.withLock { $0 += 1 }
            }
            done.signal()
        }
        var written = 0
        while done.wait(timeout: .now()) == .timedOut {
            let key = "written-\(written % 500)"
            try store.put(key, "w")
            if let prepared = try store.readForUpdate(key) { try store.write(prepared, "x", timestamp: 0, headers: []) }
            written += 1
        }
        #expect(wrongReads.withLock { $0 } == 0)
        #expect(written > 0)
    }

    @Test func storeKeysOrderAsTheirBytesDo() {
        var generator = SystemRandomNumberGenerator()
        let keys: [[UInt8]] = (0..<500).map { _ in (0..<Int.random(in: 0...4, using: &generator)).map { _ in [0x00, 0x01, 0x7f, 0x80, 0xff].randomElement(using: &generator)! } }
        for (left, right) in zip(keys, keys.reversed()) {
            #expect((StoreKeyBytes(left) < StoreKeyBytes(right)) == left.lexicographicallyPrecedes(right), "\(left) < \(right)")
            #expect((StoreKeyBytes(left) == StoreKeyBytes(right)) == (left == right))
        }
    }

    @Test func aFailedFlushKeepsWhatItDidNotWrite() throws {
        let collector = DiscardingCollector()
        let fixture = try Self.cachedStore(budget: 1 << 20, collector: collector)
        let (store, cache) = (fixture.store, fixture.cache)
        var flushed: [String] = []
        _ = store.setFlushListener { flushed.append("\($0.key)=\($0.value.newValue ?? "-")") }
        for key in ["a", "b", "c"] { try store.put(key, "1") }
        collector.throwAtChange = 1
        #expect(throws: KafkaError.self) { try store.flushCache() }
        #expect(collector.changes == ["a=1@0"])
        // "b" and "c" were not written below: they are still held, and reads see them.
        #expect(try store.get("b") == "1" && store.get("c") == "1")
        #expect(try fixture.instance.root.get(Array("b".utf8)) == nil)
        #expect(cache.usedBytes > 0)
        try store.flushCache()
        #expect(collector.changes.map { $0.prefix(3) } == ["a=1", "b=1", "c=1"])
        #expect(flushed == ["b=1", "c=1"], "a's delivery failed with the flush; b and c go on with the next one")
        #expect(cache.usedBytes == 0)
    }

    @Test func aWriteFromAPunctuationIsSentOnAtStreamTime() throws {
        let collector = DiscardingCollector()
        let fixture = try Self.cachedStore(budget: 1 << 20, collector: collector)
        var timestamps: [Int64] = []
        _ = fixture.store.setFlushListener { timestamps.append($0.timestamp) }
        fixture.task.streamTime = 5_000
        fixture.task.currentRecord = nil
        try fixture.store.put("k", "v")
        fixture.task.streamTime = 6_000
        try fixture.store.flushCache()
        #expect(timestamps == [5_000])
        #expect(collector.changes == ["k=v@5000"])
    }

    @Test func aFullCacheWritesThroughAndClosingReleasesIt() throws {
        let collector = DiscardingCollector()
        // Room for two writes of this size (106 bytes each with the overhead), not three.
        let fixture = try Self.cachedStore(budget: 250, collector: collector)
        let (store, instance, cache) = (fixture.store, fixture.instance, fixture.cache)
        var flushed = 0
        _ = store.setFlushListener { _ in flushed += 1 }
        let value = String(repeating: "v", count: 40)
        try store.put("k1", value)
        try store.put("k2", value)
        #expect(collector.changes.isEmpty)
        try store.put("k3", value)
        #expect(collector.changes.count == 3 && flushed == 3)
        #expect(cache.usedBytes == 0)
        try store.put("k4", value)
        #expect(cache.usedBytes > 0)
        TaskStores(instances: [instance], lock: nil).close()
        #expect(cache.usedBytes == 0)
        #expect(throws: StoreUnavailableError(store: "kv", reason: .closed)) { try store.get("k1") }
    }
}

/// Drops outputs; acknowledges (or fails) changelog records at once, and keeps them.
private final class DiscardingCollector: RecordCollector {
    let failChanges: Bool
    /// `key=value@timestamp` of each change (`-` for a tombstone).
    var changes: [String] = []
    /// When set, the send of the change with this index (0-based, counted from now on)
    /// throws, as a producer whose queue is full does.
    var throwAtChange: Int?
    init(failChanges: Bool = false) { self.failChanges = failChanges }

    func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: () -> SourceCoordinates?
    ) throws {}

    func sendChange(
        topic: String, partition: Int32, key: [UInt8], value: [UInt8]?, timestamp: Int64, tracker: ChangelogTracker
    ) throws {
        if let index = throwAtChange {
            guard index > 0 else {
                throwAtChange = nil
                throw KafkaError(code: .queueFull, message: "local queue full")
            }
            throwAtChange = index - 1
        }
        changes.append("\(String(decoding: key, as: UTF8.self))=\(value.map { String(decoding: $0, as: UTF8.self) } ?? "-")@\(timestamp)")
        if failChanges { tracker.failed(KafkaError(code: .messageSizeTooLarge, message: "refused")) } else { tracker.acknowledged(0) }
    }
}

/// Acknowledges changelog records at once, except while `blocks` is set: then a send waits
/// until ``release()``, as a producer with a full queue does.
private final class BlockingCollector: RecordCollector, @unchecked Sendable {
    var blocks = false
    /// Signalled when a send starts to wait.
    let entered = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)

    func release() { released.signal() }

    func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: () -> SourceCoordinates?
    ) throws {}

    func sendChange(
        topic: String, partition: Int32, key: [UInt8], value: [UInt8]?, timestamp: Int64, tracker: ChangelogTracker
    ) throws {
        if blocks {
            blocks = false
            entered.signal()
            released.wait()
        }
        tracker.acknowledged(0)
    }
}
