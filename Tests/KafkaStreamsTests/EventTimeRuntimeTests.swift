import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// Event-time order across a task's partitions through StreamsApp on the embedded broker:
/// librdkafka's kept messages, partition ends, pauses, commits and rebalances.
@Suite struct EventTimeRuntimeTests {
    /// "left" and "right" merged; each value is its record's event time.
    static func merge() throws -> Topology {
        let builder = StreamsBuilder()
        let left = builder.stream("left", key: .optional(.string), value: .string)
        let right = builder.stream("right", key: .optional(.string), value: .string)
        left.merge(right).to("merged")
        return try builder.build()
    }

    /// A record whose value is its time, so the output shows the order of processing. The
    /// record is written at `base + time`: librdkafka stamps a time of 0 with the current time.
    static func record(_ topic: String, key: String, at time: Int64) -> ProducerRecord {
        ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(String(time).utf8), timestamp: base + time)
    }

    static let base: Int64 = 1_000_000

    /// Per output partition, the event times in the order written, each time once: a
    /// rebalance under at-least-once repeats what was processed since the last commit,
    /// and a repeat is not a reordering. (The app places keys as Java clients do, murmur2;
    /// the test's producer by librdkafka's default: an output partition may mix tasks.)
    static func firstOccurrences(_ records: [ConsumerRecord]) -> [Int32: [Int64]] {
        var seen: Set<String> = []
        var result: [Int32: [Int64]] = [:]
        for record in records {
            guard let value = text(record.value), seen.insert(value).inserted, let time = Int64(value) else { continue }
            result[record.partition, default: []].append(time)
        }
        return result
    }

    @Test func mergedTopicsAreProcessedInEventTimeOrderThroughPausesAndResumes() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        for topic in ["left", "right"] { try kafka.createTopic(topic, partitions: 2) }
        // All of "left" is written before any of "right", interleaved in event time.
        let times = 0..<Int64(600)
        try await kafka.produce(times.filter { $0 % 2 == 0 }.map { Self.record("left", key: "k\($0 % 7)", at: $0) })
        try await kafka.produce(times.filter { $0 % 2 == 1 }.map { Self.record("right", key: "k\($0 % 7)", at: $0) })
        var configuration = kafka.streamsConfiguration(applicationID: "merge-order")
        // Small queues: partitions pause and resume many times.
        configuration.maxBufferedRecordsPerPartition = 8
        let metrics = TestMetrics()
        let running = RunningApp(try StreamsApp(topology: Self.merge(), configuration: configuration, logger: streamsTestLogger))
        let output = try await kafka.waitForValues("merged", including: times.map(String.init))
        try await running.stop().get()
        // A key's records all come through one task (both topics place it alike), and with
        // "left" written first, its order shows whether the task waited for "right".
        var byKey: [String: [Int64]] = [:]
        for time in Self.firstOccurrences(output).values.joined() { byKey["k\(time % 7)", default: []].append(time) }
        #expect(byKey.values.reduce(0) { $0 + $1.count } == times.count)
        for (key, sequence) in byKey { #expect(sequence == sequence.sorted(), "\(key) out of event-time order") }
        // Each output keeps its input's event time.
        #expect(output.allSatisfy { text($0.value) == String($0.timestamp - Self.base) })
        // Only at the end may one input, read to its end, stop holding the other back.
        #expect(metrics.total("kafka_streams_enforced_processing_total", application: "merge-order") < 20)
    }

    @Test func anEmptyInputHoldsNothingBackOnceReadToItsEnd() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        for topic in ["left", "right"] { try kafka.createTopic(topic, partitions: 1) }
        try await kafka.produce((0..<Int64(30)).map { Self.record("left", key: "k", at: $0) })
        let metrics = TestMetrics()
        let running = RunningApp(try StreamsApp(
            topology: Self.merge(), configuration: kafka.streamsConfiguration(applicationID: "empty-right"), logger: streamsTestLogger))
        let output = try await kafka.waitForValues("merged", including: (0..<30).map(String.init))
        try await running.stop().get()
        #expect(Self.firstOccurrences(output)[0] == Array(0..<30))
        #expect(metrics.total("kafka_streams_enforced_processing_total", application: "empty-right") >= 1)
    }

    @Test func queuedRecordsAreNeverCommittedAndARebalanceRereadsThem() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        for topic in ["left", "right"] { try kafka.createTopic(topic, partitions: 2) }
        // Per partition p: "left" at 100p..<100p+20, then one "right" record at 1000+100p.
        func record(_ topic: String, _ partition: Int32, at time: Int64) -> ProducerRecord {
            var record = Self.record(topic, key: "k", at: time)
            record.partition = partition
            return record
        }
        try await kafka.produce([Int32(0), 1].flatMap { p in (0..<Int64(20)).map { record("left", p, at: 100 * Int64(p) + $0) } })
        try await kafka.produce([record("right", 0, at: 1_000), record("right", 1, at: 1_100)])
        var configuration = kafka.streamsConfiguration(applicationID: "queued-commits")
        // "left" runs dry and waits: the records of "right" stay queued.
        configuration.maxTaskIdle = .seconds(3600)
        let leftTimes = (0..<20).map(String.init) + (100..<120).map(String.init)
        let first = RunningApp(try StreamsApp(topology: Self.merge(), configuration: configuration, logger: streamsTestLogger))
        _ = try await kafka.waitForValues("merged", including: leftTimes)
        #expect(try await kafka.waitForCommits(group: "queued-commits", topic: "left", expected: [0: 20, 1: 20]) == [0: 20, 1: 20])
        // A second instance joins: each instance drops its queues, and each task's new
        // owner reads "right" again from its committed offset (none).
        let second = RunningApp(try StreamsApp(topology: Self.merge(), configuration: configuration, logger: streamsTestLogger))
        #expect(try await waitUntil { first.app.activeTasks.count == 1 && second.app.activeTasks.count == 1 })
        try await kafka.produce([record("left", 0, at: 2_000), record("left", 1, at: 2_100)])
        let output = try await kafka.waitForValues("merged", including: ["1000", "1100"])
        // The new "left" records are queued now, behind the empty "right".
        #expect(try await kafka.waitForCommits(group: "queued-commits", topic: "right", expected: [0: 1, 1: 1]) == [0: 1, 1: 1])
        try await first.stop().get()
        try await second.stop().get()
        #expect(!output.contains { ["2000", "2100"].contains(text($0.value)) })
        #expect(try await kafka.committedOffsets(group: "queued-commits", topic: "left") == [0: 20, 1: 20])
        // Every output has key "k", so all are in one partition: each task's in order there.
        let ordered = Self.firstOccurrences(output)
        #expect(ordered.count == 1)
        let sequence = ordered.values.first ?? []
        #expect(sequence.filter { $0 < 100 || $0 == 1_000 } == Array(0..<20) + [1_000])
        #expect(sequence.filter { (100..<1_000).contains($0) || $0 == 1_100 } == Array(100..<120) + [1_100])
    }
}
