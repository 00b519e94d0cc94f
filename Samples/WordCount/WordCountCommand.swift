import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka
import SampleSupport
import ServiceLifecycle
import Synchronization

/// The stateful sample: counts words of text lines, stops, and runs again on more text,
/// showing the counts restored from the changelog and continuing. Runs against the
/// embedded broker unless `--bootstrap-servers` is given.
@main
struct WordCountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "word-count",
        abstract: "A stateful Kafka Streams topology: counts words in RocksDB, restored from its changelog on restart.")

    @Option(help: "Kafka to use (host:port,...); absent: start the embedded mock broker.")
    var bootstrapServers: String?

    @Option(help: "The application id (consumer group and internal topic prefix).")
    var applicationID: String = "word-count"

    @Option(help: "Where tasks keep local state.")
    var stateDir: String = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-streams").path

    @Option(help: "How many words to show.")
    var top: Int = 8

    @Flag(help: "Keep the local state between the runs (by default the second run starts without it, as on a new machine, and rebuilds it from the changelog).")
    var keepLocalState = false

    @OptionGroup var serveOptions: ServeOptions

    func validate() throws {
        if serveOptions.serve && bootstrapServers == nil { throw ValidationError("--serve needs --bootstrap-servers") }
    }

    func run() async throws {
        var logger = Logger(label: "word-count") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .notice
        let topology = try WordCountTopology.build()
        print(topology.describe())

        let kafka = try Broker(bootstrapServers: bootstrapServers, logger: logger)
        print("Kafka at \(kafka.bootstrapServers)\(kafka.embedded == nil ? "" : " (embedded mock broker)")")
        if serveOptions.serve {
            try await serveOptions.runUntilSignalled(try makeApp(kafka: kafka, logger: logger), logger: logger)
            return
        }
        if kafka.embedded != nil {
            // A new embedded broker has no changelog the old local state could match.
            try? FileManager.default.removeItem(atPath: "\(stateDir)/\(applicationID)")
        }
        try await kafka.createTopics([WordCountTopology.input, WordCountTopology.output], partitions: 3)

        var counts: [String: Int64] = [:]
        var wordsSoFar = 0
        for (run, batch) in [WordCountTopology.firstBatch, WordCountTopology.secondBatch].enumerated() {
            if run > 0 && !keepLocalState {
                try FileManager.default.removeItem(atPath: "\(stateDir)/\(applicationID)")
                print("\nDeleted the local state, as if the app had moved to a new machine: the store is rebuilt from its changelog.")
            }
            print("\nRun \(run + 1): \(batch.count) lines to \(WordCountTopology.input)")
            for line in batch { print("  \(line)") }
            let before = counts
            wordsSoFar += batch.flatMap(WordCountTopology.words(in:)).count
            counts = try await countWords(batch, totalWords: wordsSoFar, kafka: kafka, logger: logger)
            print("Top words after run \(run + 1), read from the store \(WordCountTopology.store) (state in \(stateDir)/\(applicationID)):")
            for (word, count) in counts.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }).prefix(top) {
                let change = before[word].map { $0 == count ? "" : "  (was \($0))" } ?? (run > 0 ? "  (new)" : "")
                print("  \(word.padding(toLength: 12, withPad: " ", startingAt: 0)) \(count)\(change)")
            }
        }
    }

    /// Runs the app on `lines` until its store counts `totalWords` words in all (every run's
    /// words so far), then stops it; returns the store's counts.
    private func countWords(_ lines: [String], totalWords: Int, kafka: Broker, logger: Logger) async throws -> [String: Int64] {
        try await kafka.produce(WordCountTopology.input, lines.enumerated().map { (key: "line-\($0.offset)", value: $0.element) })

        let restores = RestoreReport()
        let app = try makeApp(kafka: kafka, restoreListener: restores, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)

        async let running: Void = group.run()
        let counts = await Self.queryUntilCounted(totalWords, app: app)
        await group.triggerGracefulShutdown()
        try await running

        if let restored = restores.summary { print("Restored from the changelog before processing: \(restored)") }
        guard let counts else { throw ValidationError("the store did not reach \(totalWords) words within 60 s") }
        return counts
    }

    private func makeApp(kafka: Broker, restoreListener: RestoreReport? = nil, logger: Logger) throws -> StreamsApp {
        var configuration = kafka.streamsConfiguration(applicationID: applicationID)
        configuration.stateDirectory = stateDir
        configuration.restoreListener = restoreListener
        try serveOptions.apply(to: &configuration)
        return try StreamsApp(topology: try WordCountTopology.build(), configuration: configuration, logger: logger)
    }

    /// Asks the running app's store (an interactive query) until its counts add up to
    /// `total`; nil after a minute. Store reads block, so they run on a thread of their own.
    private static func queryUntilCounted(_ total: Int, app: StreamsApp) async -> [String: Int64]? {
        try? await onOwnThread(named: "word-count-query") {
            let store = try app.store(named: WordCountTopology.store, key: String.self, value: Int64.self)
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                // Restoring or not yet assigned: ask again.
                if let entries = try? store.all(), entries.reduce(0, { $0 + $1.value }) == Int64(total) {
                    return Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.value) })
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return nil
        }
    }
}

/// Sums what the restores of one run read.
private final class RestoreReport: StateRestoreListener {
    private let restored = Mutex<(records: Int, partitions: Int)>((0, 0))

    var summary: String? {
        let (records, partitions) = restored.withLock { $0 }
        return partitions == 0 ? nil : "\(records) records over \(partitions) partitions"
    }

    func onRestoreStart(store: String, topic: String, partition: Int32, startOffset: Int64, endOffset: Int64) {}
    func onBatchRestored(store: String, topic: String, partition: Int32, batchEndOffset: Int64, records: Int) {}
    func onRestoreEnd(store: String, topic: String, partition: Int32, totalRecords: Int) {
        restored.withLock { $0 = ($0.records + totalRecords, $0.partitions + 1) }
    }
}
