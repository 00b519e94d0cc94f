import Foundation
import RdKafka
import Testing

/// Runs only against a real Kafka (e.g. the repository's docker-compose.yml):
/// `KAFKA_BOOTSTRAP_SERVERS=localhost:9092 make test`. These show what the mock cannot:
/// topic administration, and transactional visibility.
let realBootstrap = ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"]

@Suite(.enabled(if: realBootstrap != nil, "set KAFKA_BOOTSTRAP_SERVERS to run against a real broker"))
struct RealBrokerTests {
    private let unique = UInt32.random(in: 0...UInt32.max)

    private func configuration(_ extra: [String: String] = [:]) -> KafkaConfiguration {
        var configuration = KafkaConfiguration()
        configuration.bootstrapServers = [realBootstrap ?? ""]
        return configuration.merging(extra)
    }

    @Test func createsACompactedTopicAndDescribesIt() async throws {
        let admin = try Admin(configuration: configuration(), logger: testLogger)
        let name = "compacted-\(unique)"
        try await admin.createTopics([NewTopic(name: name, partitions: 3, configs: ["cleanup.policy": "compact"])], timeout: .seconds(30))
        let configs = try await admin.describeTopicConfig(name, timeout: .seconds(30))
        #expect(configs["cleanup.policy"] == "compact")
        #expect(try await admin.metadata(topics: [name], timeout: .seconds(10)).topic(name)?.partitions.count == 3)
        // Creating it again is an error unless asked to tolerate it.
        let again = await #expect(throws: KafkaError.self) {
            try await admin.createTopics([NewTopic(name: name, partitions: 3)], timeout: .seconds(30))
        }
        #expect(again?.code == .topicAlreadyExists)
        try await admin.createTopics([NewTopic(name: name, partitions: 3)], ifNotExists: true, timeout: .seconds(30))
    }

    @Test func readCommittedSeesOnlyCommittedTransactions() async throws {
        let admin = try Admin(configuration: configuration(), logger: testLogger)
        let topic = "txn-visibility-\(unique)"
        try await admin.createTopics([NewTopic(name: topic, partitions: 1)], timeout: .seconds(30))
        let producer = try TransactionalProducer(configuration: configuration(["transactional.id": "txn-\(unique)"]), logger: testLogger)
        try await producer.initTransactions(timeout: .seconds(30))
        try producer.beginTransaction()
        try producer.produce(ProducerRecord(topic: topic, value: bytes("aborted")))
        try await producer.abortTransaction(timeout: .seconds(30))
        try producer.beginTransaction()
        try producer.produce(ProducerRecord(topic: topic, value: bytes("committed")))
        try await producer.commitTransaction(timeout: .seconds(30))

        var consumerConfiguration = configuration(["fetch.wait.max.ms": "10"])
        consumerConfiguration.isolationLevel = .readCommitted
        let consumer = try Consumer(configuration: consumerConfiguration, logger: testLogger)
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaOffset.beginning)])
        let records = try await pollRecords(consumer, count: 2, timeout: .seconds(5))
        #expect(records.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["committed"])
        try consumer.close()
        producer.close()
    }

    @Test func eagerRevokeHandlerCommitsWhileASecondMemberJoins() async throws {
        let admin = try Admin(configuration: configuration(), logger: testLogger)
        let topic = "eager-join-\(unique)"
        try await admin.createTopics([NewTopic(name: topic, partitions: 4)], timeout: .seconds(30))
        let producer = try Producer(configuration: configuration(), logger: testLogger)
        for index in 0..<100 { try producer.produce(ProducerRecord(topic: topic, key: bytes("k\(index)"), value: bytes("\(index)"))) }
        try await producer.flush(timeout: .seconds(30))
        producer.close()

        var group = configuration(["fetch.wait.max.ms": "10", "partition.assignment.strategy": "range"])
        group.groupID = "eager-join-\(unique)"
        group.autoOffsetReset = "earliest"
        group.enableAutoCommit = false
        let logA = MemberLog()
        let memberA = try Consumer(configuration: group, logger: testLogger) { logA.handle($0, $1) }
        try memberA.subscribe([topic])
        logA.markProcessed(try await pollRecords(memberA, count: 100))

        let logB = MemberLog()
        let memberB = try Consumer(configuration: group, logger: testLogger) { logB.handle($0, $1) }
        try memberB.subscribe([topic])
        let split: @Sendable () -> Bool = { logA.revokedAny && !logA.assigned.isEmpty && !logB.assigned.isEmpty }
        async let pollA = pollUntil(memberA, timeout: .seconds(60), split, onBatch: logA.markProcessed)
        _ = try await pollUntil(memberB, timeout: .seconds(60), split)
        _ = try await pollA
        // A real coordinator accepts the current generation's commits while it prepares
        // the rebalance, which the mock does not (see GroupTests).
        #expect(logA.commitErrors.isEmpty)
        #expect(Set(logA.committedInRevoke.map(\.partition)) == [0, 1, 2, 3])
        try memberB.close()
        try memberA.close()
    }
}
