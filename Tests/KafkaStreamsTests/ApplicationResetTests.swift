import Foundation
import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// `ApplicationReset` (the library behind `streams-reset`) on the embedded broker: a reset
/// application reprocesses its input from scratch and gets the same answer, not one
/// added to its old state; a dry run changes nothing; a running group is refused; offsets
/// at a time are the first records that late.
@Suite struct ApplicationResetTests {
    static let lines = (0..<60).map { "w\($0 % 7) w\($0 % 3)" }

    static func configuration(_ kafka: EmbeddedKafkaCluster, applicationID: String, bounded: Bool) -> StreamsConfiguration {
        var configuration = kafka.streamsConfiguration(applicationID: applicationID)
        if bounded { configuration.boundedRun = BoundedRun() }
        return configuration
    }

    /// Word counts through a repartition topic and a changelogged store, run to the end.
    static func countToEnd(_ kafka: EmbeddedKafkaCluster, applicationID: String, input: String, output: String) async throws {
        let app = try StreamsApp(
            topology: try BoundedRunRuntimeTests.wordCount(input: input, output: output),
            configuration: configuration(kafka, applicationID: applicationID, bounded: true), logger: streamsTestLogger)
        try await BoundedRunRuntimeTests.runToEnd(app)
    }

    @Test func aResetApplicationCountsFromScratchAgain() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("reset-lines", partitions: 2)
        try await kafka.produceValues("reset-lines", Self.lines, keys: Self.lines.indices.map { "k\($0)" })
        try await Self.countToEnd(kafka, applicationID: "reset-wc", input: "reset-lines", output: "reset-counts")
        let expected = BoundedRunRuntimeTests.expectedCounts(Self.lines)
        #expect(try await BoundedRunRuntimeTests.lastCounts(kafka, "reset-counts") == expected)
        let ends = try await kafka.endOffsets("reset-lines")
        #expect(try await kafka.committedOffsets(group: "reset-wc", topic: "reset-lines") == ends)

        var reset = ApplicationReset(applicationID: "reset-wc", bootstrapServers: kafka.bootstrapServers, inputTopics: ["reset-lines"])
        reset.stateDirectory = kafka.stateDirectory
        let stateDirectory = "\(kafka.stateDirectory)/reset-wc"
        #expect(FileManager.default.fileExists(atPath: stateDirectory))

        // A dry run says what it would do and changes nothing.
        let plan = try await reset.plan(logger: streamsTestLogger)
        #expect(plan.dryRun)
        #expect(plan.offsets.filter { $0.topic == "reset-lines" }.map { "\($0.partition):\($0.committed ?? -1)->\($0.target)" }
            == ["0:\(ends[0]!)->0", "1:\(ends[1]!)->0"])
        #expect(plan.internalTopics == ["reset-wc-KSTREAM-REPARTITION-0000000003-repartition", "reset-wc-counts-changelog"])
        #expect(plan.internalTopicHandling == .emptyInPlace(reason: "the embedded broker cannot delete topics"))
        #expect(plan.changelogTombstones == expected.count)
        #expect(plan.stateDirectory == stateDirectory)
        #expect(plan.description.contains("Dry run"))
        #expect(try await kafka.committedOffsets(group: "reset-wc", topic: "reset-lines") == ends)
        #expect(FileManager.default.fileExists(atPath: stateDirectory))

        let done = try await reset.run(logger: streamsTestLogger)
        #expect(!done.dryRun)
        #expect(try await kafka.committedOffsets(group: "reset-wc", topic: "reset-lines") == [0: 0, 1: 0])
        let repartition = "reset-wc-KSTREAM-REPARTITION-0000000003-repartition"
        let repartitionEnds = try await kafka.endOffsets(repartition)
        #expect(try await kafka.committedOffsets(group: "reset-wc", topic: repartition) == repartitionEnds)
        #expect(!FileManager.default.fileExists(atPath: stateDirectory))

        // The same application reprocesses everything: its counts are the same, not doubled
        // by a store restored from the old changelog.
        let outputEnds = try await kafka.endOffsets("reset-counts")
        try await Self.countToEnd(kafka, applicationID: "reset-wc", input: "reset-lines", output: "reset-counts")
        let rerun = try await kafka.readAll("reset-counts").filter { $0.offset >= outputEnds[$0.partition] ?? 0 }
        let rerunCounts = rerun.reduce(into: [String: Int64]()) { counts, record in
            guard let key = text(record.key), let value = record.value, value.count == 8 else { return }
            counts[key] = value.reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        #expect(rerunCounts == expected)
    }

    /// The instances' announcements are internal too: an instance that crashed never
    /// withdrew its own, which would name it as a host after the reset. On the embedded
    /// broker they get tombstones, as changelogs do; offsets of the topic are not the
    /// group's to move.
    @Test func announcementsLeftByACrashedInstanceAreEmptied() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("reset-ann-lines", partitions: 1)
        try kafka.createTopic("reset-ann-instances", partitions: 1)
        try kafka.createTopic("reset-annex-instances", partitions: 1)
        // Instance a crashed; b stopped and withdrew; another application's c is not ours.
        try await kafka.produce("reset-ann-instances", [(Array("a".utf8), Array("a:9000".utf8)), (Array("b".utf8), Array("b:9000".utf8)), (Array("b".utf8), nil)])
        try await kafka.produce("reset-annex-instances", [(Array("c".utf8), Array("c:9000".utf8))])

        let reset = ApplicationReset(applicationID: "reset-ann", bootstrapServers: kafka.bootstrapServers, inputTopics: ["reset-ann-lines"])
        let plan = try await reset.plan(logger: streamsTestLogger)
        #expect(plan.internalTopics == ["reset-ann-instances"])
        #expect(plan.changelogTombstones == 1)
        #expect(plan.offsets.allSatisfy { $0.topic == "reset-ann-lines" })

        let done = try await reset.run(logger: streamsTestLogger)
        #expect(done.changelogTombstones == 1)
        let latest = try await kafka.readAll("reset-ann-instances").reduce(into: [String: [UInt8]?]()) { latest, record in
            latest.updateValue(record.value, forKey: text(record.key) ?? "")
        }
        #expect(latest == ["a": nil, "b": nil])
        #expect(try await kafka.readAll("reset-annex-instances").count == 1)
        #expect(try await kafka.committedOffsets(group: "reset-ann", topic: "reset-ann-instances").isEmpty)
    }

    @Test func aGroupWithARunningMemberIsRefusedAndLeftAsItWas() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("reset-busy-lines", partitions: 2)
        try await kafka.produceValues("reset-busy-lines", Self.lines, keys: Self.lines.indices.map { "k\($0)" })
        let running = RunningApp(try StreamsApp(
            topology: try BoundedRunRuntimeTests.wordCount(input: "reset-busy-lines", output: "reset-busy-counts"),
            configuration: Self.configuration(kafka, applicationID: "reset-busy", bounded: false), logger: streamsTestLogger))
        let ends = try await kafka.endOffsets("reset-busy-lines")
        #expect(try await kafka.waitForCommits(group: "reset-busy", topic: "reset-busy-lines", expected: ends) == ends)

        var reset = ApplicationReset(applicationID: "reset-busy", bootstrapServers: kafka.bootstrapServers, inputTopics: ["reset-busy-lines"])
        reset.stateDirectory = kafka.stateDirectory
        let error = await #expect(throws: StreamsError.self) { try await reset.run(logger: streamsTestLogger) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("has members") == true || error?.message.contains("holds") == true)
        #expect(try await kafka.committedOffsets(group: "reset-busy", topic: "reset-busy-lines") == ends)
        #expect(FileManager.default.fileExists(atPath: "\(kafka.stateDirectory)/reset-busy"))
        try await running.stop().get()

        // Stopped, the group is reset.
        try await reset.run(logger: streamsTestLogger)
        #expect(try await kafka.committedOffsets(group: "reset-busy", topic: "reset-busy-lines") == [0: 0, 1: 0])
    }

    /// Without a local state directory to point at, a running member on another host is
    /// found by the group check alone. (Two partitions for the member and the reset: with
    /// one, the mock's random member order decides which of the two gets it.)
    @Test func aRunningMemberElsewhereIsFoundByTheGroupCheck() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("reset-remote-lines", partitions: 2)
        try await kafka.produceValues("reset-remote-lines", Self.lines, keys: Self.lines.indices.map { "k\($0)" })
        let running = RunningApp(try StreamsApp(
            topology: try BoundedRunRuntimeTests.wordCount(input: "reset-remote-lines", output: "reset-remote-counts"),
            configuration: Self.configuration(kafka, applicationID: "reset-remote", bounded: false), logger: streamsTestLogger))
        let ends = try await kafka.endOffsets("reset-remote-lines")
        #expect(try await kafka.waitForCommits(group: "reset-remote", topic: "reset-remote-lines", expected: ends) == ends)
        let reset = ApplicationReset(applicationID: "reset-remote", bootstrapServers: kafka.bootstrapServers, inputTopics: ["reset-remote-lines"])
        let error = await #expect(throws: StreamsError.self) { try await reset.run(logger: streamsTestLogger) }
        #expect(error?.message.contains("has members") == true)
        #expect(try await kafka.committedOffsets(group: "reset-remote", topic: "reset-remote-lines") == ends)
        await running.stop()
    }

    @Test func positionsByTimeOffsetAndShift() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("reset-times", partitions: 2)
        // Partition 0: times 1,000, 2,000, ... 10,000; partition 1: 500, 1,500, ... 9,500.
        var records: [ProducerRecord] = []
        for index in 0..<10 {
            let time = Int64(1_000 * index)
            records.append(ProducerRecord(topic: "reset-times", partition: 0, value: Array("a\(index)".utf8), timestamp: time + 1_000))
            records.append(ProducerRecord(topic: "reset-times", partition: 1, value: Array("b\(index)".utf8), timestamp: time + 500))
        }
        try await kafka.produce(records)
        func targets(_ position: ApplicationReset.Position) async throws -> [Int64] {
            var reset = ApplicationReset(applicationID: "reset-times-app", bootstrapServers: kafka.bootstrapServers, inputTopics: ["reset-times"])
            reset.position = position
            return try await reset.plan(logger: streamsTestLogger).offsets.map(\.target)
        }
        #expect(try await targets(.time(millisecondsSinceEpoch: 4_000)) == [3, 4])
        #expect(try await targets(.time(millisecondsSinceEpoch: 4_001)) == [4, 4])
        #expect(try await targets(.time(millisecondsSinceEpoch: 99_000)) == [10, 10])
        #expect(try await targets(.time(millisecondsSinceEpoch: 0)) == [0, 0])
        // A minute ago: every record (of 1970) is earlier.
        #expect(try await targets(.before(.seconds(60))) == [10, 10])
        #expect(try await targets(.latest) == [10, 10])
        #expect(try await targets(.offset(7)) == [7, 7])
        #expect(try await targets(.offset(70)) == [10, 10])
        // Nothing committed: a shift starts from the earliest.
        #expect(try await targets(.shift(by: -3)) == [0, 0])
    }

    /// The `streams-reset` executable against the embedded broker: a dry run prints the
    /// plan, a reset to a date moves the offsets there, and a bad argument is refused.
    @Test func theCommandLineToolResetsToADate() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("reset-cli-events", partitions: 1)
        // 2026-11-30T08:00:00Z and the three minutes after it.
        let start: Int64 = 1_796_025_600_000
        try await kafka.produce((0..<4).map { ProducerRecord(topic: "reset-cli-events", partition: 0, value: Array("e\($0)".utf8), timestamp: start + Int64($0) * 60_000) })
        let tool = try ChildProcess.built("streams-reset")
        func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            let process = try ChildProcess(
                tool, arguments: ["--application-id", "reset-cli", "--bootstrap-servers", kafka.bootstrapServers, "--input-topics", "reset-cli-events"] + arguments)
            #expect(try await process.waitForExit(timeout: .seconds(60)))
            return (process.process.terminationStatus, process.text)
        }

        let dryRun = try await run(["--to-datetime", "2026-11-30T08:01:30", "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.output)")
        #expect(dryRun.output.contains("Dry run: would reset application reset-cli"))
        #expect(dryRun.output.contains("offset reset-cli-events[0]: none -> 2"))
        #expect(try await kafka.committedOffsets(group: "reset-cli", topic: "reset-cli-events") == [:])

        let reset = try await run(["--to-datetime", "2026-11-30T08:01:00.000Z"])
        #expect(reset.status == 0, "\(reset.output)")
        #expect(try await kafka.committedOffsets(group: "reset-cli", topic: "reset-cli-events") == [0: 1])

        let bad = try await run(["--by-duration", "30 minutes"])
        #expect(bad.status != 0)
        #expect(bad.output.contains("expected an ISO 8601 duration"))
    }

    @Test func anUnknownInputTopicIsAnError() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        let reset = ApplicationReset(applicationID: "reset-none", bootstrapServers: kafka.bootstrapServers, inputTopics: ["no-such-topic"])
        let error = await #expect(throws: StreamsError.self) { try await reset.plan(logger: streamsTestLogger) }
        #expect(error?.kind == .missingSourceTopic)
    }
}
