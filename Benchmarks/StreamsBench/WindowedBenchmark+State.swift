import Foundation
import KafkaStreams
import Logging
import RdKafka
import RocksDB

/// What the tumbling run leaves behind: how much of its window store is on disk once
/// RocksDB has applied the expired segments' range deletions, and how fast a new instance
/// restores the store from its changelog.
extension WindowedBenchmark {
    /// The compacted size of the tumbling run's window stores against the windows of its
    /// last retention: bytes on disk once each store's memtable is flushed and its files
    /// compacted (what the range deletions of expired segments leave), and the raw bytes
    /// (key and value) of the windows that started within one retention of the newest.
    struct CompactedState {
        var tableBytes = 0.0
        var retainedBytes = 0.0
        var windows = 0
        var windowsInLastRetention = 0
    }

    /// Reads every task's store `store` of the stopped application (RocksDB directly).
    func compactedState(stateDirectory: String, applicationID: String, store: String, retention: Int64) throws -> CompactedState {
        var state = CompactedState()
        let root = "\(stateDirectory)/\(applicationID)"
        for task in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            let path = "\(root)/\(task)/\(store)"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let database = try Database(path: path)
            try database.flush()
            try database.compactAll()
            // Data keys: 0x01, then [segment][key][start], each number 8 bytes big-endian;
            // the operator's state sits in the last segment.
            var windows: [(start: Int64, bytes: Int)] = []
            // The iterator must be gone before the database closes.
            do {
                let iterator = try database.range(from: [0x01], to: [0x02])
                while let entry = iterator.next() {
                    let key = entry.key
                    guard key.count >= 17, key[1] != 0x7f else { continue }
                    let start = key.suffix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
                    windows.append((start, key.count + entry.value.count))
                }
                try iterator.checkStatus()
            }
            database.close()
            let newest = windows.map(\.start).max() ?? 0
            state.windows += windows.count
            for window in windows where window.start > newest - retention {
                state.windowsInLastRetention += 1
                state.retainedBytes += Double(window.bytes)
            }
            state.tableBytes += directorySize(path, suffix: ".sst")
        }
        return state
    }

    /// The restore runs' application, whose store `counts` restores from its changelog.
    static let restoreApplicationID = "windowed-bench-restore"

    /// Fills the restore runs' changelog with `records` distinct windows in the tumbling
    /// store's own layout (`[segment][key][start]` keys, `[time][count]` values), spread over
    /// the partitions.
    func fillRestoreChangelog(records: Int, cluster: MockCluster, logger: Logger) throws {
        let changelog = "\(Self.restoreApplicationID)-counts-changelog"
        try cluster.createTopic("windowed-restore-in", partitions: partitions)
        try cluster.createTopic(changelog, partitions: partitions)
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        progress("filling \(changelog) with \(records) windows")
        let bigEndian = { (value: Int64) in withUnsafeBytes(of: value.bigEndian) { Array($0) } }
        try fillTopic(changelog, count: records, base: base, lingerMs: 5, logger: logger) { index in
            // Minute windows of 1,000 keys, a day's segments.
            let start = Int64(index / keys) * 60_000
            let key = bigEndian(start / 86_400_000) + Array("k\(index % keys)".utf8) + bigEndian(start)
            return ProducerRecord(
                topic: changelog, partition: Int32(index % partitions), key: key, value: bigEndian(start + 59_000) + bigEndian(Int64(index % 7 + 1)))
        }
        let inspector = try Consumer(configuration: base, logger: logger)
        try verifyRetained(changelog, partitions: partitions, records: records, inspector: inspector)
        try inspector.close()
    }

    /// Restores the tumbling window store from the filled changelog into the empty
    /// `stateDirectory`, timed by the restore listener from the first partition's start to
    /// the last one's end; records/s.
    func restoreRate(records: Int, cluster: MockCluster, stateDirectory: String, logger: Logger) throws -> Double {
        let applicationID = Self.restoreApplicationID
        let builder = StreamsBuilder()
        builder.stream("windowed-restore-in", key: .string, value: .bytes).groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .zero)).count(materialized: .as("counts"), retention: .seconds(30 * 86_400))
        let (running, timing, done) = try TimedRestore.run(
            try builder.build(), applicationID: applicationID, cluster: cluster, stateDirectory: stateDirectory, batchSize: 10_000,
            partitions: partitions, logger: logger)
        // Proof the windows arrived: one of the first minute, read back through a query.
        let store = try running.app.windowStore(named: "counts", key: String.self, value: Int64.self)
        let found = running.wait(timeout: .seconds(30), every: 0.01) { (try? store.fetch("k0", windowStart: 0)) == 1 }
        try running.stop()
        guard done else { throw BenchmarkFailure("restored \(timing.finishedPartitions) of \(partitions) partitions in time") }
        guard timing.records == records else { throw BenchmarkFailure("restored \(timing.records) records, expected \(records)") }
        guard found else { throw BenchmarkFailure("the restored window store lacks window k0@0") }
        return Double(records) / timing.elapsedSeconds
    }

    /// Plain RocksDB batched puts in C of as many records, with keys of 16 bytes and values
    /// of 16 (a window's time and count): the floor a restore is measured against.
    func batchedPutRate(records: Int, path: String) throws -> Double {
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try cBatchedPutRate(path: path, records: records, batchSize: 10_000, valueBytes: 16)
    }

    /// The bytes of the files under `path` whose names end with `suffix`.
    func directorySize(_ path: String, suffix: String = "") -> Double {
        guard let files = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0.0
        for case let file as String in files where file.hasSuffix(suffix) {
            total += (try? FileManager.default.attributesOfItem(atPath: "\(path)/\(file)")[.size] as? NSNumber)?.doubleValue ?? 0
        }
        return total
    }
}
