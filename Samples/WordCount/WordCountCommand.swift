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

    func run() async throws {
        var logger = Logger(label: "word-count") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .notice
        let topology = try WordCountTopology.build()
        print(topology.describe())

        let kafka = try Broker(bootstrapServers: bootstrapServers, logger: logger)
        print("Kafka at \(kafka.bootstrapServers)\(kafka.embedded == nil ? "" : " (embedded mock broker)")")
        if kafka.embedded != nil {
            // A new embedded broker has no changelog the old local state could match.
            try? FileManager.default.removeItem(atPath: "\(stateDir)/\(applicationID)")
        }
        try await kafka.createTopics([WordCountTopology.input, WordCountTopology.output], partitions: 3)

        var counts: [String: Int64] = [:]
        for (run, batch) in [WordCountTopology.firstBatch, WordCountTopology.secondBatch].enumerated() {
            if run > 0 && !keepLocalState {
                try FileManager.default.removeItem(atPath: "\(stateDir)/\(applicationID)")
                print("\nDeleted the local state, as if the app had moved to a new machine: the store is rebuilt from its changelog.")
            }
            print("\nRun \(run + 1): \(batch.count) lines to \(WordCountTopology.input)")
            for line in batch { print("  \(line)") }
            let before = counts
            try await countWords(batch, kafka: kafka, logger: logger, into: &counts)
            print("Top words after run \(run + 1) (state in \(stateDir)/\(applicationID)):")
            for (word, count) in counts.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }).prefix(top) {
                let change = before[word].map { $0 == count ? "" : "  (was \($0))" } ?? (run > 0 ? "  (new)" : "")
                print("  \(word.padding(toLength: 12, withPad: " ", startingAt: 0)) \(count)\(change)")
            }
        }
    }

    /// Runs the app until every word of `lines` has its updated count, then stops it.
    private func countWords(_ lines: [String], kafka: Broker, logger: Logger, into counts: inout [String: Int64]) async throws {
        let reader = try await OutputReader.start(bootstrapServers: kafka.bootstrapServers, topics: [WordCountTopology.output], logger: logger)
        try await kafka.produce(WordCountTopology.input, lines.enumerated().map { (key: "line-\($0.offset)", value: $0.element) })

        var configuration = kafka.streamsConfiguration(applicationID: applicationID)
        configuration.stateDirectory = stateDir
        let restores = RestoreReport()
        configuration.restoreListener = restores
        let app = try StreamsApp(topology: try WordCountTopology.build(), configuration: configuration, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)

        // One count update per word read, as nothing caches updates.
        let words = lines.flatMap(WordCountTopology.words(in:)).count
        async let outputs = reader.read(count: words, timeout: .seconds(60))
        async let running: Void = group.run()
        let records = try await outputs
        await group.triggerGracefulShutdown()
        try await running

        if let restored = restores.summary { print("Restored from the changelog before processing: \(restored)") }
        for record in records {
            guard let word = record.key.map({ String(decoding: $0, as: UTF8.self) }), let value = record.value else { continue }
            counts[word] = try BigEndianIntegerSerde<Int64>().deserialize(value)
        }
        guard records.count == words else {
            throw ValidationError("expected \(words) count updates, read \(records.count)")
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
