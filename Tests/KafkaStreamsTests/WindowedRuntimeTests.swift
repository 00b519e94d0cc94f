import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// Windowed aggregations through StreamsApp on the embedded broker: window stores restored
/// from their changelog and queried, and final results that a restart neither repeats nor
/// skips.
@Suite struct WindowedRuntimeTests {
    /// A minute-aligned start (librdkafka stamps a time of 0 with the current time).
    static let base: Int64 = 60_000 * 1_000

    static func record(_ topic: String, key: String, at offset: Int64) -> ProducerRecord {
        ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(key.utf8), timestamp: base + offset)
    }

    @Test func aWindowStoreIsRestoredFromItsChangelogAndQueried() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("views", partitions: 2)
        let builder = StreamsBuilder()
        builder.stream("views", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(10)))
            .count(materialized: .as("views-per-minute"))
        let topology = try builder.build()
        let views = ["home": [1_000, 2_000, 61_000], "cart": [3_000, 59_999]]
        try await kafka.produce(views.flatMap { page, times in times.map { Self.record("views", key: page, at: Int64($0)) } })
        let configuration = kafka.streamsConfiguration(applicationID: "windows-restore")
        func expectCounts(_ app: StreamsApp) async throws {
            let store = try app.windowStore(named: "views-per-minute", key: String.self, value: Int64.self)
            let ready = try await waitUntil(timeout: .seconds(60)) { (try? store.fetch("cart", windowStart: Self.base)) == 2 }
            #expect(ready)
            #expect(try store.fetch("home", from: Self.base, to: Self.base + 60_000).map { "\($0.window.start - Self.base)=\($0.value)" } == [
                "0=2", "60000=1",
            ])
        }
        let first = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
        try await expectCounts(first.app)
        try await first.stop().get()
        // Local state gone: the windows come back from the changelog.
        try FileManager.default.removeItem(atPath: configuration.stateDirectory)
        let second = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
        try await expectCounts(second.app)
        try await second.stop().get()
    }

    @Test func finalResultsComeOnceAcrossARestart() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("clicks", partitions: 1)
        try kafka.createTopic("clicks-per-10s", partitions: 1)
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(10), grace: .zero))
            .count(materialized: .as("clicks-per-10s"), emit: .onWindowClose)
            .toStream()
            .to("clicks-per-10s", key: .timeWindowed(.string, windowSize: .seconds(10)), value: .optional(.int64))
        let topology = try builder.build()
        let configuration = kafka.streamsConfiguration(applicationID: "final-once")
        let serde = TimeWindowedSerde(StringSerde(), windowSize: 10_000)
        func results() async throws -> [String] {
            try await kafka.readAll("clicks-per-10s").map { record in
                let key = try serde.deserialize(record.key ?? [])
                let count = try BigEndianIntegerSerde<Int64>().deserialize(record.value ?? [])
                return "\(key.key)@\(key.window.start - Self.base)=\(count)"
            }
        }
        func runUntil(_ expected: [String]) async throws {
            let running = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
            // Wait for the results this run must give; a repeat would come before them.
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while ContinuousClock.now < deadline, try await results().count < expected.count {
                try await Task.sleep(for: .milliseconds(200))
            }
            try await running.stop().get()
        }
        // The click at 11 s closes [0 s, 10 s).
        try await kafka.produce([Self.record("clicks", key: "k1", at: 1_000), Self.record("clicks", key: "k2", at: 2_000), Self.record("clicks", key: "k1", at: 11_000)])
        let firstWindow = ["k1@0=1", "k2@0=1"]
        try await runUntil(firstWindow)
        #expect(try await results() == firstWindow)
        // After a restart, the click at 25 s closes [10 s, 20 s) only: [0 s, 10 s) is not sent again.
        try await kafka.produce([Self.record("clicks", key: "k2", at: 12_000), Self.record("clicks", key: "k1", at: 25_000)])
        try await runUntil(firstWindow + ["k1@10000=1", "k2@10000=1"])
        #expect(try await results() == firstWindow + ["k1@10000=1", "k2@10000=1"])
    }
}
