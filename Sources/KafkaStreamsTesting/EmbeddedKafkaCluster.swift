import Foundation
import KafkaStreams
import Logging
import RdKafka

/// librdkafka's in-process mock cluster with the helpers tests and samples need: create
/// topics, write records, read a topic back, look up a group's committed offsets, and a
/// ``StreamsConfiguration`` tuned for it.
///
/// The mock's limits (no transactions honoured, about 5 MiB kept per partition, slow
/// first group join) are listed in the "Running in production" article. All methods run
/// their blocking client calls on a thread of their own.
public final class EmbeddedKafkaCluster: Sendable {
    public let cluster: MockCluster
    private let logger: Logger
    /// The state directory of the applications configured by ``streamsConfiguration(applicationID:)``:
    /// one per cluster, so a test's restarted app finds its state and tests never share it.
    public let stateDirectory: String

    public init(brokers: Int = 1, logger: Logger = Logger(label: "embedded-kafka")) throws {
        cluster = try MockCluster(brokers: brokers, logger: logger)
        self.logger = logger
        stateDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("embedded-kafka-state-\(UInt64.random(in: 0...UInt64.max))").path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    public var bootstrapServers: String { cluster.bootstrapServers }

    public func createTopic(_ name: String, partitions: Int) throws {
        try cluster.createTopic(name, partitions: partitions)
    }

    /// A configuration for an application on this cluster: settings that make the mock's
    /// group rebalances and fetches fast, a one-second commit interval, and a state
    /// directory of the cluster's own (deleted with it).
    public func streamsConfiguration(applicationID: String) -> StreamsConfiguration {
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: bootstrapServers)
        configuration.commitInterval = .seconds(1)
        configuration.stateDirectory = stateDirectory
        configuration.consumerProperties = KafkaConfiguration(properties: [
            "session.timeout.ms": "4000", "heartbeat.interval.ms": "500",
            "fetch.wait.max.ms": "10", "fetch.error.backoff.ms": "10",
        ])
        configuration.producerProperties = KafkaConfiguration(properties: ["linger.ms": "5"])
        return configuration
    }

    /// Writes records (key, value) and waits until all are acknowledged.
    public func produce(
        _ topic: String, _ records: [(key: [UInt8]?, value: [UInt8]?)], partition: Int32? = nil, timestamp: Int64? = nil
    ) async throws {
        try await produce(records.map { ProducerRecord(topic: topic, partition: partition, key: $0.key, value: $0.value, timestamp: timestamp) })
    }

    /// Writes records, each with its own topic, partition and time, in order, and waits
    /// until all are acknowledged.
    public func produce(_ records: [ProducerRecord]) async throws {
        let configuration = clientConfiguration(["linger.ms": "5"])
        let logger = logger
        try await onOwnThread(named: "embedded:send") {
            let producer = try Producer(configuration: configuration, logger: logger)
            defer { producer.close() }
            for record in records { try producer.produce(record) }
            try producer.flush(timeout: .seconds(30))
            if let failure = producer.takeFirstDeliveryFailure() { throw failure }
        }
    }

    /// Every record of `topic` up to its current end, by partition then offset. Waits up
    /// to `timeout` for the records to be fetched.
    public func readAll(_ topic: String, timeout: Duration = .seconds(30)) async throws -> [ConsumerRecord] {
        let ends = try await endOffsets(topic)
        let configuration = clientConfiguration(["fetch.wait.max.ms": "10", "enable.partition.eof": "false"])
        let logger = logger
        return try await onOwnThread(named: "embedded:read") {
            let consumer = try Consumer(configuration: configuration, logger: logger)
            defer { try? consumer.close() }
            try consumer.assign(ends.keys.map { TopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
            let wanted = ends.values.reduce(0, +)
            var records: [ConsumerRecord] = []
            let deadline = ContinuousClock.now.advanced(by: timeout)
            while records.count < wanted && ContinuousClock.now < deadline {
                records += try consumer.poll(maxRecords: 1000, timeout: .milliseconds(50)).filter { $0.offset < ends[$0.partition]! }
            }
            return records.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        }
    }

    /// The next offset to write, per partition of `topic`.
    public func endOffsets(_ topic: String) async throws -> [Int32: Int64] {
        let configuration = clientConfiguration([:])
        let logger = logger
        return try await onOwnThread(named: "embedded:offset") {
            let consumer = try Consumer(configuration: configuration, logger: logger)
            defer { try? consumer.close() }
            let admin = try Admin(configuration: configuration, logger: logger)
            guard let metadata = try admin.metadata(timeout: .seconds(10)).topic(topic) else {
                throw StreamsError(.missingSourceTopic, "topic \(topic) does not exist")
            }
            var ends: [Int32: Int64] = [:]
            for partition in metadata.partitions {
                ends[partition.id] = try consumer.queryWatermarks(topic: topic, partition: partition.id, timeout: .seconds(10)).high
            }
            return ends
        }
    }

    /// The offsets `group` has committed for the partitions of `topic` (absent: none).
    public func committedOffsets(group: String, topic: String) async throws -> [Int32: Int64] {
        let partitions = try await endOffsets(topic).keys.map { TopicPartition(topic: topic, partition: $0) }
        let configuration = clientConfiguration(["group.id": group])
        let logger = logger
        return try await onOwnThread(named: "embedded:commit") {
            let consumer = try Consumer(configuration: configuration, logger: logger)
            defer { try? consumer.close() }
            var offsets: [Int32: Int64] = [:]
            for entry in try consumer.committed(partitions, timeout: .seconds(10)) where entry.offset >= 0 {
                offsets[entry.partition] = entry.offset
            }
            return offsets
        }
    }

    private func clientConfiguration(_ extra: [String: String]) -> KafkaConfiguration {
        var configuration = KafkaConfiguration(properties: extra)
        configuration.bootstrapServers = [bootstrapServers]
        return configuration
    }
}
