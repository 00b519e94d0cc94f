import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// A service may restart a `StreamsApp` in-process, and its threads may abort and rebuild
/// their tasks many times: memory must come back to its baseline, not grow per run.
///
/// Resident memory is the process's, so these run in a `swift test` of their own
/// (`scripts/run-tests.sh`), with nothing else running beside them.
@Suite(.serialized) struct MemoryTests {
    /// The process's resident memory in bytes (Linux).
    static func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Int(line.split(separator: " ").dropFirst().first ?? ""))
        return kilobytes * 1024
    }

    /// Counts keys of ~2 KB values into a RocksDB store with a changelog.
    static func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("in", key: .string, value: .string)
            .groupByKey()
            .count(materialized: .as("counts"))
            .toStream()
            .to("out", value: .optional(.int64))
        return try builder.build()
    }

    /// One application run to the end of its input on a cluster of its own, with ~2 MB of
    /// input and state; returns the cluster's statistics.
    static func runOnce(seed: UInt64, injection: CrashInjection = .none, records: Int = 1_000) async throws -> SimulatedCluster.Statistics {
        let cluster = SimulatedCluster(seed: seed, injection: injection)
        for topic in ["in", "out"] { cluster.createTopic(topic, partitions: 2) }
        let padding = String(repeating: "x", count: 2_000)
        for index in 0..<records { try cluster.produce("in", key: Array("key-\(index % 500)".utf8), value: Array("\(index)\(padding)".utf8)) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("memory-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = StreamsConfiguration(applicationID: "memory", bootstrapServers: "simulated")
        configuration.processingGuarantee = .exactlyOnce
        configuration.stateDirectory = directory
        configuration.maxPollRecords = 10
        configuration.stateStoreBlockCacheBytes = 1 << 20
        configuration.stateStoreWriteBufferBytes = 1 << 20
        var logger = streamsTestLogger
        logger.logLevel = .critical
        _ = try await cluster.runUntilProcessed({ try topology() }, configuration: configuration, logger: logger)
        return cluster.statistics
    }

    @Test func fiftyApplicationsRunAndStopWithoutGrowingMemory() async throws {
        // Warm up: allocator arenas, RocksDB's and the runtime's one-time structures.
        for seed in UInt64(1)...5 { _ = try await Self.runOnce(seed: seed) }
        let baseline = try Self.residentBytes()
        for seed in UInt64(6)...55 { _ = try await Self.runOnce(seed: seed) }
        let growth = try Self.residentBytes() - baseline

        // Each run touches ~3 MB (input, outputs, changelog, memtables): kept alive, 50
        // would add 150 MB.
        #expect(growth < 40 << 20, "resident memory grew by \(growth >> 20) MB over 50 application runs (baseline \(baseline >> 20) MB)")
    }

    @Test func fiftyAbortsRebuildTasksWithoutGrowingMemory() async throws {
        _ = try await Self.runOnce(seed: 100)
        let baseline = try Self.residentBytes()
        // Abortable errors at sends, offset sends and commits: each aborts the transaction,
        // closes the tasks (RocksDB stores included) and opens them again.
        let statistics = try await Self.runOnce(seed: 101, injection: CrashInjection(abortableErrorProbability: 0.01), records: 3_000)
        let growth = try Self.residentBytes() - baseline

        #expect(statistics.abortedTransactions >= 50, "\(statistics)")
        #expect(growth < 40 << 20, "resident memory grew by \(growth >> 20) MB over \(statistics.abortedTransactions) aborts (baseline \(baseline >> 20) MB)")
    }
}
