import Foundation
import Logging
import RdKafka

/// The production implementation of the client seam: librdkafka's clients.
struct RdKafkaClientFactory: ClientFactory {
    func makeGroupConsumer(
        configuration: KafkaConfiguration, logger: Logger, onRebalance: @escaping (RebalanceEvent) -> Void
    ) throws -> any StreamsConsumer {
        // The handler runs only inside `poll`, on the thread that polls and owns `onRebalance`.
        nonisolated(unsafe) let onRebalance = onRebalance
        return RdKafkaConsumer(try Consumer(configuration: configuration, logger: logger, rebalanceHandler: { event, _ in onRebalance(event) }))
    }

    func makeReader(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsConsumer {
        RdKafkaConsumer(try Consumer(configuration: configuration, logger: logger))
    }

    func makeProducer(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsProducer {
        RdKafkaProducer(try Producer(configuration: configuration, logger: logger))
    }

    func makeTransactionalProducer(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsTransactionalProducer {
        RdKafkaTransactionalProducer(try TransactionalProducer(configuration: configuration, logger: logger))
    }

    func makeAdmin(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsAdmin {
        RdKafkaAdmin(admin: try Admin(configuration: configuration, logger: logger))
    }

    func currentTimeMilliseconds() -> Int64 { WallClock.system.now() }

    /// A real process crashes where it likes; nothing to inject.
    func crashPoint(_ step: String) throws {}
}

final class RdKafkaConsumer: StreamsConsumer {
    let consumer: Consumer

    init(_ consumer: Consumer) { self.consumer = consumer }

    func subscribe(_ topics: [String]) throws { try consumer.subscribe(topics) }

    func assign(_ partitions: [TopicPartitionOffset]) throws { try consumer.assign(partitions) }

    func poll(
        maxRecords: Int, timeout: Duration, keeping body: (PolledRecord) throws -> Bool, endOfPartition: (TopicPartition) -> Void
    ) throws -> Int {
        try consumer.poll(maxRecords: maxRecords, timeout: timeout, keeping: { message in
            try body(PolledRecord(
                topic: message.topic, partition: message.partition, offset: message.offset, timestamp: message.timestamp,
                key: message.key, value: message.value, headers: message.headers, lease: message.token))
        }, endOfPartition: { topic, partition in endOfPartition(TopicPartition(topic: topic, partition: partition)) })
    }

    func release(_ leases: [UInt]) { consumer.release(leases) }
    func pause(_ partitions: [TopicPartition]) throws { try consumer.pause(partitions) }
    func resume(_ partitions: [TopicPartition]) throws { try consumer.resume(partitions) }

    func commit(_ offsets: [TopicPartitionOffset]) throws { try consumer.commit(offsets) }

    func committed(_ partitions: [TopicPartition], timeout: Duration) throws -> [TopicPartitionOffset] {
        try consumer.committed(partitions, timeout: timeout)
    }

    func seek(_ offsets: [TopicPartitionOffset], timeout: Duration) throws { try consumer.seek(offsets, timeout: timeout) }

    func offsetsForTimes(_ times: [TopicPartitionOffset], timeout: Duration) throws -> [TopicPartitionOffset] {
        try consumer.offsetsForTimes(times, timeout: timeout)
    }

    func position(_ partitions: [TopicPartition]) throws -> [TopicPartitionOffset] { try consumer.position(partitions) }

    func queryWatermarks(topic: String, partition: Int32, timeout: Duration) throws -> Watermarks {
        try consumer.queryWatermarks(topic: topic, partition: partition, timeout: timeout)
    }

    func cachedEndOffset(_ partition: TopicPartition) -> Int64? {
        guard let high = try? consumer.cachedWatermarks(topic: partition.topic, partition: partition.partition).high, high >= 0 else { return nil }
        return high
    }

    func groupMetadata() throws -> GroupMetadata {
        // librdkafka keeps generation and member id inside its opaque handle.
        GroupMetadata(groupID: "", generationID: -1, memberID: "", native: try consumer.groupMetadata())
    }

    func close() throws { try consumer.close() }
}

class RdKafkaProducer: StreamsProducer {
    let producer: Producer

    init(_ producer: Producer) { self.producer = producer }

    func send(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [KafkaHeader],
        timestamp: Int64, onDelivery: (@Sendable (DeliveryResult) -> Void)?
    ) throws {
        try producer.produce(
            topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, onDelivery: onDelivery)
    }

    func send(
        topic: String, partition: Int32, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, timestamp: Int64,
        acknowledging watermark: DeliveryWatermark
    ) throws {
        try producer.produce(topic: topic, partition: partition, key: key, value: value, timestamp: timestamp, acknowledging: watermark)
    }

    func flush(timeout: Duration) throws { try producer.flush(timeout: timeout) }
    var outstandingCount: Int { producer.outstandingCount }
    var deliveryFailureCount: Int { producer.deliveryFailureCount }
    func takeFirstDeliveryFailure() -> KafkaError? { producer.takeFirstDeliveryFailure() }
    func close(timeout: Duration) { producer.close(timeout: timeout) }
}

final class RdKafkaTransactionalProducer: RdKafkaProducer, StreamsTransactionalProducer {
    let transactional: TransactionalProducer

    init(_ transactional: TransactionalProducer) {
        self.transactional = transactional
        super.init(transactional.producer)
    }

    func initTransactions(timeout: Duration) throws { try transactional.initTransactions(timeout: timeout) }
    func beginTransaction() throws { try transactional.beginTransaction() }

    func sendOffsets(_ offsets: [TopicPartitionOffset], groupMetadata: GroupMetadata, timeout: Duration) throws {
        guard let native = groupMetadata.native else {
            throw KafkaError(code: .invalidArgument, message: "group metadata of another client", classification: .permanent)
        }
        try transactional.sendOffsets(offsets, groupMetadata: native, timeout: timeout)
    }

    func commitTransaction(timeout: Duration) throws { try transactional.commitTransaction(timeout: timeout) }
    func abortTransaction(timeout: Duration) throws { try transactional.abortTransaction(timeout: timeout) }
    override func close(timeout: Duration) { transactional.close(timeout: timeout) }
}

final class RdKafkaAdmin: StreamsAdmin {
    let admin: Admin

    init(admin: Admin) { self.admin = admin }

    func partitionCounts(timeout: Duration) throws -> [String: Int] {
        // All topics: naming topics would make a broker (or the mock) auto-create them.
        let metadata = try admin.metadata(timeout: timeout)
        return Dictionary(metadata.topics.filter { $0.error == nil }.map { ($0.name, $0.partitions.count) }) { first, _ in first }
    }

    func createTopic(_ topic: NewTopic, timeout: Duration) throws { try admin.createTopics([topic], ifNotExists: true, timeout: timeout) }

    func close() {}
}
