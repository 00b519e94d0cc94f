import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// A global table through StreamsApp on the embedded broker: its topic has more partitions
/// than the stream's (no co-partitioning); the rows written before the start are all there
/// before the first event is processed; an update after the start reaches the store, its
/// queries and the joins that come after it.
@Suite struct GlobalTableRuntimeTests {
    static func record(_ topic: String, key: String, value: String, at time: Int64) -> ProducerRecord {
        ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(value.utf8), timestamp: time)
    }

    @Test func everyInstanceHoldsTheWholeTableBeforeProcessing() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("gt-profiles", partitions: 3)
        try kafka.createTopic("gt-events", partitions: 2)
        try kafka.createTopic("gt-enriched", partitions: 1)
        let builder = StreamsBuilder()
        let profiles = builder.globalTable("gt-profiles", key: .string, value: .string, materialized: .as("profiles"))
        builder.stream("gt-events", key: .string, value: .string)
            .join(profiles, key: { _, profile in profile }) { event, country in "\(event)@\(country)" }
            .to("gt-enriched", key: .string, value: .string)
        var configuration = kafka.streamsConfiguration(applicationID: "global-table")
        configuration.commitInterval = .milliseconds(200)
        let firstBootstrap = StateRuntimeTests.RestoreRecorder()
        configuration.restoreListener = firstBootstrap

        try await kafka.produce((0..<6).map { Self.record("gt-profiles", key: "p\($0)", value: "C\($0)", at: 1) })
        try await kafka.produce((0..<6).map { Self.record("gt-events", key: "e\($0)", value: "p\($0)", at: 2) })
        let app = try StreamsApp(topology: try builder.build(), configuration: configuration, logger: streamsTestLogger)
        let running = RunningApp(app)
        // Every event found its profile: the table was whole before the first one.
        let expected = (0..<6).map { "p\($0)@C\($0)" }
        let joined = try await kafka.waitForValues("gt-enriched", including: expected)
        #expect(Set(joined.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }) == Set(expected))

        let store = try app.store(named: "profiles", key: String.self, value: String.self)
        #expect(try store.all().count == 6)
        #expect(firstBootstrap.total == 6)
        try await kafka.produce([Self.record("gt-profiles", key: "p1", value: "C1b", at: 3)])
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while try store.get("p1") != "C1b" && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try store.get("p1") == "C1b")
        try await kafka.produce([Self.record("gt-events", key: "e7", value: "p1", at: 4)])
        _ = try await kafka.waitForValues("gt-enriched", including: ["p1@C1b"])
        try await running.stop().get()

        // The persistent store resumes from its checkpoint (all 7 records applied), then
        // applies what came while the application was down: a deletion and a new row.
        let checkpoint = try String(contentsOfFile: "\(configuration.stateDirectory)/global-table/global/.checkpoint", encoding: .utf8)
        let applied = checkpoint.split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
        #expect(applied == 7)
        try await kafka.produce([Self.record("gt-profiles", key: "p2", value: "", at: 5), Self.record("gt-profiles", key: "p6", value: "C6", at: 5)])
        try await kafka.produce([ProducerRecord(topic: "gt-profiles", key: Array("p3".utf8), value: nil, timestamp: 6)])
        // Only the 3 records written while it was down are read again.
        let resumed = StateRuntimeTests.RestoreRecorder()
        configuration.restoreListener = resumed
        let restarted = try StreamsApp(topology: try builder.build(), configuration: configuration, logger: streamsTestLogger)
        let second = RunningApp(restarted)
        try await kafka.produce([Self.record("gt-events", key: "e8", value: "p6", at: 7)])
        _ = try await kafka.waitForValues("gt-enriched", including: ["p6@C6"])
        let rows = try restarted.store(named: "profiles", key: String.self, value: String.self).all().map { "\($0.key)=\($0.value)" }
        #expect(rows == ["p0=C0", "p1=C1b", "p2=", "p4=C4", "p5=C5", "p6=C6"])
        #expect(resumed.total == 3)
        try await second.stop().get()

        // A damaged checkpoint: the store is wiped and read again from the start.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: "\(configuration.stateDirectory)/global-table/global/.checkpoint"))
        let reread = StateRuntimeTests.RestoreRecorder()
        configuration.restoreListener = reread
        let third = try StreamsApp(topology: try builder.build(), configuration: configuration, logger: streamsTestLogger)
        let thirdRun = RunningApp(third)
        // The listener hears the last batch before the store is marked restored: wait for
        // the store to answer, not for the count.
        let thirdStore = try third.store(named: "profiles", key: String.self, value: String.self)
        #expect(try await waitUntil { (try? thirdStore.all()) != nil })
        #expect(reread.total == 10)
        #expect(try third.store(named: "profiles", key: String.self, value: String.self).all().map { "\($0.key)=\($0.value)" } == rows)
        try await thirdRun.stop().get()
    }

    /// A global table whose topic does not exist: `run()` fails before any thread starts.
    @Test func aMissingGlobalTopicIsAClearError() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("gt-orders", partitions: 1)
        let builder = StreamsBuilder()
        let shops = builder.globalTable("gt-no-such-topic", key: .string, value: .string)
        builder.stream("gt-orders", key: .string, value: .string).join(shops, key: { _, shop in shop }) { order, _ in order }.to("gt-out")
        let app = try StreamsApp(
            topology: try builder.build(), configuration: kafka.streamsConfiguration(applicationID: "global-missing"), logger: streamsTestLogger)
        await #expect {
            try await app.run()
        } throws: { error in
            (error as? StreamsError)?.kind == .missingSourceTopic && "\(error)".contains("gt-no-such-topic")
        }
    }

    /// A global table record that does not decode stops the application under `.fail`
    /// (before any task runs, while bootstrapping), and is skipped under `.continue`.
    @Test func anUndecodableGlobalRecordFollowsTheDeserializationHandler() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("gt-limits", partitions: 2)
        try kafka.createTopic("gt-payments", partitions: 1)
        try kafka.createTopic("gt-checked", partitions: 1)
        try await kafka.produce([
            ProducerRecord(topic: "gt-limits", key: Array("c1".utf8), value: [0, 0, 0, 0, 0, 0, 0, 100], timestamp: 1),
            ProducerRecord(topic: "gt-limits", key: Array("c2".utf8), value: [1, 2, 3], timestamp: 1),
        ])
        func topology() throws -> Topology {
            let builder = StreamsBuilder()
            let limits = builder.globalTable("gt-limits", key: .string, value: .int64, materialized: .as("limits"))
            builder.stream("gt-payments", key: .string, value: .string)
                .leftJoin(limits, key: { card, _ in card }) { payment, limit in "\(payment)/\(limit.map(String.init) ?? "none")" }
                .to("gt-checked", key: .string, value: .string)
            return try builder.build()
        }
        var failing = kafka.streamsConfiguration(applicationID: "global-table-fail")
        failing.commitInterval = .milliseconds(200)
        let failed = RunningApp(try StreamsApp(topology: try topology(), configuration: failing, logger: streamsTestLogger))
        let failure = await failed.task.result
        guard case .failure(let error as DeserializationError) = failure else {
            Issue.record("expected a deserialization error, got \(failure)")
            return
        }
        #expect(error.source.topic == "gt-limits")

        var skipping = kafka.streamsConfiguration(applicationID: "global-table-continue")
        skipping.commitInterval = .milliseconds(200)
        skipping.errorHandlers.deserialization = .continue
        let app = try StreamsApp(topology: try topology(), configuration: skipping, logger: streamsTestLogger)
        let running = RunningApp(app)
        try await kafka.produce([Self.record("gt-payments", key: "c1", value: "p1", at: 2), Self.record("gt-payments", key: "c2", value: "p2", at: 2)])
        _ = try await kafka.waitForValues("gt-checked", including: ["p1/100", "p2/none"])
        #expect(try app.store(named: "limits", key: String.self, value: Int64.self).all().map(\.key) == ["c1"])
        try await running.stop().get()
    }
}
