import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// Bounded runs on the embedded broker: `run()` returns by itself once the input that was
/// there at start is processed, through a repartition topic, by one instance or two;
/// records written after the start are left for a later run.
@Suite struct BoundedRunRuntimeTests {
    /// Counts words: the count runs after a repartition by word, so the run must drain
    /// the repartition topic too.
    static func wordCount(input: String, output: String) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .flatMapValues { line in line.split(separator: " ").map(String.init) }
            .groupBy(key: .string) { _, word in word }
            .count(materialized: .as("counts"))
            .toStream()
            .to(output, key: .string, value: .optional(.int64))
        return try builder.build()
    }

    static func lines(_ range: Range<Int>) -> [String] { range.map { "w\($0 % 7) w\($0 % 3)" } }

    static func expectedCounts(_ lines: [String]) -> [String: Int64] {
        lines.flatMap { $0.split(separator: " ").map(String.init) }.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    /// The last count per word in `topic`.
    static func lastCounts(_ kafka: EmbeddedKafkaCluster, _ topic: String) async throws -> [String: Int64] {
        try await kafka.readAll(topic).reduce(into: [:]) { counts, record in
            guard let key = text(record.key), let value = record.value, value.count == 8 else { return }
            counts[key] = value.reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
    }

    /// Runs `app` until its bounded run returns, failing after `timeout`.
    static func runToEnd(_ app: StreamsApp, timeout: Duration = .seconds(90)) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await app.run()
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let returned = try await group.next() ?? false
            group.cancelAll()
            if !returned { app.shutdown() }
            #expect(returned, "the bounded run did not return within \(timeout)")
        }
    }

    @Test func stopsAtTheCapturedEndsWithEverythingCommitted() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("bounded-lines", partitions: 3)
        let first = Self.lines(0..<300)
        try await kafka.produceValues("bounded-lines", first, keys: first.indices.map { "k\($0)" })
        let ends = try await kafka.endOffsets("bounded-lines")
        var configuration = kafka.streamsConfiguration(applicationID: "bounded-one")
        configuration.boundedRun = BoundedRun(progressInterval: .milliseconds(200))
        let app = try StreamsApp(
            topology: try Self.wordCount(input: "bounded-lines", output: "bounded-counts"), configuration: configuration, logger: streamsTestLogger)
        app.pause()
        let lagBefore = try await app.inputLag()
        #expect(lagBefore.total == 300)
        #expect(lagBefore.partitions.map(\.partition) == [0, 1, 2])

        let run = Task { try await Self.runToEnd(app) }
        // Once the app has its tasks its ends are captured: what comes now is not its input.
        #expect(try await waitUntil(timeout: .seconds(30)) { !app.activeTasks.isEmpty })
        let later = Self.lines(300..<400)
        try await kafka.produceValues("bounded-lines", later, keys: later.indices.map { "late-k\($0)" })
        app.resume()
        try await run.value

        #expect(try await kafka.committedOffsets(group: "bounded-one", topic: "bounded-lines") == ends)
        let repartition = "bounded-one-KSTREAM-REPARTITION-0000000003-repartition"
        let repartitionEnds = try await kafka.endOffsets(repartition)
        #expect(repartitionEnds.values.reduce(0, +) == 600)
        #expect(try await kafka.committedOffsets(group: "bounded-one", topic: repartition) == repartitionEnds)
        #expect(try await Self.lastCounts(kafka, "bounded-counts") == Self.expectedCounts(first))
        #expect(try await app.inputLag().total == 100)

        // The next bounded run of the same application takes what came since.
        let next = try StreamsApp(topology: try Self.wordCount(input: "bounded-lines", output: "bounded-counts"), configuration: configuration, logger: streamsTestLogger)
        try await Self.runToEnd(next)
        #expect(try await Self.lastCounts(kafka, "bounded-counts") == Self.expectedCounts(first + later))
        #expect(try await next.inputLag().total == 0)
    }

    @Test func twoInstancesEachReturnOnceBothAreDone() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("bounded-pair-lines", partitions: 4)
        let lines = Self.lines(0..<2_000)
        try await kafka.produceValues("bounded-pair-lines", lines, keys: lines.indices.map { "k\($0)" })
        let ends = try await kafka.endOffsets("bounded-pair-lines")
        // Processing waits (paused) until the two share the tasks: a rebalance while records
        // are processed would repeat some (at-least-once), and the counts would not be
        // exact. A paused instance keeps polling, so the group's rebalances complete;
        // blocking its thread instead held the join of the other until the mock expelled it.
        let apps = try (0..<2).map { index in
            var configuration = kafka.streamsConfiguration(applicationID: "bounded-pair")
            configuration.stateDirectory += "/instance-\(index)"
            configuration.boundedRun = BoundedRun()
            let app = try StreamsApp(
                topology: try Self.wordCount(input: "bounded-pair-lines", output: "bounded-pair-counts"), configuration: configuration,
                logger: streamsTestLogger)
            app.pause()
            return app
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for app in apps { group.addTask { try await Self.runToEnd(app) } }
            // Both sub-topologies' 4 tasks, split between the two.
            let shared = try await waitUntil(timeout: .seconds(60)) {
                apps.allSatisfy { !$0.activeTasks.isEmpty } && apps.map(\.activeTasks.count).reduce(0, +) == 8
            }
            #expect(shared)
            for app in apps { app.resume() }
            try await group.waitForAll()
        }
        #expect(try await kafka.committedOffsets(group: "bounded-pair", topic: "bounded-pair-lines") == ends)
        let repartition = "bounded-pair-KSTREAM-REPARTITION-0000000003-repartition"
        #expect(try await kafka.committedOffsets(group: "bounded-pair", topic: repartition) == (try await kafka.endOffsets(repartition)))
        #expect(try await Self.lastCounts(kafka, "bounded-pair-counts") == Self.expectedCounts(lines))
    }

    /// A run to a time processes each partition up to its first record at or after it;
    /// the next run takes the rest.
    @Test func aRunToATimeStopsBeforeTheFirstRecordThatLate() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("bounded-time-lines", partitions: 2)
        // Partition 0 at 1,000, 2,000, ... 10,000 (+ 1,000,000); partition 1 at 500, 1,500, ...
        let base: Int64 = 1_000_000
        var records: [ProducerRecord] = []
        for index in 0..<10 {
            for (partition, offset) in [(Int32(0), Int64(1_000)), (1, 500)] {
                records.append(ProducerRecord(
                    topic: "bounded-time-lines", partition: partition, key: Array("k\(index)".utf8), value: Array("w\(partition)".utf8),
                    timestamp: base + Int64(index) * 1_000 + offset))
            }
        }
        try await kafka.produce(records)
        var configuration = kafka.streamsConfiguration(applicationID: "bounded-time")
        configuration.boundedRun = BoundedRun(end: .time(millisecondsSinceEpoch: base + 4_000))
        let app = try StreamsApp(
            topology: try Self.wordCount(input: "bounded-time-lines", output: "bounded-time-counts"), configuration: configuration,
            logger: streamsTestLogger)
        try await Self.runToEnd(app)
        // Before 4,000: three records of partition 0 (1,000 to 3,000), four of partition 1.
        #expect(try await kafka.committedOffsets(group: "bounded-time", topic: "bounded-time-lines") == [0: 3, 1: 4])
        #expect(try await Self.lastCounts(kafka, "bounded-time-counts") == ["w0": 3, "w1": 4])

        configuration.boundedRun = BoundedRun()
        let rest = try StreamsApp(
            topology: try Self.wordCount(input: "bounded-time-lines", output: "bounded-time-counts"), configuration: configuration,
            logger: streamsTestLogger)
        try await Self.runToEnd(rest)
        #expect(try await kafka.committedOffsets(group: "bounded-time", topic: "bounded-time-lines") == [0: 10, 1: 10])
        #expect(try await Self.lastCounts(kafka, "bounded-time-counts") == ["w0": 10, "w1": 10])
    }

    @Test func anInputWithNothingToProcessEndsAtOnce() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("bounded-empty", partitions: 2)
        var configuration = kafka.streamsConfiguration(applicationID: "bounded-empty")
        configuration.boundedRun = BoundedRun()
        let app = try StreamsApp(
            topology: try Self.wordCount(input: "bounded-empty", output: "bounded-empty-counts"), configuration: configuration, logger: streamsTestLogger)
        try await Self.runToEnd(app, timeout: .seconds(30))
        #expect(try await app.inputLag().total == 0)
    }

    @Test func theLagOfALiveAppIsAMetricAndAnAnswer() async throws {
        let metrics = TestMetrics()
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("lag-lines", partitions: 2)
        let lines = Self.lines(0..<200)
        try await kafka.produceValues("lag-lines", lines, keys: lines.indices.map { "k\($0)" })
        var configuration = kafka.streamsConfiguration(applicationID: "lag-live")
        configuration.commitInterval = .milliseconds(200)
        let app = try StreamsApp(topology: try Self.wordCount(input: "lag-lines", output: "lag-counts"), configuration: configuration, logger: streamsTestLogger)
        let running = RunningApp(app)
        let ends = try await kafka.endOffsets("lag-lines")
        #expect(try await kafka.waitForCommits(group: "lag-live", topic: "lag-lines", expected: ends) == ends)
        // Each input partition's gauge reads 0 after a commit that follows the last record.
        let caughtUp = try await waitUntil {
            metrics.gauges("kafka_streams_records_lag", application: "lag-live", where: ("topic", "lag-lines"), by: "partition") == ["0": 0, "1": 0]
        }
        #expect(caughtUp)
        #expect(try await app.inputLag().total == 0)
        try await running.stop().get()
        // Written while the app is down: the lag says so, per partition and in total.
        try await kafka.produceValues("lag-lines", Self.lines(0..<30), keys: (0..<30).map { "later-\($0)" })
        let lag = try await app.inputLag()
        #expect(lag.total == 30)
        #expect(lag.partitions.map(\.lag).reduce(0, +) == 30)
        #expect(lag.partitions.allSatisfy { $0.committedOffset == ends[$0.partition] })
    }

    @Test func aNonPositiveProgressIntervalIsAConfigurationError() throws {
        var configuration = StreamsConfiguration(applicationID: "bounded-config", bootstrapServers: "localhost:9092")
        configuration.boundedRun = BoundedRun(progressInterval: .zero)
        #expect(throws: StreamsError.self) { try configuration.validate() }
    }
}
