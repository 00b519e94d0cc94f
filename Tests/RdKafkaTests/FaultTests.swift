@testable import RdKafka
import Testing

@Suite struct FaultTests {
    @Test func idempotentProducerLosesAndDuplicatesNothingWhenTheBrokerGoesDownAndBack() async throws {
        let cluster = try makeCluster(topics: ["broker-down": 1])
        let producer = try Producer(
            configuration: producerConfiguration(cluster, extra: ["enable.idempotence": "true", "reconnect.backoff.max.ms": "200"]),
            logger: testLogger)
        for index in 0..<100 { try producer.produce(ProducerRecord(topic: "broker-down", value: bytes("\(index)"))) }
        try await producer.flush(timeout: .seconds(10))

        try cluster.setBrokerDown(1)
        for index in 100..<200 { try producer.produce(ProducerRecord(topic: "broker-down", value: bytes("\(index)"))) }
        try await Task.sleep(for: .seconds(2))
        #expect(producer.outstandingCount > 0, "records must wait while the broker is down")
        // Retried requests also fail once on the way back up.
        cluster.pushRequestErrors(.produce, [.notLeaderForPartition, .requestTimedOut])
        try cluster.setBrokerUp(1)
        try await producer.flush(timeout: .seconds(30))
        #expect(producer.deliveryFailureCount == 0)

        let consumer = try Consumer(configuration: consumerConfiguration(cluster), logger: testLogger)
        try consumer.assign([TopicPartitionOffset(topic: "broker-down", partition: 0, offset: KafkaOffset.beginning)])
        let records = try await pollRecords(consumer, count: 200)
        let values = records.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(values == (0..<200).map(String.init), "in order, none lost, none repeated")
        let extra = try await pollRecords(consumer, count: 1, timeout: .milliseconds(500))
        #expect(extra.isEmpty, "no duplicate after the last record")
        try consumer.close()
        producer.close()
    }

    @Test func permanentProduceErrorsReachTheDeliveryReport() async throws {
        let cluster = try makeCluster(topics: ["rejected": 1])
        let producer = try Producer(configuration: producerConfiguration(cluster, extra: ["retries": "0"]), logger: testLogger)
        // A per-record rejection (an authorization error would also mark the topic unusable
        // until librdkafka's next metadata refresh).
        cluster.pushRequestErrors(.produce, [.messageSizeTooLarge])
        let error = await #expect(throws: KafkaError.self) {
            _ = try await producer.send(ProducerRecord(topic: "rejected", value: bytes("no")))
        }
        #expect(error?.code == .messageSizeTooLarge)
        #expect(error?.classification == .permanent)
        #expect(producer.deliveryFailureCount == 1)
        // The next record goes through.
        let metadata = try await producer.send(ProducerRecord(topic: "rejected", value: bytes("yes")))
        #expect(metadata.partition == 0)
        producer.close()
    }

    /// A record sent with a watermark moves it to its offset when acknowledged; a refused
    /// one leaves the offset and keeps the first failure, and counts as a failure too.
    @Test func aWatermarkKeepsTheHighestAcknowledgedOffsetAndTheFirstFailure() throws {
        let cluster = try makeCluster(topics: ["watermarked": 1])
        let producer = try Producer(configuration: producerConfiguration(cluster, extra: ["retries": "0"]), logger: testLogger)
        defer { producer.close() }
        let watermark = DeliveryWatermark()
        func send(_ text: String) throws {
            try Array(text.utf8).withUnsafeBytes { value in
                try producer.produce(topic: "watermarked", partition: 0, key: nil, value: value, acknowledging: watermark)
            }
        }
        for text in ["a", "b", "c"] { try send(text) }
        try producer.flush(timeout: .seconds(10))
        #expect(watermark.highestOffset == 2)
        #expect(watermark.failure == nil)
        cluster.pushRequestErrors(.produce, [.messageSizeTooLarge])
        try send("refused")
        try producer.flush(timeout: .seconds(10))
        #expect(watermark.highestOffset == 2)
        #expect(watermark.failure?.code == .messageSizeTooLarge)
        #expect(producer.deliveryFailureCount == 1)
    }

    @Test func transientProduceErrorsAreRetriedTransparently() async throws {
        let cluster = try makeCluster(topics: ["transient": 1])
        let producer = try Producer(configuration: producerConfiguration(cluster), logger: testLogger)
        cluster.pushRequestErrors(.produce, [.notLeaderForPartition, .notEnoughReplicas, .requestTimedOut])
        let metadata = try await producer.send(ProducerRecord(topic: "transient", value: bytes("eventually")))
        #expect(metadata.offset == 0)
        #expect(producer.deliveryFailureCount == 0)
        producer.close()
    }

    @Test func closingWithUndeliverableRecordsFailsThemInsteadOfHanging() async throws {
        let cluster = try makeCluster(topics: ["unreachable": 1])
        // A record in flight when the broker went away may get no purge report for longer
        // than this test waits (seen: 2 runs in 12): close answers its sender itself.
        let producer = try Producer(configuration: producerConfiguration(cluster), logger: testLogger)
        _ = try await producer.send(ProducerRecord(topic: "unreachable", value: bytes("warm-up")))
        try cluster.setBrokerDown(1)
        let pending = Task { try await producer.send(ProducerRecord(topic: "unreachable", value: bytes("stuck"))) }
        // Close once the send waits for its report, so that closing has something to fail.
        // (The outstanding count alone does not say so: the broker's going down queues
        // error events, which it counts too.)
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while producer.awaitingSendCount == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(producer.awaitingSendCount == 1, "the send should wait while the broker is down")
        producer.close(timeout: .milliseconds(200))
        guard let outcome = await result(of: pending, within: .seconds(30)) else {
            Issue.record("the send was still waiting 30 s after close")
            return
        }
        let error = #expect(throws: KafkaError.self) { try outcome.get() }
        #expect(error?.code == .purgedFromQueue || error?.code == .purgedInFlight)
    }

    @Test func sendingAfterCloseFailsAtOnce() async throws {
        let cluster = try makeCluster(topics: ["after-close": 1])
        let producer = try Producer(configuration: producerConfiguration(cluster), logger: testLogger)
        producer.close()
        // Queued after the close, the record would wait for a report nobody serves.
        let pending = Task { try await producer.send(ProducerRecord(topic: "after-close", value: bytes("late"))) }
        guard let outcome = await result(of: pending, within: .seconds(10)) else {
            Issue.record("a send after close waited instead of failing")
            return
        }
        let error = #expect(throws: KafkaError.self) { try outcome.get() }
        #expect(error?.code == .destroyed)
        #expect(error?.message.contains("closed") == true)
    }
}
