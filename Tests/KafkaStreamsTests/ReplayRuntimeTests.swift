import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// Replay equals live: a windowed count with final results, run live on input arriving in
/// trickles (out of order within the grace, a few records late beyond it), then replayed
/// by a second application (new id, new output) in a bounded run from offset 0 over the
/// same topic. Each task reads its partition in the same order either way, so stream time,
/// the windows closed and the records late all agree.
@Suite struct ReplayRuntimeTests {
    static let base: Int64 = 1_700_000_000_000

    static func topology(output: String, late: String) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("replay-orders", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(10), grace: .seconds(5)))
            .count(materialized: .as("orders-per-10s"), emit: .onWindowClose, lateRecords: .deadLetter(topic: late))
            .toStream()
            .to(output, key: .timeWindowed(.string, windowSize: .seconds(10)), value: .optional(.int64))
        return try builder.build()
    }

    /// The orders: a category each, times rising a second apart with up to 4 s of disorder
    /// (grace 5 s), and every 25th order 20 s behind its neighbours (late).
    static func orders() -> [ProducerRecord] {
        (0..<120).map { index in
            let disorder: Int64 = [0, 3_000, 1_000, 4_000, 2_000][index % 5]
            let time = Int64(index) * 1_000 - (index % 25 == 24 ? 20_000 : disorder)
            let category = "c\(index % 6)"
            return ProducerRecord(topic: "replay-orders", key: Array(category.utf8), value: Array("order-\(index)".utf8), timestamp: base + time)
        }
    }

    static func finalResults(_ kafka: EmbeddedKafkaCluster, _ topic: String) async throws -> [String] {
        let serde = TimeWindowedSerde(StringSerde(), windowSize: 10_000)
        return try await kafka.readAll(topic).map { record in
            let key = try serde.deserialize(record.key ?? [])
            let count = try BigEndianIntegerSerde<Int64>().deserialize(record.value ?? [])
            return "p\(record.partition) \(key.key)@\(key.window.start - base)=\(count)"
        }
    }

    static func lateOrders(_ kafka: EmbeddedKafkaCluster, _ topic: String) async throws -> [String] {
        try await kafka.readAll(topic).map { "p\($0.partition) \(text($0.value) ?? "")" }.sorted()
    }

    @Test func aBoundedReplayGivesTheLiveRunsFinalResults() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("replay-orders", partitions: 2)
        for topic in ["replay-live-out", "replay-live-late", "replay-v2-out", "replay-v2-late"] { try kafka.createTopic(topic, partitions: 2) }
        let orders = Self.orders()

        // Live: six trickles, each processed and committed before the next is written.
        var live = kafka.streamsConfiguration(applicationID: "replay-live")
        live.commitInterval = .milliseconds(200)
        let running = RunningApp(try StreamsApp(topology: try Self.topology(output: "replay-live-out", late: "replay-live-late"), configuration: live, logger: streamsTestLogger))
        for trickle in stride(from: 0, to: orders.count, by: 20) {
            try await kafka.produce(Array(orders[trickle..<trickle + 20]))
            // A partition no record reached yet has no commit to wait for.
            let ends = try await kafka.endOffsets("replay-orders").filter { $0.value > 0 }
            #expect(try await kafka.waitForCommits(group: "replay-live", topic: "replay-orders", expected: ends) == ends)
        }
        try await running.stop().get()
        let liveResults = try await Self.finalResults(kafka, "replay-live-out")
        #expect(Set(liveResults.map { $0.prefix(2) }) == ["p0", "p1"])

        // Replay: a new application over the same topic from offset 0, bounded.
        var replay = kafka.streamsConfiguration(applicationID: "replay-v2")
        replay.boundedRun = BoundedRun()
        let replayApp = try StreamsApp(topology: try Self.topology(output: "replay-v2-out", late: "replay-v2-late"), configuration: replay, logger: streamsTestLogger)
        try await BoundedRunRuntimeTests.runToEnd(replayApp)
        let replayResults = try await Self.finalResults(kafka, "replay-v2-out")

        // Most windows have closed (the last ones stay open in both: no record closes them).
        #expect(liveResults.count >= 40)
        // Each category's results in the order they came (two tasks' results interleave
        // in an output partition as they happen to be sent).
        func byCategory(_ results: [String]) -> [Substring: [String]] {
            Dictionary(grouping: results) { $0.split(separator: " ")[1].split(separator: "@")[0] }
        }
        #expect(byCategory(replayResults) == byCategory(liveResults))
        #expect(replayResults.count == liveResults.count)
        let late = try await Self.lateOrders(kafka, "replay-live-late")
        #expect(late.count == 4)
        #expect(try await Self.lateOrders(kafka, "replay-v2-late") == late)
        // Every order is in a final result, late, or in a window still open.
        let counted = liveResults.compactMap { $0.split(separator: "=").last.flatMap { Int($0) } }.reduce(0, +)
        #expect(counted + late.count <= orders.count && counted + late.count >= orders.count - 2 * 6 * 10)
    }
}
