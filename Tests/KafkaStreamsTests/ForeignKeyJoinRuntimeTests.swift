import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// A foreign-key join through StreamsApp on the embedded broker, between tables whose
/// topics have different partition counts (no co-partitioning), across a restart that lost
/// the local state: the subscriptions come back from their changelog, so a customer's
/// change after the restart still reaches every order naming it.
@Suite struct ForeignKeyJoinRuntimeTests {
    static func record(_ topic: String, key: String, value: String, at time: Int64) -> ProducerRecord {
        ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(value.utf8), timestamp: time)
    }

    /// Orders `"<customer>:<amount>"` joined with their customer's name.
    static func topology() throws -> Topology {
        let builder = StreamsBuilder()
        let customers = builder.table("fk-customers", key: .string, value: .string)
        let orders = builder.table("fk-orders", key: .string, value: .string)
        orders.join(customers, named: "fk", foreignKey: { _, order in order.split(separator: ":").first.map(String.init) }, value: .string) { order, name in "\(order)/\(name)" }
            .toStream().to("fk-named-orders", key: .string, value: .optional(.string))
        return try builder.build()
    }

    /// Waits until the last value of each key of `topic` is `expected`'s.
    static func expectLatest(_ topic: String, _ expected: [String: String], in kafka: EmbeddedKafkaCluster) async throws {
        var latest: [String: String] = [:]
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            latest = [:]
            for record in try await kafka.readAll(topic, timeout: .seconds(5)) {
                latest[String(decoding: record.key ?? [], as: UTF8.self)] = record.value.map { String(decoding: $0, as: UTF8.self) } ?? "null"
            }
            if latest == expected { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(latest == expected)
    }

    @Test func joinsTablesPartitionedDifferentlyAcrossARestart() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("fk-customers", partitions: 2)
        try kafka.createTopic("fk-orders", partitions: 3)
        try kafka.createTopic("fk-named-orders", partitions: 1)
        var configuration = kafka.streamsConfiguration(applicationID: "fk-join")
        configuration.commitInterval = .milliseconds(200)
        let restores = StateRuntimeTests.RestoreRecorder()
        configuration.restoreListener = restores

        try await kafka.produce([Self.record("fk-customers", key: "c1", value: "Ada", at: 1), Self.record("fk-customers", key: "c2", value: "Bob", at: 1)])
        try await kafka.produce([
            Self.record("fk-orders", key: "o1", value: "c1:10", at: 2), Self.record("fk-orders", key: "o2", value: "c2:20", at: 3),
            Self.record("fk-orders", key: "o3", value: "c1:30", at: 4),
        ])
        let first = RunningApp(try StreamsApp(topology: try Self.topology(), configuration: configuration, logger: streamsTestLogger))
        try await Self.expectLatest("fk-named-orders", ["o1": "c1:10/Ada", "o2": "c2:20/Bob", "o3": "c1:30/Ada"], in: kafka)
        try await first.stop().get()
        // Subscriptions go where the customers are, answers where the orders are.
        #expect(try await kafka.endOffsets("fk-join-fk-subscription-registration-topic").count == 2)
        #expect(try await kafka.endOffsets("fk-join-fk-subscription-response-topic").count == 3)
        try FileManager.default.removeItem(atPath: configuration.stateDirectory)

        // c1's new name reaches o1 and o3 through the restored subscriptions; o2 moves to c1.
        try await kafka.produce([Self.record("fk-customers", key: "c1", value: "Ada2", at: 5), Self.record("fk-orders", key: "o2", value: "c1:25", at: 6)])
        let second = RunningApp(try StreamsApp(topology: try Self.topology(), configuration: configuration, logger: streamsTestLogger))
        try await Self.expectLatest("fk-named-orders", ["o1": "c1:10/Ada2", "o2": "c1:25/Ada2", "o3": "c1:30/Ada2"], in: kafka)
        try await second.stop().get()
        #expect(restores.total > 0)
    }
}
