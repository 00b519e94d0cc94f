import RdKafka
import Testing

/// The mock cluster accepts every transactional call but honours none of their
/// semantics (see FIELD-NOTES.md): these tests prove the call sequence and the error
/// classification, not visibility.
@Suite struct TransactionTests {
    private func transactionalProducer(_ cluster: MockCluster, id: String) throws -> TransactionalProducer {
        let configuration = producerConfiguration(cluster, extra: ["transactional.id": id, "transaction.timeout.ms": "10000"])
        return try TransactionalProducer(configuration: configuration, logger: testLogger)
    }

    @Test func fullCallSequenceSucceeds() async throws {
        let cluster = try makeCluster(topics: ["txn-in": 1, "txn-out": 1])
        let producer = try transactionalProducer(cluster, id: "txn-sequence")
        try await producer.initTransactions(timeout: .seconds(10))

        let consumer = try Consumer(configuration: consumerConfiguration(cluster, group: "txn-sequence-group"), logger: testLogger)
        let metadata = try consumer.groupMetadata()

        try producer.beginTransaction()
        try producer.produce(ProducerRecord(topic: "txn-out", value: bytes("committed")))
        try await producer.sendOffsets(
            [TopicPartitionOffset(topic: "txn-in", partition: 0, offset: 1)], groupMetadata: metadata, timeout: .seconds(10))
        try await producer.commitTransaction(timeout: .seconds(10))

        try producer.beginTransaction()
        try producer.produce(ProducerRecord(topic: "txn-out", value: bytes("aborted")))
        try await producer.abortTransaction(timeout: .seconds(10))

        try producer.beginTransaction()
        try producer.produce(ProducerRecord(topic: "txn-out", value: bytes("second commit")))
        try await producer.commitTransaction(timeout: .seconds(10))
        // The committed records are on the log (the mock also keeps the aborted one).
        let high = try consumer.queryWatermarks(topic: "txn-out", partition: 0, timeout: .seconds(5)).high
        #expect(high >= 2)
        producer.close()
        try consumer.close()
    }

    @Test func callsOutOfOrderAreStateErrorsNotFatal() async throws {
        let cluster = try makeCluster(topics: ["txn-order": 1])
        let producer = try transactionalProducer(cluster, id: "txn-order")
        let beforeInit = #expect(throws: KafkaError.self) { try producer.beginTransaction() }
        #expect(beforeInit?.isFatal == false)
        try await producer.initTransactions(timeout: .seconds(10))
        try producer.beginTransaction()
        let twice = #expect(throws: KafkaError.self) { try producer.beginTransaction() }
        #expect(twice?.code == .state)
        #expect(twice?.isFatal == false)
        try await producer.abortTransaction(timeout: .seconds(10))
        producer.close()
    }

    @Test func failedProduceMakesTheTransactionAbortable() async throws {
        let cluster = try makeCluster(topics: ["txn-abortable": 1])
        let producer = try transactionalProducer(cluster, id: "txn-abortable")
        try await producer.initTransactions(timeout: .seconds(10))
        try producer.beginTransaction()
        // A per-record rejection (an authorization error would also mark the topic unusable
        // until librdkafka's next metadata refresh).
        cluster.pushRequestErrors(.produce, [.messageSizeTooLarge])
        try producer.produce(ProducerRecord(topic: "txn-abortable", value: bytes("rejected")))
        let error = await #expect(throws: KafkaError.self) { try await producer.commitTransaction(timeout: .seconds(10)) }
        #expect(error?.classification == .abortable)
        // Abortable means: abort, and the producer carries on, as the runtime will do. The
        // rejected record used up a sequence number the broker never stored, so the next
        // transaction may be told so (again abortable) until librdkafka bumps the epoch.
        try await producer.abortTransaction(timeout: .seconds(10))
        var committed = false
        for _ in 0..<3 where !committed {
            try producer.beginTransaction()
            try producer.produce(ProducerRecord(topic: "txn-abortable", value: bytes("accepted")))
            do {
                try await producer.commitTransaction(timeout: .seconds(10))
                committed = true
            } catch let error as KafkaError where error.classification == .abortable {
                try await producer.abortTransaction(timeout: .seconds(10))
            }
        }
        #expect(committed)
        producer.close()
    }

    @Test func fencedProducerIsFatal() async throws {
        let cluster = try makeCluster(topics: ["txn-fenced": 1])
        let producer = try transactionalProducer(cluster, id: "txn-fenced")
        try await producer.initTransactions(timeout: .seconds(10))
        try producer.beginTransaction()
        cluster.pushRequestErrors(.addPartitionsToTransaction, [.producerFenced])
        try producer.produce(ProducerRecord(topic: "txn-fenced", value: bytes("zombie")))
        let error = await #expect(throws: KafkaError.self) { try await producer.commitTransaction(timeout: .seconds(10)) }
        #expect(error?.classification == .fatal)
        // Nothing works after a fatal error: the application must create a new producer.
        let after = #expect(throws: KafkaError.self) { try producer.beginTransaction() }
        #expect(after?.classification == .fatal)
        producer.close()
    }

    @Test func coordinatorUnavailableIsRetriable() async throws {
        let cluster = try makeCluster(topics: ["txn-retriable": 1])
        let producer = try transactionalProducer(cluster, id: "txn-retriable")
        cluster.pushRequestErrors(.initProducerID, Array(repeating: .coordinatorNotAvailable, count: 200))
        let error = await #expect(throws: KafkaError.self) { try await producer.initTransactions(timeout: .milliseconds(1500)) }
        #expect(error?.classification == .retriable)
        // Retrying the same call once the coordinator is back succeeds.
        cluster.clearRequestErrors(.initProducerID)
        try await producer.initTransactions(timeout: .seconds(10))
        producer.close()
    }
}
