import ArgumentParser
import Foundation
import Logging
import RdKafka

/// A first look at the Kafka layer: lines are produced to `lines`, a group consumer
/// shouts them into `shouts` (committing what it processed, also when partitions are
/// revoked), and a reader prints what arrives. Against the embedded broker by default.
@main
struct HelloKafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hello-kafka",
        abstract: "Produce, transform and consume records through Kafka (embedded broker unless --bootstrap-servers).")

    @Option(help: "Kafka to use (host:port,...); absent: start the embedded mock broker.")
    var bootstrapServers: String?

    @Option(help: "How many lines to send.")
    var records: Int = 12

    @Option(help: "Consumer group of the shouting stage.")
    var groupID: String = "hello-kafka"

    func run() async throws {
        var logger = Logger(label: "hello-kafka") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let (cluster, bootstrap) = try startBroker(logger: logger)
        print("Kafka at \(bootstrap)\(cluster == nil ? "" : " (embedded mock broker)")")

        var base = KafkaConfiguration()
        base.bootstrapServers = [bootstrap]
        let fast = ["fetch.wait.max.ms": "10", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        if cluster == nil {
            let admin = try Admin(configuration: base, logger: logger)
            try await admin.createTopics([NewTopic(name: "lines", partitions: 3), NewTopic(name: "shouts", partitions: 3)],
                                         ifNotExists: true, timeout: .seconds(30))
        }
        // Earlier runs against the same broker left records in `shouts`: read only ours.
        let reader = try Consumer(configuration: base.merging(fast), logger: logger)
        let startOffsets = try (0..<Int32(3)).map { partition in
            TopicPartitionOffset(topic: "shouts", partition: partition,
                                 offset: try reader.queryWatermarks(topic: "shouts", partition: partition, timeout: .seconds(10)).high)
        }

        // 1. Produce the lines, keyed by speaker, and wait for the broker's acknowledgements.
        let producer = try Producer(configuration: base.merging(["linger.ms": "5"]), logger: logger)
        let speakers = ["ada", "grace", "linus", "barbara"]
        for index in 0..<records {
            let speaker = speakers[index % speakers.count]
            let record = ProducerRecord(
                topic: "lines", key: Array(speaker.utf8), value: Array("hello number \(index) from \(speaker)".utf8),
                headers: [KafkaHeader(key: "sent-by", string: "hello-kafka")])
            let metadata = try await producer.send(record)
            print("  produced  lines[\(metadata.partition)]@\(metadata.offset)  \(speaker)")
        }

        // 2. A group member reads `lines`, shouts each into `shouts`, and commits.
        var consumerConfiguration = base.merging(fast)
        consumerConfiguration.groupID = groupID
        consumerConfiguration.autoOffsetReset = "earliest"
        consumerConfiguration.enableAutoCommit = false
        let progress = Progress()
        let shouter = try Consumer(configuration: consumerConfiguration, logger: logger) { event, consumer in
            switch event {
            case .assigned(let partitions):
                print("  group \(groupID): assigned \(partitions.map(\.description).sorted())")
            case .revoked:
                // Commit what was processed before the partitions move to another member.
                try? consumer.commit(progress.offsets)
            case .lost:
                break
            }
        }
        try shouter.subscribe(["lines"])
        print("Joining group \(groupID) (the embedded broker waits ~3 s for more members)...")
        var shouted = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while shouted < records && ContinuousClock.now < deadline {
            let batch = try await shouter.poll(maxRecords: 100, timeout: .milliseconds(200))
            for line in batch {
                let text = String(decoding: line.value ?? [], as: UTF8.self).uppercased() + "!"
                try producer.produce(ProducerRecord(topic: "shouts", partition: line.partition, key: line.key, value: Array(text.utf8)))
                progress.processed(line)
            }
            shouted += batch.count
            // Outputs first, then offsets: a crash in between re-processes, never loses.
            try await producer.flush(timeout: .seconds(30))
            try await shouter.commit(progress.offsets)
        }
        print("Shouted \(shouted) lines; committed \(progress.offsets.map(\.description).sorted())")

        // 3. Read the results back.
        try reader.assign(startOffsets)
        var read = 0
        while read < shouted && ContinuousClock.now < deadline {
            for record in try await reader.poll(maxRecords: 100, timeout: .milliseconds(200)) {
                read += 1
                let key = String(decoding: record.key ?? [], as: UTF8.self)
                print("  consumed  shouts[\(record.partition)]@\(record.offset)  \(key): \(String(decoding: record.value ?? [], as: UTF8.self))")
            }
        }
        try reader.close()
        try shouter.close()
        producer.close()
        print(read == records ? "All \(read) records made the round trip." : "Only \(read) of \(records) records arrived.")
        if read != records { throw ExitCode.failure }
    }

    private func startBroker(logger: Logger) throws -> (MockCluster?, String) {
        if let bootstrapServers { return (nil, bootstrapServers) }
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("lines", partitions: 3)
        try cluster.createTopic("shouts", partitions: 3)
        return (cluster, cluster.bootstrapServers)
    }
}

/// The next offset to read per partition, shared with the rebalance handler.
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private var next: [TopicPartition: Int64] = [:]

    func processed(_ record: ConsumerRecord) {
        lock.withLock { next[TopicPartition(topic: record.topic, partition: record.partition)] = record.offset + 1 }
    }

    var offsets: [TopicPartitionOffset] {
        lock.withLock { next.map { TopicPartitionOffset($0.key, offset: $0.value) } }
    }
}
