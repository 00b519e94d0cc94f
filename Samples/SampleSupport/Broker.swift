import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka

/// The Kafka a sample talks to: the embedded mock broker, or a real cluster.
public struct Broker: Sendable {
    public let embedded: EmbeddedKafkaCluster?
    public let bootstrapServers: String
    private let logger: Logger

    public init(bootstrapServers: String?, logger: Logger) throws {
        self.logger = logger
        if let bootstrapServers {
            embedded = nil
            self.bootstrapServers = bootstrapServers
        } else {
            let cluster = try EmbeddedKafkaCluster(logger: logger)
            embedded = cluster
            self.bootstrapServers = cluster.bootstrapServers
        }
    }

    private var clientConfiguration: KafkaConfiguration {
        var configuration = KafkaConfiguration()
        configuration["bootstrap.servers"] = bootstrapServers
        return configuration
    }

    public func createTopics(_ names: [String], partitions: Int) async throws {
        let admin = try Admin(configuration: clientConfiguration, logger: logger)
        try await admin.createTopics(names.map { NewTopic(name: $0, partitions: partitions) }, ifNotExists: true, timeout: .seconds(30))
    }

    public func produce(_ topic: String, _ records: [(key: String, value: String)]) async throws {
        try await produce(topic, records.map { (key: $0.key, value: $0.value, timestamp: nil) })
    }

    /// Writes records, each with its time (`nil`: now), in order.
    public func produce(_ topic: String, _ records: [(key: String, value: String, timestamp: Int64?)]) async throws {
        var configuration = clientConfiguration
        configuration["linger.ms"] = "5"
        let producer = try Producer(configuration: configuration, logger: logger)
        defer { producer.close() }
        for (key, value, timestamp) in records {
            _ = try await producer.send(ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(value.utf8), timestamp: timestamp))
        }
    }

    /// Fast group settings on the embedded broker; Kafka's defaults elsewhere, but a short
    /// commit interval so the sample's effects are visible at once.
    public func streamsConfiguration(applicationID: String) -> StreamsConfiguration {
        var configuration = embedded?.streamsConfiguration(applicationID: applicationID)
            ?? StreamsConfiguration(applicationID: applicationID, bootstrapServers: bootstrapServers)
        configuration.commitInterval = .seconds(1)
        return configuration
    }
}

/// Reads what the sample's outputs receive from now on (earlier runs' records are skipped).
public final class OutputReader: Sendable {
    private let consumer: Consumer

    /// Blocking client calls: run it off the cooperative pool (``start(...)``).
    private init(bootstrapServers: String, topics: [String], logger: Logger) throws {
        var configuration = KafkaConfiguration()
        configuration["bootstrap.servers"] = bootstrapServers
        // The admin client is a producer-type handle: a consumer property would draw a
        // CONFWARN from librdkafka.
        let admin = try Admin(configuration: configuration, logger: logger)
        configuration["fetch.wait.max.ms"] = "10"
        consumer = try Consumer(configuration: configuration, logger: logger)
        let metadata = try admin.metadata(timeout: .seconds(10))
        var start: [TopicPartitionOffset] = []
        for topic in topics {
            for partition in metadata.topic(topic)?.partitions ?? [] {
                let end = try consumer.queryWatermarks(topic: topic, partition: partition.id, timeout: .seconds(10)).high
                start.append(TopicPartitionOffset(topic: topic, partition: partition.id, offset: end))
            }
        }
        try consumer.assign(start)
    }

    public static func start(bootstrapServers: String, topics: [String], logger: Logger) async throws -> OutputReader {
        try await onOwnThread(named: "output-reader") {
            try OutputReader(bootstrapServers: bootstrapServers, topics: topics, logger: logger)
        }
    }

    public func read(count: Int, timeout: Duration) async throws -> [ConsumerRecord] {
        var records: [ConsumerRecord] = []
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while records.count < count && ContinuousClock.now < deadline {
            records += try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100))
        }
        return records
    }
}
