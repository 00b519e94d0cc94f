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

    /// Opens a transaction, makes the next `api` request fail with `error`, produces one
    /// record, and returns the producer with what its commit threw. The caller keeps the
    /// cluster alive for as long as it uses the producer.
    private func commitAfterInjecting(
        _ error: KafkaErrorCode, into api: KafkaAPI, topic: String
    ) async throws -> (MockCluster, TransactionalProducer, KafkaError?) {
        let cluster = try makeCluster(topics: [topic: 1])
        let producer = try transactionalProducer(cluster, id: topic)
        try await producer.initTransactions(timeout: .seconds(10))
        try producer.beginTransaction()
        cluster.pushRequestErrors(api, [error])
        try producer.produce(ProducerRecord(topic: topic, value: bytes("doomed")))
        let thrown = await #expect(throws: KafkaError.self) { try await producer.commitTransaction(timeout: .seconds(10)) }
        return (cluster, producer, thrown)
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
        // A per-record rejection (an authorization error would also mark the topic unusable
        // until librdkafka's next metadata refresh).
        let (cluster, producer, error) = try await commitAfterInjecting(.messageSizeTooLarge, into: .produce, topic: "txn-abortable")
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
        withExtendedLifetime(cluster) {}
    }

    @Test func fencedProducerIsFatal() async throws {
        let (cluster, producer, error) = try await commitAfterInjecting(.producerFenced, into: .addPartitionsToTransaction, topic: "txn-fenced")
        #expect(error?.classification == .fatal)
        // Nothing works after a fatal error: the application must create a new producer.
        let after = #expect(throws: KafkaError.self) { try producer.beginTransaction() }
        #expect(after?.classification == .fatal)
        producer.close()
        withExtendedLifetime(cluster) {}
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
