import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Synchronization
import Testing

/// Word count through StreamsApp on the embedded broker: state that survives restarts,
/// crashes and lost local state, rebuilt from the changelog.
@Suite struct StateRuntimeTests {
    /// Counts each restore's records per store partition.
    final class RestoreRecorder: StateRestoreListener {
        private let restored = Mutex<[Int32: Int]>([:])
        private let starts = Mutex<[Int32: Int64]>([:])

        var totals: [Int32: Int] { restored.withLock { $0 } }
        var total: Int { totals.values.reduce(0, +) }
        var startOffsets: [Int32: Int64] { starts.withLock { $0 } }

        func onRestoreStart(store: String, topic: String, partition: Int32, startOffset: Int64, endOffset: Int64) {
            starts.withLock { $0[partition] = startOffset }
        }
        func onBatchRestored(store: String, topic: String, partition: Int32, batchEndOffset: Int64, records: Int) {}
        func onRestoreEnd(store: String, topic: String, partition: Int32, totalRecords: Int) {
            restored.withLock { $0[partition, default: 0] += totalRecords }
        }
    }

    struct Fixture {
        let kafka: EmbeddedKafkaCluster
        let applicationID: String
        var kind: StoreKind = .persistent

        init(_ applicationID: String, kind: StoreKind = .persistent) throws {
            kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
            try kafka.createTopic("lines", partitions: 3)
            self.applicationID = applicationID
            self.kind = kind
        }

        var changelog: String { "\(applicationID)-counts-changelog" }
        var stateDirectory: String { "\(kafka.stateDirectory)/\(applicationID)" }

        /// - Parameter stateDirectory: another host's state directory (default: the cluster's).
        func start(
            restores: any StateRestoreListener = RestoreRecorder(), commitInterval: Duration = .seconds(1),
            recordCacheBytes: Int = 10 << 20, stateDirectory: String? = nil
        ) throws -> RunningApp {
            var configuration = kafka.streamsConfiguration(applicationID: applicationID)
            configuration.stateDirectory = stateDirectory ?? configuration.stateDirectory
            configuration.restoreListener = restores
            configuration.commitInterval = commitInterval
            configuration.recordCacheBytes = recordCacheBytes
            return RunningApp(try StreamsApp(topology: StateDriverTests.wordCount(kind: kind), configuration: configuration, logger: streamsTestLogger))
        }

        /// Keyed, so the lines spread over the partitions (null keys may all land on one).
        func produce(_ lines: [String]) async throws {
            try await kafka.produce("lines", lines.enumerated().map { (key: Array("line-\($0.offset)".utf8), value: Array($0.element.utf8)) })
        }

        /// Runs until every line so far is processed and committed, then stops cleanly.
        func runToCompletion(restores: RestoreRecorder = RestoreRecorder(), recordCacheBytes: Int = 10 << 20) async throws {
            let running = try start(restores: restores, recordCacheBytes: recordCacheBytes)
            // A partition that received nothing has nothing to commit.
            let ends = try await kafka.endOffsets("lines").filter { $0.value > 0 }
            let committed = try await kafka.waitForCommits(group: applicationID, topic: "lines", expected: ends, timeout: .seconds(60))
            try await running.stop().get()
            #expect(committed == ends)
        }

        /// The latest count of each word in the output topic.
        func outputCounts() async throws -> [String: Int64] {
            var latest: [String: Int64] = [:]
            for record in try await kafka.readAll("word-counts", timeout: .seconds(10)) {
                guard let key = text(record.key) else { continue }
                latest[key] = try record.value.map { try BigEndianIntegerSerde<Int64>().deserialize($0) }
            }
            return latest
        }

        func changelogSize() async throws -> Int64 {
            try await kafka.endOffsets(changelog).values.reduce(0, +)
        }
    }

    @Test(arguments: [StoreKind.persistent, .inMemory])
    func countsContinueAcrossACleanRestart(kind: StoreKind) async throws {
        let fixture = try Fixture("wc-restart-\(kind)", kind: kind)
        let first = StateDriverTests.lines(120, seed: 1)
        try await fixture.produce(first)
        try await fixture.runToCompletion()
        #expect(try await fixture.outputCounts() == StateDriverTests.truth(first))

        let second = StateDriverTests.lines(80, seed: 2)
        try await fixture.produce(second)
        let restores = RestoreRecorder()
        try await fixture.runToCompletion(restores: restores)
        #expect(try await fixture.outputCounts() == StateDriverTests.truth(first + second))
        // RocksDB kept everything up to its stored offset; memory had to read it all back.
        if kind == .persistent {
            #expect(restores.total == 0)
        } else {
            #expect(restores.total > 0)
        }
    }

    @Test func aCrashLosesNothingAndCountsAtLeastTheTruth() async throws {
        let fixture = try Fixture("wc-crash")
        let first = StateDriverTests.lines(150, seed: 3)
        try await fixture.produce(first)
        // No commit before the crash: every line is processed again after it. Without a
        // record cache every update is sent at once, so the crash comes after the outputs
        // and changelog records of every line went out.
        let crashing = try fixture.start(commitInterval: .seconds(3600), recordCacheBytes: 0)
        // Every line is processed once each word's count reached its total.
        let firstTruth = StateDriverTests.truth(first)
        let sent = try await fixture.kafka.waitForRecords("word-counts") { records in
            let updates = Set(records.compactMap { record in
                text(record.key).flatMap { key in record.value.flatMap { try? BigEndianIntegerSerde<Int64>().deserialize($0) }.map { "\(key)=\($0)" } }
            })
            return firstTruth.allSatisfy { updates.contains("\($0.key)=\($0.value)") }
        }
        #expect(sent.count >= Int(firstTruth.values.reduce(0, +)))
        crashing.app.simulateCrash()
        _ = await crashing.task.result
        #expect(try await fixture.kafka.committedOffsets(group: fixture.applicationID, topic: "lines").isEmpty)

        let second = StateDriverTests.lines(50, seed: 4)
        try await fixture.produce(second)
        try await fixture.runToCompletion()
        let counts = try await fixture.outputCounts()
        let truth = StateDriverTests.truth(first + second)
        #expect(Set(counts.keys) == Set(truth.keys))
        for (word, count) in truth {
            #expect((counts[word] ?? 0) >= count, "\(word): \(counts[word] ?? 0) < \(count)")
        }
    }

    @Test func cacheOnAndOffGiveTheSameState() async throws {
        let lines = StateDriverTests.lines(200, seed: 9)
        let truth = StateDriverTests.truth(lines)
        /// Runs the word count over `lines`; returns its final counts and changelog length.
        @Sendable func run(recordCacheBytes: Int) async throws -> (counts: [String: Int64], changelog: Int64) {
            let fixture = try Fixture("wc-cache-\(recordCacheBytes)")
            try await fixture.produce(lines)
            try await fixture.runToCompletion(recordCacheBytes: recordCacheBytes)
            return (try await fixture.outputCounts(), try await fixture.changelogSize())
        }
        async let cached = run(recordCacheBytes: 10 << 20)
        async let uncached = run(recordCacheBytes: 0)
        let (on, off) = try await (cached, uncached)
        #expect(on.counts == truth)
        #expect(off.counts == truth)
        // Without a cache every update is logged; with one, a word at most once per commit.
        #expect(off.changelog == truth.values.reduce(0, +))
        #expect(on.changelog < off.changelog)
    }

    @Test func deletedLocalStateIsRebuiltFromTheChangelog() async throws {
        let fixture = try Fixture("wc-deleted")
        let first = StateDriverTests.lines(100, seed: 5)
        try await fixture.produce(first)
        try await fixture.runToCompletion()
        try FileManager.default.removeItem(atPath: fixture.stateDirectory)

        let second = StateDriverTests.lines(60, seed: 6)
        try await fixture.produce(second)
        let restores = RestoreRecorder()
        let changelogBefore = try await fixture.changelogSize()
        try await fixture.runToCompletion(restores: restores)
        #expect(Int64(restores.total) == changelogBefore)
        #expect(try await fixture.outputCounts() == StateDriverTests.truth(first + second))
    }

    @Test func restoreReadsOnlyTheChangelogTailAfterTheStoredOffset() async throws {
        let fixture = try Fixture("wc-tail")
        let first = StateDriverTests.lines(100, seed: 7)
        try await fixture.produce(first)
        try await fixture.runToCompletion()
        let afterFirst = try await fixture.kafka.endOffsets(fixture.changelog)
        // Keep the state as it was after the first run, then let a second run move on.
        let snapshot = fixture.stateDirectory + "-snapshot"
        try FileManager.default.copyItem(atPath: fixture.stateDirectory, toPath: snapshot)
        let second = StateDriverTests.lines(70, seed: 8)
        try await fixture.produce(second)
        try await fixture.runToCompletion()
        let afterSecond = try await fixture.kafka.endOffsets(fixture.changelog)
        try FileManager.default.removeItem(atPath: fixture.stateDirectory)
        try FileManager.default.moveItem(atPath: snapshot, toPath: fixture.stateDirectory)

        let third = StateDriverTests.lines(30, seed: 9)
        try await fixture.produce(third)
        let restores = RestoreRecorder()
        try await fixture.runToCompletion(restores: restores)
        // Each partition resumed right after the offset stored with the snapshot's data.
        for (partition, end) in afterFirst where afterSecond[partition]! > end {
            #expect(restores.startOffsets[partition] == end)
            #expect(Int64(restores.totals[partition] ?? 0) == afterSecond[partition]! - end)
        }
        #expect(try await fixture.outputCounts() == StateDriverTests.truth(first + second + third))
    }
}
