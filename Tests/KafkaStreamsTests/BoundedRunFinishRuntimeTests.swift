import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// A bounded run that closes its windows at the end, on the embedded broker: per-minute
/// counts feed hourly sums through repartition topics (three sub-topology levels, two
/// stream threads); the run returns with every final result out once, the same as the
/// test driver's `finishInput()` gives for the same input.
@Suite struct BoundedRunFinishRuntimeTests {
    static func minutesIntoHours(input: String, output: String) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .groupBy(key: .string) { _, user in user }
            .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(5)))
            .count(materialized: .as("minutes"), emit: .onWindowClose)
            .toStream()
            .filter { _, count in count != nil }
            .map { minute, count in (minute.key, count!) }
            .groupByKey(key: .string, value: .int64)
            .windowedBy(.tumbling(size: .seconds(3_600), grace: .zero))
            .reduce(materialized: .as("hours"), emit: .onWindowClose) { $0 + $1 }
            .toStream()
            .to(output, key: .timeWindowed(.string, windowSize: .seconds(3_600)), value: .optional(.int64))
        return try builder.build()
    }

    /// Clicks of three users over three hours from 10:00 on the first day of 1970, a little
    /// out of order. (A time of 0 would be taken as "now" by the producer.)
    static let clicks: [(user: String, time: Int64)] = (0..<240).map { index in
        (["ann", "bob", "cy"][index % 3], 36_000_000 + Int64(index) * 45_000 + Int64(index % 4) * 1_000)
    }

    /// `user@start=sum tTIME` of hourly results, sorted.
    static func describe(key: [UInt8]?, value: [UInt8]?, timestamp: Int64) -> String {
        guard let key, key.count >= 8, let value, value.count == 8 else { return "malformed" }
        let start = key.suffix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let sum = value.reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return "\(String(decoding: key.dropLast(8), as: UTF8.self))@\(start)=\(sum) t\(timestamp)"
    }

    /// What the test driver gives: every hour's final sum, once.
    static func expected() throws -> [String] {
        try driverHours(try minutesIntoHours(input: "clicks", output: "hours"), clicks: clicks)
    }

    /// The hourly results (`describe`d, sorted) of `topology`, which reads `clicks` and
    /// writes `hours`, run on `clicks` by the test driver to the end of its input.
    static func driverHours(_ topology: Topology, clicks: [(user: String, time: Int64)]) throws -> [String] {
        let driver = try TopologyTestDriver(topology)
        defer { driver.close() }
        let input = driver.createInputTopic("clicks", key: StringSerde(), value: StringSerde())
        for (index, click) in clicks.enumerated() { try input.pipeInput(key: "k\(index)", value: click.user, timestamp: click.time) }
        try driver.finishInput()
        let output = driver.createOutputTopic("hours", key: BytesSerde(), value: OptionalSerde(BytesSerde()))
        return try output.readRecordsToList().map { describe(key: $0.key, value: $0.value, timestamp: $0.timestamp) }.sorted()
    }

    @Test func everyWindowClosesOnceAndLevelByLevel() async throws {
        let expected = try Self.expected()
        // 3 users × 3 hours (the clicks span 0 to about 3 hours).
        #expect(expected.count == 9)
        #expect(expected.filter { $0.hasPrefix("ann@") }.count == 3)

        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        // One input partition: with two, the repartition would interleave them as the two
        // tasks happen to run, and records would be late for the minutes (see the
        // "Reprocessing" article, "Replay equals live"). Three tasks, two threads.
        try kafka.createTopic("finish-clicks", partitions: 1)
        try await kafka.produce(Self.clicks.enumerated().map { index, click in
            ProducerRecord(topic: "finish-clicks", key: Array("k\(index)".utf8), value: Array(click.user.utf8), timestamp: click.time)
        })
        var configuration = kafka.streamsConfiguration(applicationID: "finish-hours")
        configuration.streamThreads = 2
        configuration.boundedRun = BoundedRun(progressInterval: .seconds(1), closesWindowsAtEnd: true)
        let app = try StreamsApp(
            topology: try Self.minutesIntoHours(input: "finish-clicks", output: "finish-hours"), configuration: configuration,
            logger: streamsTestLogger)
        // Paused until both threads are in the group: a thread joining later would
        // rebalance the group mid-run, and at-least-once would repeat what the other had
        // not committed (counting some minutes twice).
        app.pause()
        async let run: Void = BoundedRunRuntimeTests.runToEnd(app)
        let joined = try await waitUntil(timeout: .seconds(60)) {
            let threads = app.metadataForLocalThreads()
            return threads.count == 2 && threads.allSatisfy { $0.state == .running }
        }
        #expect(joined, "\(app.metadataForLocalThreads())")
        app.resume()
        try await run

        let hours = try await kafka.readAll("finish-hours").map { Self.describe(key: $0.key, value: $0.value, timestamp: $0.timestamp) }
        #expect(hours.sorted() == expected)
    }

    @Test func withoutClosingTheLastWindowsStayOpen() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("open-clicks", partitions: 1)
        try await kafka.produce(Self.clicks.enumerated().map { index, click in
            ProducerRecord(topic: "open-clicks", key: Array("k\(index)".utf8), value: Array(click.user.utf8), timestamp: click.time)
        })
        var configuration = kafka.streamsConfiguration(applicationID: "open-hours")
        configuration.boundedRun = BoundedRun(progressInterval: .seconds(1))
        let app = try StreamsApp(
            topology: try Self.minutesIntoHours(input: "open-clicks", output: "open-hours"), configuration: configuration, logger: streamsTestLogger)
        try await BoundedRunRuntimeTests.runToEnd(app)
        let hours = try await kafka.readAll("open-hours").map { Self.describe(key: $0.key, value: $0.value, timestamp: $0.timestamp) }
        // The last hour of each user is still open; the earlier ones are the same finals.
        let expected = try Self.expected()
        #expect(hours.count == 6)
        #expect(Set(hours).isSubset(of: Set(expected)))
    }
}
