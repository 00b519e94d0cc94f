import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// Exactly-once through librdkafka on the mock broker while requests fail and the broker
/// goes away. The mock does not honour transactions, so what is checked is what it can
/// show: the app recovers (or would stop with a clear error) and no input is lost.
@Suite struct ExactlyOnceFaultTests {
    @Test func transactionalRequestErrorsAndABrokerOutageLoseNothing() async throws {
        let kafka = try EmbeddedKafkaCluster()
        try kafka.createTopic("eos-faults-in", partitions: 2)
        try kafka.createTopic("eos-faults-out", partitions: 2)
        var configuration = kafka.streamsConfiguration(applicationID: "eos-faults")
        configuration.processingGuarantee = .exactlyOnce
        configuration.commitInterval = .milliseconds(200)
        let builder = StreamsBuilder()
        builder.stream("eos-faults-in", key: .string, value: .string).mapValues { "seen-" + $0 }.to("eos-faults-out")

        // Every transactional request fails once (retriable for the client), as does a
        // produce and a fetch.
        for api in [KafkaAPI.initProducerID, .addPartitionsToTransaction, .addOffsetsToTransaction, .endTransaction] {
            kafka.cluster.pushRequestErrors(api, [.coordinatorNotAvailable])
        }
        kafka.cluster.pushRequestErrors(.produce, [.notLeaderForPartition])
        kafka.cluster.pushRequestErrors(.fetch, [.notLeaderForPartition])
        let running = RunningApp(try StreamsApp(topology: try builder.build(), configuration: configuration, logger: streamsTestLogger))
        let first = (0..<40).map { "a\($0)" }
        try await kafka.produceValues("eos-faults-in", first, keys: first)
        let firstOutputs = first.map { "seen-" + $0 }
        #expect(try await outputValues(kafka, including: firstOutputs).isSuperset(of: firstOutputs))

        // The broker goes away for 10 s while input keeps arriving.
        try kafka.cluster.setBrokerDown(1)
        try await Task.sleep(for: .seconds(10))
        try kafka.cluster.setBrokerUp(1)
        let second = (0..<40).map { "b\($0)" }
        try await kafka.produceValues("eos-faults-in", second, keys: second)
        let all = (first + second).map { "seen-" + $0 }
        #expect(try await outputValues(kafka, including: all, timeout: .seconds(60)).isSuperset(of: all), "no input lost")
        try (await running.stop()).get()
    }

    /// The output values once they include `expected` (or `timeout` passed). Not a count:
    /// the mock lets aborted transactions' records through, so repeats could reach it.
    private func outputValues(_ kafka: EmbeddedKafkaCluster, including expected: [String], timeout: Duration = .seconds(30)) async throws -> Set<String> {
        let values = { (records: [ConsumerRecord]) in Set(records.compactMap { text($0.value) }) }
        return values(try await kafka.waitForRecords("eos-faults-out", timeout: timeout) { values($0).isSuperset(of: expected) })
    }
}
