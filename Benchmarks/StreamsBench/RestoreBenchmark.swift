import ArgumentParser
import CBaseline
import Foundation
import KafkaStreams
import Logging
import RdKafka
import Synchronization

/// A count store rebuilt by `StreamsApp` from a changelog of N records (one store per
/// partition, RocksDB, empty state directory), against plain RocksDB batched puts of the
/// same keys and value sizes in C (Benchmarks/CBaseline/rocksdb.c), alternating rounds.
///
/// The restore is timed by the app's own restore listener, from the first partition's
/// start to the last one's end; it includes reading the changelog from the embedded broker.
/// The changelog is filled once and checked to hold every record (the mock keeps ~5 MiB
/// per partition), and each round checks the listener counted every record.
struct RestoreBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore of a RocksDB store from its changelog vs plain RocksDB batched puts.")

    @Option(help: "Changelog records (distinct keys).") var records = 1_000_000
    @Option(help: "Partitions of the changelog (the mock keeps ~5 MiB per partition).") var partitions = 16
    @Option(help: "Records per restore batch and per baseline write batch.") var batchSize = 10_000
    @Option(help: "Rounds of each implementation.") var rounds = 3
    @Option(help: "Directory for state and databases (removed afterwards).")
    var directory = FileManager.default.temporaryDirectory.appendingPathComponent("streams-bench-restore").path

    private static let applicationID = "restore-bench"
    private static let changelog = "\(applicationID)-counts-changelog"
    /// The count store's values: 8-byte big-endian integers.
    private static let valueBytes = 8

    func run() throws {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("restore-in", partitions: partitions)
        try cluster.createTopic(Self.changelog, partitions: partitions)
        try fillChangelog(cluster: cluster, logger: logger)

        var swift: [Double] = []
        var c: [Double] = []
        for round in 0..<rounds {
            try alternate(
                round: round,
                {
                    let rate = try runC(path: "\(directory)/c-\(round)")
                    progress("round \(round): C     \(Int(rate)) records/s")
                    c.append(rate)
                },
                {
                    let rate = try runSwift(cluster: cluster, stateDirectory: "\(directory)/swift-\(round)", logger: logger)
                    progress("round \(round): Swift \(Int(rate)) records/s")
                    swift.append(rate)
                })
        }
        var details: [String: Double] = [
            "partitions": Double(partitions), "batch_size": Double(batchSize), "value_bytes": Double(Self.valueBytes),
            "swift_median_rate": median(swift).rounded(), "c_median_rate": median(c).rounded(), "median_ratio": median(swift) / median(c),
        ]
        for (index, rate) in swift.enumerated() { details["swift_round_\(index)"] = rate.rounded() }
        for (index, rate) in c.enumerated() { details["c_round_\(index)"] = rate.rounded() }
        try BenchmarkReport(
            bench: "restore", records: records, rate: swift.max() ?? 0, baseline: "c-rocksdb-batched-puts",
            baselineRate: c.max() ?? 0, details: details
        ).print()
    }

    /// The key of record `index`: the C baseline's `key-%012d`.
    private static func key(_ index: Int) -> [UInt8] {
        let digits = String(index)
        return Array(("key-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits).utf8)
    }

    private func fillChangelog(cluster: MockCluster, logger: Logger) throws {
        progress("filling \(Self.changelog) with \(records) records over \(partitions) partitions")
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        try fillTopic(Self.changelog, count: records, base: base, lingerMs: 5, logger: logger) { index in
            ProducerRecord(
                topic: Self.changelog, partition: Int32(index % partitions), key: Self.key(index),
                value: withUnsafeBytes(of: Int64(index).bigEndian) { Array($0) })
        }
        let inspector = try Consumer(configuration: base, logger: logger)
        defer { try? inspector.close() }
        try verifyRetained(Self.changelog, partitions: partitions, records: records, inspector: inspector)
    }

    /// Starts the app on an empty state directory and waits for every partition's restore.
    private func runSwift(cluster: MockCluster, stateDirectory: String, logger: Logger) throws -> Double {
        let builder = StreamsBuilder()
        builder.stream("restore-in", key: .string, value: .string).groupByKey().count(materialized: .as("counts"))
        let (running, timing, done) = try TimedRestore.run(
            try builder.build(), applicationID: Self.applicationID, cluster: cluster, stateDirectory: stateDirectory, batchSize: batchSize,
            partitions: partitions, logger: logger)
        let counts = try running.app.store(named: "counts", key: String.self, value: Int64.self)
        let sample = (0..<100).map { $0 * (records / 100) }
        let found = running.wait(timeout: .seconds(30), every: 0.01) {
            (try? sample.allSatisfy { try counts.get(String(decoding: Self.key($0), as: UTF8.self)) == Int64($0) }) ?? false
        }
        try running.stop()
        guard done else { throw BenchmarkFailure("restored \(timing.finishedPartitions) of \(partitions) partitions in time") }
        guard timing.records == records else { throw BenchmarkFailure("restored \(timing.records) records, expected \(records)") }
        guard found else { throw BenchmarkFailure("restored store lacks sampled keys") }
        return Double(records) / timing.elapsedSeconds
    }

    private func runC(path: String) throws -> Double {
        try cBatchedPutRate(path: path, records: records, batchSize: batchSize, valueBytes: Self.valueBytes)
    }
}

/// Records/s of plain RocksDB batched puts in C (Benchmarks/CBaseline/rocksdb.c) of
/// `records` 16-byte keys with values of `valueBytes`: the floor a restore is measured against.
func cBatchedPutRate(path: String, records: Int, batchSize: Int, valueBytes: Int) throws -> Double {
    var puts = cbaseline_result()
    var reads = cbaseline_result()
    var error = [CChar](repeating: 0, count: 512)
    guard cbaseline_rocksdb(path, Int64(records), Int32(batchSize), Int32(valueBytes), 0, 1, &puts, &reads, &error, error.count) == 0 else {
        throw BenchmarkFailure("C RocksDB baseline failed: \(cMessage(error))")
    }
    return Double(puts.records) / puts.seconds
}

/// An app started on an empty state directory, its restore timed by its restore listener.
enum TimedRestore {
    /// Starts `topology` and waits until `partitions` store partitions have restored;
    /// returns the running app (to query, then stop), the timing, and whether they did.
    static func run(
        _ topology: Topology, applicationID: String, cluster: MockCluster, stateDirectory: String, batchSize: Int, partitions: Int, logger: Logger
    ) throws -> (running: BackgroundApp, timing: RestoreTiming, finished: Bool) {
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: cluster.bootstrapServers)
        configuration.stateDirectory = stateDirectory
        configuration.restoreBatchSize = batchSize
        configuration.consumerProperties = KafkaConfiguration(properties: [
            "fetch.wait.max.ms": "10", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
        ])
        let timing = RestoreTiming()
        configuration.restoreListener = timing
        let running = BackgroundApp(try StreamsApp(topology: topology, configuration: configuration, logger: logger))
        let finished = running.wait(timeout: .seconds(300), every: 0.01) { timing.finishedPartitions == partitions }
        return (running, timing, finished)
    }
}

/// The restore listener timing a restore: first start to last end, and records applied.
final class RestoreTiming: StateRestoreListener {
    private struct State {
        var firstStart: ContinuousClock.Instant?
        var lastEnd: ContinuousClock.Instant?
        var finished = 0
        var records = 0
    }

    private let state = Mutex(State())

    var finishedPartitions: Int { state.withLock { $0.finished } }
    var records: Int { state.withLock { $0.records } }
    var elapsedSeconds: Double {
        state.withLock { state in
            guard let start = state.firstStart, let end = state.lastEnd else { return .infinity }
            return (end - start).fractionalSeconds
        }
    }

    func onRestoreStart(store: String, topic: String, partition: Int32, startOffset: Int64, endOffset: Int64) {
        state.withLock { $0.firstStart = $0.firstStart ?? .now }
    }

    func onBatchRestored(store: String, topic: String, partition: Int32, batchEndOffset: Int64, records: Int) {}

    func onRestoreEnd(store: String, topic: String, partition: Int32, totalRecords: Int) {
        state.withLock {
            $0.lastEnd = .now
            $0.finished += 1
            $0.records += totalRecords
        }
    }
}
