import ChaosScenarios
import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import Testing

/// Exactly-once, proven on the simulated cluster (which keeps Kafka's transactional
/// semantics) by crashing the application at random steps; `streams-chaos sim` runs the
/// same proof over many more seeds.
@Suite struct ExactlyOnceTests {
    let scenario = CountSumMinMax(records: 150, partitions: 2)
    let injection = CrashInjection(crashProbability: 0.003, abortableErrorProbability: 0.002, maxCrashes: 6)

    static func stateDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("eos-test-\(UInt64.random(in: 0...UInt64.max))").path
    }

    func run(
        seed: UInt64, recordCacheBytes: Int = 0, failureProbability: Double = 0, mergedInputs: Bool = false,
        configure: (inout StreamsConfiguration) -> Void = { _ in }
    ) async throws -> (outcome: CountSumMinMax.Outcome, report: SimulatedCluster.RunReport, cluster: SimulatedCluster) {
        var scenario = scenario
        scenario.mergedInputs = mergedInputs
        let directory = Self.stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = SimulatedCluster(seed: seed, injection: injection)
        var logger = streamsTestLogger
        logger.logLevel = .critical
        let failures = ProcessingFailures(seed: seed, probability: failureProbability, maxFailures: 4)
        let (outcome, report) = try await scenario.run(
            on: cluster, seed: seed, stateDirectory: directory, logger: logger, recordCacheBytes: recordCacheBytes, failures: failures,
            configure: configure)
        return (outcome, report, cluster)
    }

    @Test func crashesAtAnyStepLoseAndRepeatNothing() async throws {
        var crashes = 0
        var aborts = 0
        var finalWindows = 0
        var finalSessions = 0
        for seed in UInt64(1)...16 {
            let (outcome, report, cluster) = try await run(seed: seed)
            #expect(outcome.isExact, "seed \(seed): \(outcome)")
            crashes += report.crashes
            aborts += cluster.statistics.abortedTransactions
            finalWindows += cluster.records(CountSumMinMax.windowedCount, isolation: .readCommitted).count
            finalSessions += cluster.records(CountSumMinMax.sessionCount, isolation: .readCommitted).count
        }
        // The proof means something only if crashes and aborts happened, and windows closed
        // (150 records over 10 keys in windows of 20: about 70 per seed).
        #expect(crashes >= 16)
        #expect(aborts >= 16)
        #expect(finalWindows >= 16 * 50)
        #expect(finalSessions >= 16 * 10)
    }

    @Test func processingFailuresAndCrashesWithTheRecordCacheLoseAndRepeatNothing() async throws {
        var failures = 0
        for seed in UInt64(1)...12 {
            let cache = seed % 2 == 0 ? CountSumMinMax.smallRecordCache : 0
            let (outcome, report, _) = try await run(seed: seed, recordCacheBytes: cache, failureProbability: 0.004)
            #expect(outcome.isExact, "seed \(seed) (cache \(cache)): \(outcome)")
            failures += report.failures
        }
        #expect(failures >= 12, "the proof needs failures to happen")
    }

    @Test func mergedInputsStayInEventTimeOrderThroughCrashesRewindsAndPauses() async throws {
        var crashes = 0
        for seed in UInt64(1)...12 {
            let cache = seed % 2 == 0 ? CountSumMinMax.smallRecordCache : 0
            let (outcome, report, _) = try await run(seed: seed, recordCacheBytes: cache, failureProbability: 0.004, mergedInputs: true)
            #expect(outcome.isExact, "seed \(seed) (cache \(cache)): \(outcome)")
            crashes += report.crashes
        }
        #expect(crashes >= 12)
    }

    @Test func theCheckFindsMergedInputsProcessedOutOfOrder() async throws {
        // The control: a task that never waits for a partition with nothing fetched yet
        // processes the other's records first, and the aggregates show it.
        var wrong = 0
        for seed in UInt64(1)...4 {
            let (outcome, _, _) = try await run(seed: seed, mergedInputs: true) { $0.maxTaskIdle = nil }
            wrong += outcome.mismatched + outcome.lost + outcome.duplicated
        }
        #expect(wrong > 0)
    }

    @Test func aWindowReadsItsOperatorStateOnlyAfterItsStoreIsRestored() async throws {
        // streams-chaos sim's seed 562 (its defaults: 200 records, cache on, merged inputs):
        // a crash left local state behind the changelog, and windowed processors that read
        // their last emitted window while the task was built, before the restore, emitted
        // six final results a second time.
        let directory = Self.stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = SimulatedCluster(seed: 562, injection: CrashInjection(crashProbability: 0.002, abortableErrorProbability: 0.001, maxCrashes: 8))
        var logger = streamsTestLogger
        logger.logLevel = .critical
        let (outcome, report) = try await CountSumMinMax(records: 200, partitions: 2, mergedInputs: true).run(
            on: cluster, seed: 562, stateDirectory: directory, logger: logger, recordCacheBytes: CountSumMinMax.smallRecordCache,
            failures: ProcessingFailures(seed: 562, probability: 0.002, maxFailures: 4))
        #expect(report.crashes > 0)
        #expect(outcome.isExact, "\(outcome)")
    }

    @Test func theCheckFindsTheRepeatsOfAtLeastOnce() async throws {
        // The control: the same crashes under at-least-once must show up as duplicates.
        var duplicated = 0
        for seed in UInt64(1)...4 {
            let (outcome, report, _) = try await run(seed: seed) { $0.processingGuarantee = .atLeastOnce }
            #expect(report.crashes > 0)
            duplicated += outcome.duplicated
        }
        #expect(duplicated > 0)
    }

    @Test func aSeedReplaysExactly() async throws {
        let first = try await run(seed: 99)
        let second = try await run(seed: 99)
        #expect(first.cluster.statistics == second.cluster.statistics)
        #expect(first.report.crashes == second.report.crashes)
        // Everything but the transactional ids (made of a random instance id) is the same.
        func log(_ cluster: SimulatedCluster, _ topic: String) -> [String] {
            cluster.records(topic, isolation: .readUncommitted).map { "\($0.partition)@\($0.offset) \($0.key ?? []) \($0.value ?? []) \($0.outcome)" }
        }
        for topic in [CountSumMinMax.echo] + CountSumMinMax.aggregates {
            let same = log(first.cluster, topic) == log(second.cluster, topic)
            #expect(same, "topic \(topic) differs between two runs of one seed")
        }
    }

    @Test func aZombieIsFencedAndNoneOfItsWritesBecomesVisible() async throws {
        let cluster = SimulatedCluster(seed: 7)
        cluster.createTopic("in", partitions: 2)
        cluster.createTopic("out", partitions: 2)
        let input = (0..<60).map { "value-\($0)" }
        for (index, value) in input.enumerated() {
            try cluster.produce("in", key: Array("key-\(index % 6)".utf8), value: Array(value.utf8))
        }
        let topology: @Sendable () throws -> Topology = {
            let builder = StreamsBuilder()
            builder.stream("in", key: .string, value: .string).mapValues { $0.uppercased() }.to("out")
            return try builder.build()
        }
        let zombieDirectory = Self.stateDirectory()
        let successorDirectory = Self.stateDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: zombieDirectory)
            try? FileManager.default.removeItem(atPath: successorDirectory)
        }
        var configuration = StreamsConfiguration(applicationID: "zombie-test", bootstrapServers: "simulated")
        configuration.processingGuarantee = .exactlyOnce
        configuration.commitInterval = .milliseconds(100)
        configuration.stateDirectory = zombieDirectory

        // The zombie processes everything, then stalls as it commits.
        let zombie = cluster.makeInstance()
        let stalled = zombie.hold(at: .commitTransaction)
        var zombieConfiguration = configuration
        zombieConfiguration.clients = zombie.clients
        let zombieApp = try StreamsApp(topology: try topology(), configuration: zombieConfiguration, logger: streamsTestLogger)
        let zombieRun = Task { try await zombieApp.run() }
        try await stalled.waitUntilReached()
        #expect(cluster.records("out", isolation: .readUncommitted).count == input.count)
        #expect(cluster.records("out", isolation: .readCommitted).isEmpty)

        // The group gives up on it; its successor starts with the same instance id, hence
        // the same transactional id, and processes the input again.
        cluster.expireSessions(of: zombie)
        try FileManager.default.createDirectory(atPath: "\(successorDirectory)/zombie-test", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: "\(zombieDirectory)/zombie-test/kafka-streams-process-metadata",
            toPath: "\(successorDirectory)/zombie-test/kafka-streams-process-metadata")
        configuration.stateDirectory = successorDirectory
        _ = try await cluster.runUntilProcessed(topology, configuration: configuration, logger: streamsTestLogger)

        // The zombie wakes up: its commit is refused, and it stops.
        zombieApp.shutdown()
        stalled.release()
        let zombieEnd = await zombieRun.result
        #expect(throws: KafkaError.self) { try zombieEnd.get() }
        #expect(cluster.statistics.fencedCalls >= 1)

        let all = cluster.records("out", isolation: .readUncommitted)
        #expect(all.filter { $0.outcome == .aborted }.count == input.count, "the zombie's writes are all aborted")
        let visible = cluster.records("out", isolation: .readCommitted)
        #expect(visible.map { String(decoding: $0.value ?? [], as: UTF8.self) }.sorted() == input.map { $0.uppercased() }.sorted())
        #expect(visible.allSatisfy { $0.outcome == .committed })
    }
}
