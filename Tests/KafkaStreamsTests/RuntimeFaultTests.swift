import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// A `StreamsApp` through librdkafka on the mock broker while requests fail, the broker
/// goes away, or outputs are never acknowledged.
@Suite struct RuntimeFaultTests {
    /// The mock does not honour transactions, so under exactly-once what is checked is
    /// what it can show: the app recovers and no input is lost. It drops offsets sent
    /// with a transaction, so committed offsets are checked under at-least-once only.
    @Test(arguments: [StreamsConfiguration.ProcessingGuarantee.atLeastOnce, .exactlyOnce])
    func requestErrorsAndABrokerOutageLoseNothing(guarantee: StreamsConfiguration.ProcessingGuarantee) async throws {
        let name = guarantee == .exactlyOnce ? "eos-faults" : "alos-faults"
        let (input, output) = ("\(name)-in", "\(name)-out")
        let kafka = try EmbeddedKafkaCluster()
        try kafka.createTopic(input, partitions: 2)
        try kafka.createTopic(output, partitions: 2)
        var configuration = kafka.streamsConfiguration(applicationID: name)
        configuration.processingGuarantee = guarantee
        configuration.commitInterval = .milliseconds(200)
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string).mapValues { "seen-" + $0 }.to(output)

        // Every transactional request (and InitProducerId, which idempotent producers send
        // too), a produce, a fetch and an offset commit fail once: retriable for the client.
        for api in [KafkaAPI.initProducerID, .addPartitionsToTransaction, .addOffsetsToTransaction, .endTransaction] {
            kafka.cluster.pushRequestErrors(api, [.coordinatorNotAvailable])
        }
        kafka.cluster.pushRequestErrors(.produce, [.notLeaderForPartition])
        kafka.cluster.pushRequestErrors(.fetch, [.notLeaderForPartition])
        kafka.cluster.pushRequestErrors(.offsetCommit, [.coordinatorNotAvailable])
        let running = RunningApp(try StreamsApp(topology: try builder.build(), configuration: configuration, logger: streamsTestLogger))
        let first = (0..<40).map { "a\($0)" }
        try await kafka.produceValues(input, first, keys: first)
        let firstOutputs = first.map { "seen-" + $0 }
        #expect(try await outputValues(kafka, output, including: firstOutputs).isSuperset(of: firstOutputs))

        // The broker goes away for 8 s (longer than the group's session) while more input
        // is sent: its producer holds the records until the broker is back.
        try kafka.cluster.setBrokerDown(1)
        let second = (0..<40).map { "b\($0)" }
        let sending = Task { try await kafka.produceValues(input, second, keys: second) }
        try await Task.sleep(for: .seconds(8))
        try kafka.cluster.setBrokerUp(1)
        try await sending.value

        let all = (first + second).map { "seen-" + $0 }
        #expect(try await outputValues(kafka, output, including: all, timeout: .seconds(60)).isSuperset(of: all), "no input lost")
        if guarantee == .atLeastOnce {
            let ends = try await kafka.endOffsets(input)
            #expect(ends.values.reduce(0, +) == 80)
            let committed = try await kafka.waitForCommits(group: name, topic: input, expected: ends, timeout: .seconds(60))
            #expect(committed == ends, "commits resume after the outage")
        }
        try (await running.stop()).get()
    }

    /// Outputs the broker never acknowledges must not let their inputs count as done:
    /// past `flushTimeout` the commit fails, the app stops with a clear error and commits
    /// nothing, and a restarted app processes the same input again.
    @Test func outputsUnacknowledgedPastTheFlushTimeoutStopTheAppWithoutCommittingTheirInput() async throws {
        let kafka = try EmbeddedKafkaCluster()
        try kafka.createTopic("stuck-in", partitions: 1)
        try kafka.createTopic("stuck-out", partitions: 1)
        let inputs = (0..<10).map { "s\($0)" }
        try await kafka.produceValues("stuck-in", inputs, keys: inputs)
        var configuration = kafka.streamsConfiguration(applicationID: "stuck-outputs")
        configuration.commitInterval = .milliseconds(200)
        configuration.flushTimeout = .seconds(2)
        let builder = StreamsBuilder()
        builder.stream("stuck-in", key: .string, value: .string).mapValues { "seen-" + $0 }.to("stuck-out")
        let topology = try builder.build()

        // From now on every produce request fails (retriable): librdkafka keeps retrying,
        // so the outputs stay unacknowledged.
        kafka.cluster.pushRequestErrors(.produce, Array(repeating: .notLeaderForPartition, count: 100_000))
        let app = try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger)
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            app.shutdown()  // a clean stop then fails the expectation below instead of hanging
        }
        let error = await #expect(throws: StreamsError.self) { try await app.run() }
        watchdog.cancel()
        #expect(error?.kind == .commit)
        #expect(try await kafka.committedOffsets(group: "stuck-outputs", topic: "stuck-in").isEmpty, "no input counts as done")

        kafka.cluster.clearRequestErrors(.produce)
        let restarted = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
        let expected = inputs.map { "seen-" + $0 }
        #expect(try await outputValues(kafka, "stuck-out", including: expected).isSuperset(of: expected), "the restarted app sent every output")
        #expect(try await kafka.waitForCommits(group: "stuck-outputs", topic: "stuck-in", expected: [0: 10]) == [0: 10])
        try (await restarted.stop()).get()
    }

    /// The values of `topic` once they include `expected` (or `timeout` passed). Not a
    /// count: repeats (at-least-once after a rejoin, or aborted transactions, which the
    /// mock lets through) could reach it first.
    private func outputValues(
        _ kafka: EmbeddedKafkaCluster, _ topic: String, including expected: [String], timeout: Duration = .seconds(30)
    ) async throws -> Set<String> {
        let values = { (records: [ConsumerRecord]) in Set(records.compactMap { text($0.value) }) }
        return values(try await kafka.waitForRecords(topic, timeout: timeout) { values($0).isSuperset(of: expected) })
    }
}
