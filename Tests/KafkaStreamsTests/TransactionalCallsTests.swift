import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import Synchronization
import Testing

/// The transactional calls the runtime makes against the real client (librdkafka), on the
/// embedded mock broker: the mock does not honour transactions, but the calls, their order
/// and their arguments are real, and they are what a real broker would receive.
@Suite struct TransactionalCallsTests {
    /// Passes every call to librdkafka's clients and records the transactional ones.
    final class RecordingFactory: ClientFactory {
        let base = KafkaClients.librdkafka.factory
        let calls = Mutex<[String]>([])
        let sentOffsets = Mutex<[TopicPartitionOffset]>([])

        func record(_ call: String) {
            calls.withLock { calls in
                // Runs of sends collapse into one entry.
                if call == "send" && calls.last == "send" { return }
                calls.append(call)
            }
        }

        func makeGroupConsumer(
            configuration: KafkaConfiguration, logger: Logger, onRebalance: @escaping (RebalanceEvent) -> Void
        ) throws -> any StreamsConsumer {
            try base.makeGroupConsumer(configuration: configuration, logger: logger, onRebalance: onRebalance)
        }
        func makeReader(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsConsumer {
            try base.makeReader(configuration: configuration, logger: logger)
        }
        func makeProducer(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsProducer {
            record("plain producer")
            return try base.makeProducer(configuration: configuration, logger: logger)
        }
        func makeTransactionalProducer(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsTransactionalProducer {
            record("producer \(configuration.transactionalID ?? "-")")
            return RecordingProducer(base: try base.makeTransactionalProducer(configuration: configuration, logger: logger), factory: self)
        }
        func makeAdmin(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsAdmin {
            try base.makeAdmin(configuration: configuration, logger: logger)
        }
        func currentTimeMilliseconds() -> Int64 { base.currentTimeMilliseconds() }
        func crashPoint(_ step: String) throws {}
    }

    final class RecordingProducer: StreamsTransactionalProducer {
        let base: any StreamsTransactionalProducer
        let factory: RecordingFactory

        init(base: any StreamsTransactionalProducer, factory: RecordingFactory) {
            self.base = base
            self.factory = factory
        }

        func send(
            topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [KafkaHeader],
            timestamp: Int64, onDelivery: (@Sendable (DeliveryResult) -> Void)?
        ) throws {
            factory.record("send")
            try base.send(topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, onDelivery: onDelivery)
        }
        func flush(timeout: Duration) throws {
            factory.record("flush")
            try base.flush(timeout: timeout)
        }
        var outstandingCount: Int { base.outstandingCount }
        var deliveryFailureCount: Int { base.deliveryFailureCount }
        func takeFirstDeliveryFailure() -> KafkaError? { base.takeFirstDeliveryFailure() }
        func close(timeout: Duration) {
            factory.record("close")
            base.close(timeout: timeout)
        }
        func initTransactions(timeout: Duration) throws {
            factory.record("init")
            try base.initTransactions(timeout: timeout)
        }
        func beginTransaction() throws {
            factory.record("begin")
            try base.beginTransaction()
        }
        func sendOffsets(_ offsets: [TopicPartitionOffset], groupMetadata: GroupMetadata, timeout: Duration) throws {
            factory.record("sendOffsets")
            factory.sentOffsets.withLock { $0.append(contentsOf: offsets) }
            try base.sendOffsets(offsets, groupMetadata: groupMetadata, timeout: timeout)
        }
        func commitTransaction(timeout: Duration) throws {
            factory.record("commit")
            try base.commitTransaction(timeout: timeout)
        }
        func abortTransaction(timeout: Duration) throws {
            factory.record("abort")
            try base.abortTransaction(timeout: timeout)
        }
    }

    @Test func theRuntimeCommitsEachBatchInOneTransactionWithItsOffsets() async throws {
        let kafka = try EmbeddedKafkaCluster()
        try kafka.createTopic("eos-calls-in", partitions: 1)
        try kafka.createTopic("eos-calls-out", partitions: 1)
        let input = (0..<20).map { "record-\($0)" }
        try await kafka.produceValues("eos-calls-in", input)

        let factory = RecordingFactory()
        var configuration = kafka.streamsConfiguration(applicationID: "eos-calls")
        configuration.processingGuarantee = .exactlyOnce
        configuration.clients = KafkaClients(factory)
        let builder = StreamsBuilder()
        builder.stream("eos-calls-in", key: .string, value: .string).mapValues { $0.uppercased() }.to("eos-calls-out")
        let running = RunningApp(try StreamsApp(topology: try builder.build(), configuration: configuration, logger: streamsTestLogger))
        let output = try await kafka.waitForValues("eos-calls-out", including: input.map { $0.uppercased() })
        #expect(Set(output.compactMap { text($0.value) }) == Set(input.map { $0.uppercased() }))
        // At least one commit after the outputs, then a graceful stop.
        #expect(try await waitUntil { factory.calls.withLock { $0.contains("commit") } })
        try (await running.stop()).get()

        let calls = factory.calls.withLock { $0 }
        // One transactional producer per thread, named <application>-<instance>-<thread>.
        #expect(calls.first?.hasPrefix("producer eos-calls-") == true)
        #expect(calls.first?.hasSuffix("-1") == true)
        #expect(!calls.contains("plain producer"))
        #expect(Array(calls.dropFirst().prefix(2)) == ["init", "begin"])
        // Then transactions: sends, a flush, the offsets, the commit, and the next begin.
        var rest = Array(calls.dropFirst(3))
        #expect(rest.last == "close")
        rest.removeLast()
        var transactions = 0
        while !rest.isEmpty {
            let expected = rest.first == "send" ? ["send", "flush", "sendOffsets", "commit", "begin"] : ["flush", "sendOffsets", "commit", "begin"]
            #expect(Array(rest.prefix(expected.count)) == expected, "calls: \(calls)")
            guard Array(rest.prefix(expected.count)) == expected else { break }
            rest.removeFirst(expected.count)
            transactions += 1
        }
        #expect(transactions >= 1)
        #expect(!calls.contains("abort"))
        // The last offsets sent are those after the last input record.
        #expect(factory.sentOffsets.withLock { $0.last } == TopicPartitionOffset(topic: "eos-calls-in", partition: 0, offset: Int64(input.count)))
    }
}
