import ArgumentParser
import Foundation
import KafkaStreams
import KafkaStreamsTesting
import ChaosScenarios
import Logging
import RdKafka

/// `streams-chaos kill`: real processes, real librdkafka. The sample app is SIGKILLed at
/// random moments and restarted; in the end every input must show in its output, and under
/// `--exactly-once` (against a broker that honours transactions) show exactly once.
struct KillAndRestart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill",
        abstract: "Runs a sample app as a child process against Kafka, SIGKILLs and restarts it at random, and checks that no input is lost (nor repeated, under --exactly-once).",
        discussion: """
            Starts embedded-kafka with the sample's topics (or, with --bootstrap-servers, uses that Kafka and creates \
            the sample's input and output topics through the admin API), feeds input at a steady rate, and runs the \
            sample (--serve) as a child process, killing it with SIGKILL after a random time, --kills times, and \
            starting it again on the same state directory. Then it stops the input, runs the sample until the output \
            accounts for every input, and stops it with SIGTERM. At-least-once allows repeats (reported as duplicated) \
            but no loss. With --exactly-once the sample runs with the exactly-once guarantee and the output is read \
            read_committed, as Kafka's streams_eos_test verifies: a repeat fails the run too. The embedded broker does \
            not honour transactions, so there a kill can leave repeats that are the mock's, not the app's; run it \
            against a real Kafka (docker-compose.yml). The last line is a JSON summary; the exit status is 1 when the run failed.
            """)

    @Option(help: "How many times to kill the app.") var kills = 20
    @Option(help: "The sample to run: \(SampleName.allCases.map(\.rawValue).joined(separator: " or ")).")
    var sample: SampleName = .wordCount
    @Option(help: "Input records written per second while the app is being killed.") var rate = 200
    @Option(help: "Feed input for at least this many seconds, however few the kills.") var minFeed = 2.0
    @Option(help: "The shortest life of the app before a kill, in seconds.") var minLife = 0.5
    @Option(help: "The longest life of the app before a kill, in seconds.") var maxLife = 8.0
    @Option(help: "Partitions of every topic.") var partitions = 4
    @Option(help: "Seed of the kill times (default: from the clock; printed in the summary).") var seed: UInt64?
    @Option(help: "How long the last run may take to account for every input, in seconds.") var drainTimeout = 120
    @Option(help: "Where the app's state and the processes' logs go (kept when given, or when the run fails).") var workDir: String?
    @Option(help: "A Kafka to run against (host:port,...) instead of a new embedded broker; its topics for the sample must be new.")
    var bootstrapServers: String?
    @Flag(help: "Run the sample exactly-once and read its output read_committed: any repeat fails the run.") var exactlyOnce = false

    func validate() throws {
        guard kills >= 0, rate >= 1, partitions >= 1 else { throw ValidationError("--kills must be 0 or more, --rate and --partitions at least 1") }
        guard minLife > 0, maxLife >= minLife else { throw ValidationError("need 0 < --min-life <= --max-life") }
        guard minFeed >= 0 else { throw ValidationError("--min-feed must be 0 or more") }
    }

    func run() async throws {
        let seed = seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
        let directory = workDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("streams-chaos-kill-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let run = KillRun(
            scenario: sample.scenario(), kills: kills, rate: rate, minFeed: .milliseconds(Int64(minFeed * 1000)), lives: minLife...maxLife,
            partitions: partitions,
            seed: seed, drainTimeout: .seconds(drainTimeout), directory: directory, bootstrapServers: bootstrapServers,
            exactlyOnce: exactlyOnce)
        let summary: KillSummary
        do {
            summary = try await onOwnThread(named: "chaos:kill") { try run.execute() }
        } catch {
            emit("logs kept in \(directory)")
            throw error
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        emit(String(decoding: try encoder.encode(summary), as: UTF8.self))
        if summary.passed {
            if workDir == nil { try? FileManager.default.removeItem(atPath: directory) }
        } else {
            emit("logs kept in \(directory)")
            throw ExitCode(1)
        }
    }
}

/// The JSON line `kill` ends with.
struct KillSummary: Encodable {
    var sample: String
    /// "at_least_once" or "exactly_once".
    var guarantee: String
    /// Where the run's Kafka was: "embedded" or the bootstrap servers given.
    var broker: String
    var kills = 0
    var records = 0
    var lost = 0
    var duplicated = 0
    /// Starts that ended on their own before the kill (a crash of the app).
    var unexpectedExits = 0
    /// Whether the last run accounted for every input and then stopped cleanly on SIGTERM.
    var drained = false
    var cleanShutdown = false
    var seed: UInt64
    var seconds = 0.0

    var passed: Bool { lost == 0 && (guarantee != "exactly_once" || duplicated == 0) && unexpectedExits == 0 && drained && cleanShutdown }

    enum CodingKeys: String, CodingKey {
        case sample, guarantee, broker, kills, records, lost, duplicated, drained, seed, seconds
        case unexpectedExits = "unexpected_exits"
        case cleanShutdown = "clean_shutdown"
    }
}

/// One `kill` run, on a thread of its own: every call here blocks.
private struct KillRun: Sendable {
    let scenario: any KillScenario
    let kills: Int
    let rate: Int
    let minFeed: Duration
    let lives: ClosedRange<Double>
    let partitions: Int
    let seed: UInt64
    let drainTimeout: Duration
    let directory: String
    /// A Kafka of the user's; nil: a new embedded broker.
    let bootstrapServers: String?
    let exactlyOnce: Bool

    func execute() throws -> KillSummary {
        let started = ContinuousClock.now
        var logger = Logger(label: "streams-chaos") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        var summary = KillSummary(
            sample: scenario.executable, guarantee: exactlyOnce ? "exactly_once" : "at_least_once", broker: bootstrapServers ?? "embedded",
            seed: seed)
        var random = SeededRandom(seed: seed)

        let embedded: EmbeddedKafkaProcess?
        if let bootstrapServers {
            embedded = nil
            try KillTopics(scenario: scenario, partitions: partitions, bootstrapServers: bootstrapServers, logger: logger).prepare()
        } else {
            embedded = try EmbeddedKafkaProcess(topics: scenario.topics, partitions: partitions, logPath: "\(directory)/embedded-kafka.log")
        }
        defer { embedded?.stop() }
        let broker = embedded?.bootstrapServers ?? bootstrapServers ?? ""
        let collector = try OutputCollector(
            scenario: scenario, bootstrapServers: broker, partitions: partitions, readCommitted: exactlyOnce, logger: logger)
        defer { collector.stop() }
        let feeder = try InputFeeder(scenario: scenario, bootstrapServers: broker, recordsPerSecond: rate, logger: logger)
        // Whatever ends this run early must not leave an app running.
        var current: ChildProcess?
        defer { current?.stop() }

        for life in stride(from: 1, through: kills, by: 1) {
            let app = try start(life: life, broker: broker, embedded: embedded != nil)
            current = app
            let lifetime = Double.random(in: lives, using: &random)
            if let ended = app.wait(timeout: .milliseconds(Int64(lifetime * 1000))) {
                summary.unexpectedExits += 1
                emit("life \(life): the app ended on its own (\(ended)) before its kill:\n\(app.logTail())")
                continue
            }
            app.send(SIGKILL)
            let ended = app.wait(timeout: .seconds(10))
            guard ended == .signalled(SIGKILL) else {
                throw KillRunFailure("life \(life): SIGKILL did not end the app (\(ended.map(\.description) ?? "still running"))")
            }
            summary.kills += 1
            let sofar = try collector.check(inputs: feeder.count)
            emit(String(format: "kill %d after %.2f s: %d records in, %d not yet out", summary.kills, lifetime, feeder.count, sofar.lost))
        }
        let fedUntil = started + minFeed
        if ContinuousClock.now < fedUntil { Thread.sleep(forTimeInterval: (fedUntil - ContinuousClock.now).fractionalSeconds) }
        summary.records = try feeder.stop()

        // The last life: until the outputs account for every input, then a graceful stop.
        let app = try start(life: kills + 1, broker: broker, embedded: embedded != nil)
        current = app
        let deadline = ContinuousClock.now + drainTimeout
        var check = try collector.check(inputs: summary.records)
        while check.lost > 0 && ContinuousClock.now < deadline && app.isRunning {
            Thread.sleep(forTimeInterval: 0.2)
            check = try collector.check(inputs: summary.records)
        }
        summary.drained = check.lost == 0
        if !app.isRunning { summary.unexpectedExits += 1 }
        app.send(SIGTERM)
        let ended = app.wait(timeout: .seconds(30))
        summary.cleanShutdown = ended == .exited(0)
        if !summary.cleanShutdown { emit("the last run ended with \(ended.map(\.description) ?? "no exit in 30 s"):\n\(app.logTail())") }
        if ended == nil { app.send(SIGKILL) }
        summary.lost = check.lost
        summary.duplicated = check.duplicated
        summary.seconds = (ContinuousClock.now - started).fractionalSeconds
        return summary
    }

    /// Starts the sample on the shared state directory; on the embedded broker with its
    /// fast group settings (a real broker refuses sessions under 6 s by default).
    private func start(life: Int, broker: String, embedded: Bool) throws -> ChildProcess {
        var arguments = [
            "--serve", "--bootstrap-servers", broker, "--application-id", scenario.applicationID, "--state-dir", "\(directory)/state",
            "--consumer-property", "fetch.wait.max.ms=10",
        ]
        if embedded {
            arguments += ["--consumer-property", "session.timeout.ms=4000", "--consumer-property", "heartbeat.interval.ms=500"]
        }
        if exactlyOnce { arguments.append("--exactly-once") }
        return try ChildProcess(scenario.executable, arguments, logPath: "\(directory)/app-\(life).log")
    }
}

/// The samples `kill` can run.
enum SampleName: String, ExpressibleByArgument, CaseIterable, Sendable {
    case clickEvents = "click-events"
    case wordCount = "word-count"

    func scenario() -> any KillScenario {
        switch self {
        case .clickEvents: ClickEventsScenario()
        case .wordCount: WordCountScenario()
        }
    }
}
