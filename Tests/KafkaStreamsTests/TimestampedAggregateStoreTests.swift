import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// An aggregation's store keeps each aggregate with its time (the largest time of what it
/// aggregates, which its results carry, as in Kafka Streams). Its changelog has Kafka
/// Streams' layout (the aggregate's bytes, the time as the record's timestamp), and a
/// restore from it puts the time back: on the simulated cluster, with the local state lost.
@Suite struct TimestampedAggregateStoreTests {
    static func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("amounts", key: .string, value: .int64).groupByKey()
            .reduce(materialized: .as("sums")) { $0 + $1 }
            .toStream().to("sums", key: .string, value: .optional(.int64))
        return try builder.build()
    }

    static func int64(_ value: Int64) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try BigEndianIntegerSerde<Int64>().serialize(value, into: &bytes)
        return bytes
    }

    @Test func aRestoredAggregateKeepsItsTime() async throws {
        let cluster = SimulatedCluster(seed: 3)
        for topic in ["amounts", "sums", "restore-time-sums-changelog"] { cluster.createTopic(topic, partitions: 1) }
        var configuration = StreamsConfiguration(applicationID: "restore-time", bootstrapServers: "simulated")
        configuration.recordCacheBytes = 0
        let run = { (directory: String) async throws in
            configuration.stateDirectory = directory
            _ = try await cluster.runUntilProcessed({ try Self.topology() }, configuration: configuration, logger: streamsTestLogger)
        }
        let first = FileManager.default.temporaryDirectory.appendingPathComponent("restore-time-\(UInt64.random(in: 0...UInt64.max))").path
        let second = first + "-rebuilt"
        defer { for directory in [first, second] { try? FileManager.default.removeItem(atPath: directory) } }

        try cluster.produce("amounts", key: Array("k".utf8), value: try Self.int64(5), timestamp: 100)
        try await run(first)
        // The changelog holds the sum alone, stamped with its time.
        let changelog = cluster.records("restore-time-sums-changelog")
        #expect(changelog.map(\.value) == [try Self.int64(5)])
        #expect(changelog.map(\.timestamp) == [100])

        // Another host, no local state: the store comes back from the changelog, and a
        // record older than the sum leaves the sum's time as it was.
        try cluster.produce("amounts", key: Array("k".utf8), value: try Self.int64(2), timestamp: 50)
        try await run(second)
        let sums = try cluster.records("sums").map { record in
            "\(try record.value.map { try $0.withUnsafeBytes { try BigEndianIntegerSerde<Int64>().deserialize($0) } } ?? -1)@\(record.timestamp)"
        }
        #expect(sums == ["5@100", "7@100"])
    }
}
