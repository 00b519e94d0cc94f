import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// Joins through StreamsApp on the embedded broker, across a restart that lost the local
/// state: the table comes back from its topic, the join's window and waiting-record stores
/// from their changelogs, and the joins go on as if nothing happened.
@Suite struct JoinRuntimeTests {
    static let base: Int64 = 60_000 * 1_000

    static func record(_ topic: String, key: String, value: String, at offset: Int64) -> ProducerRecord {
        ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(value.utf8), timestamp: base + offset)
    }

    static func topology() throws -> Topology {
        let builder = StreamsBuilder()
        let cards = builder.table("cards", key: .string, value: .string)
        let payments = builder.stream("payments", key: .string, value: .string)
        payments.leftJoin(cards) { payment, country in "\(payment)@\(country ?? "?")" }.to("checked", key: .string, value: .string)
        builder.stream("orders", key: .string, value: .string)
            .leftJoin(payments, windows: .timeDifference(.seconds(10), grace: .zero), named: "pair") { order, payment in "\(order)+\(payment ?? "null")" }
            .to("paired", key: .string, value: .string)
        return try builder.build()
    }

    /// Waits until `topic` holds exactly `expected` (as `key:value@time`, in any order).
    static func expect(_ topic: String, _ expected: Set<String>, in kafka: EmbeddedKafkaCluster) async throws {
        var found: Set<String> = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            found = Set(try await kafka.readAll(topic, timeout: .seconds(5)).map { record in
                "\(String(decoding: record.key ?? [], as: UTF8.self)):\(String(decoding: record.value ?? [], as: UTF8.self))@\(record.timestamp - base)"
            })
            if found.count >= expected.count { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(found == expected, "\(topic)")
    }

    @Test func joinsGoOnAfterARestartThatLostTheLocalState() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        for topic in ["cards", "payments", "orders", "checked", "paired"] { try kafka.createTopic(topic, partitions: 2) }
        var configuration = kafka.streamsConfiguration(applicationID: "joins-restore")
        configuration.commitInterval = .milliseconds(200)
        let restores = StateRuntimeTests.RestoreRecorder()
        configuration.restoreListener = restores

        try await kafka.produce([Self.record("cards", key: "c1", value: "FR", at: 0), Self.record("cards", key: "c2", value: "DE", at: 0)])
        try await kafka.produce([
            Self.record("payments", key: "c1", value: "p1", at: 1_000), Self.record("orders", key: "c1", value: "o1", at: 5_000),
            Self.record("orders", key: "c3", value: "o3", at: 2_000),
        ])
        let first = RunningApp(try StreamsApp(topology: try Self.topology(), configuration: configuration, logger: streamsTestLogger))
        try await Self.expect("checked", ["c1:p1@FR@1000"], in: kafka)
        try await Self.expect("paired", ["c1:o1+p1@5000"], in: kafka)
        try await first.stop().get()
        try FileManager.default.removeItem(atPath: configuration.stateDirectory)

        // After the restore: c2's card comes from the table's topic, p1 from the payments
        // window's changelog (o1b pairs with it), o3 from the waiting records' changelog
        // (o3b's time closes its window: it goes out without partner).
        try await kafka.produce([
            Self.record("payments", key: "c2", value: "p2", at: 7_000), Self.record("orders", key: "c1", value: "o1b", at: 6_000),
            Self.record("orders", key: "c3", value: "o3b", at: 30_000),
        ])
        let second = RunningApp(try StreamsApp(topology: try Self.topology(), configuration: configuration, logger: streamsTestLogger))
        try await Self.expect("checked", ["c1:p1@FR@1000", "c2:p2@DE@7000"], in: kafka)
        try await Self.expect("paired", ["c1:o1+p1@5000", "c1:o1b+p1@6000", "c3:o3+null@2000"], in: kafka)
        try await second.stop().get()
        #expect(restores.total > 0)
    }
}
