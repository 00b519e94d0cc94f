import ArgumentParser
import ChaosScenarios
import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka

/// `streams-chaos sim`: the exactly-once proof on the simulated cluster, one seed after
/// another (a few at a time).
struct SimulateCrashes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Runs the count/sum/min/max topology (with windows, sessions and joins) under exactly-once on a simulated cluster, crashing it at random steps.",
        discussion: """
            For each seed the instance is killed at random among every step of poll, process, produce, commit and \
            checkpoint, its processors throw at random (the app stops under the .fail handler), and it is restarted on \
            its state directory until all input is processed. Half the seeds (the even ones) run with the record cache \
            on, so crashes and failures also hit the cache's flush at commit; half (seeds 2, 3, 6, 7, ...) spread the input \
            over two topics that the topology merges, so crashes also hit the tasks' record queues and the event-time \
            choice between them. Then every output a read_committed reader \
            sees, and every store, is compared with a direct computation. The last line is a JSON summary; the exit \
            status is 1 when any seed lost, repeated or changed a record.
            """)

    @Option(help: "How many seeds to run.") var seeds = 100
    @Option(help: "The first seed.") var firstSeed: UInt64 = 1
    @Option(help: "Input records per seed.") var records = 200
    @Option(help: "Chance of a crash at each step.") var crashProbability = 0.002
    @Option(help: "Chance of an injected abortable error at each send, offset send and commit.") var errorProbability = 0.001
    @Option(help: "At most this many crashes per seed.") var maxCrashes = 8
    @Option(help: "Chance that a processor throws, at each record after the echo is sent and at each count update.")
    var failureProbability = 0.002
    @Option(help: "At most this many processing failures per seed.") var maxFailures = 4
    @Option(help: "Which seeds run with the record cache on: alternate (even seeds), all or none.") var recordCache: SeedChoice = .alternate
    @Option(help: "Which seeds spread the input over two topics the topology merges in event-time order: alternate (every other pair of seeds), all or none.")
    var mergedInputs: SeedChoice = .alternate
    @Option(help: "Seeds run at the same time.") var parallel = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Where the instances keep their state (default: /dev/shm when present, so RocksDB's file churn stays in memory).")
    var stateDir: String?
    @Flag(help: "Run at-least-once instead: a control that shows the check finds the repeats crashes then cause.")
    var atLeastOnce = false
    @Option(help: "Partitions of every topic.") var partitions = 2
    @Option(help: "Log level of the applications (critical, error, warning, info, debug, trace).") var logLevel = "critical"

    func run() async throws {
        let started = ContinuousClock.now
        let single = CountSumMinMax(records: records, partitions: partitions)
        let merged = CountSumMinMax(records: records, partitions: partitions, mergedInputs: true)
        let injection = CrashInjection(crashProbability: crashProbability, abortableErrorProbability: errorProbability, maxCrashes: maxCrashes)
        var logger = Logger(label: "streams-chaos")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .critical
        let base = stateDir ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : FileManager.default.temporaryDirectory.path)
        let root = "\(base)/streams-chaos-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }

        var summary = SimulationSummary()
        let range = firstSeed..<(firstSeed + UInt64(seeds))
        try await withThrowingTaskGroup(of: SeedResult.self) { group in
            var next = range.makeIterator()
            func startNext() {
                guard let seed = next.next() else { return }
                group.addTask { [logger] in
                    let directory = "\(root)/seed-\(seed)"
                    defer { try? FileManager.default.removeItem(atPath: directory) }
                    let cluster = SimulatedCluster(seed: seed, injection: injection)
                    let cached = recordCache.isOn(seed: seed)
                    // Every other pair of seeds, so that both halves meet the cache on and off.
                    let scenario = mergedInputs.isOn(seed: seed / 2 + 1) ? merged : single
                    let failures = ProcessingFailures(seed: seed, probability: failureProbability, maxFailures: maxFailures)
                    let (outcome, report) = try await scenario.run(
                        on: cluster, seed: seed, stateDirectory: directory, logger: logger,
                        recordCacheBytes: cached ? CountSumMinMax.smallRecordCache : 0, failures: failures
                    ) {
                        if atLeastOnce { $0.processingGuarantee = .atLeastOnce }
                    }
                    return SeedResult(
                        seed: seed, cached: cached, merged: scenario.mergedInputs, outcome: outcome, report: report, statistics: cluster.statistics)
                }
            }
            for _ in 0..<max(parallel, 1) { startNext() }
            while let result = try await group.next() {
                summary.add(result)
                if summary.seeds % 100 == 0 || !result.outcome.isExact {
                    emit("seeds \(summary.seeds)/\(seeds): crashes \(summary.crashes), failures \(summary.processingFailures), lost \(summary.lost), duplicated \(summary.duplicated), mismatched \(summary.mismatched)\(result.outcome.isExact ? "" : " (seed \(result.seed) failed)")")
                }
                startNext()
            }
        }
        summary.seconds = (ContinuousClock.now - started).fractionalSeconds
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        emit(String(decoding: try encoder.encode(summary), as: UTF8.self))
        if !summary.failedSeeds.isEmpty { throw ExitCode(1) }
    }
}

/// Which seeds run with an option (the record cache, merged inputs) on.
enum SeedChoice: String, ExpressibleByArgument, CaseIterable {
    case alternate, all, none

    func isOn(seed: UInt64) -> Bool {
        switch self {
        case .alternate: seed % 2 == 0
        case .all: true
        case .none: false
        }
    }
}

struct SeedResult: Sendable {
    let seed: UInt64
    let cached: Bool
    let merged: Bool
    let outcome: CountSumMinMax.Outcome
    let report: SimulatedCluster.RunReport
    let statistics: SimulatedCluster.Statistics
}

/// The JSON line `sim` ends with.
struct SimulationSummary: Encodable {
    var seeds = 0
    var seedsWithCache = 0
    var seedsWithMergedInputs = 0
    var crashes = 0
    var processingFailures = 0
    var lost = 0
    var duplicated = 0
    var mismatched = 0
    var abortedTransactions = 0
    var committedTransactions = 0
    var injectedErrors = 0
    var failedSeeds: [UInt64] = []
    var seconds = 0.0

    enum CodingKeys: String, CodingKey {
        case seeds, crashes, lost, duplicated, mismatched, seconds
        case seedsWithCache = "seeds_with_cache"
        case seedsWithMergedInputs = "seeds_with_merged_inputs"
        case processingFailures = "processing_failures"
        case abortedTransactions = "aborted_transactions"
        case committedTransactions = "committed_transactions"
        case injectedErrors = "injected_errors"
        case failedSeeds = "failed_seeds"
    }

    mutating func add(_ result: SeedResult) {
        seeds += 1
        if result.cached { seedsWithCache += 1 }
        if result.merged { seedsWithMergedInputs += 1 }
        crashes += result.report.crashes
        processingFailures += result.report.failures
        lost += result.outcome.lost
        duplicated += result.outcome.duplicated
        mismatched += result.outcome.mismatched
        abortedTransactions += result.statistics.abortedTransactions
        committedTransactions += result.statistics.committedTransactions
        injectedErrors += result.statistics.injectedErrors
        if !result.outcome.isExact { failedSeeds.append(result.seed) }
    }
}
