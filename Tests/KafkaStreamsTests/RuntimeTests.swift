import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import Testing

/// The same kind of topology the driver tests run, through StreamsApp on the embedded broker.
@Suite struct RuntimeTests {
    /// Drops values starting with "bot", upper-cases the rest, and splits them by length.
    static func topology() throws -> Topology {
        let builder = StreamsBuilder()
        let branches = builder.stream("words", key: .optional(.string), value: .string)
            .filterNot { _, value in value.hasPrefix("bot") }
            .mapValues { $0.uppercased() }
            .split(named: "len-")
            .branch("short") { _, value in value.count <= 4 }
            .defaultBranch("long")
        branches["len-short"]!.to("short-words")
        branches["len-long"]!.to("long-words")
        return try builder.build()
    }

    @Test func topologyRunsEndToEndAndCommitsWhatItProcessed() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("words", partitions: 4)
        let values = (0..<200).map { index in index % 10 == 0 ? "bot-\(index)" : (index % 2 == 0 ? "w\(index)" : "word-\(index)") }
        try await kafka.produceValues("words", values)
        var configuration = kafka.streamsConfiguration(applicationID: "end-to-end")
        configuration.streamThreads = 2
        let running = RunningApp(try StreamsApp(topology: Self.topology(), configuration: configuration, logger: streamsTestLogger))
        let expectedShort = values.filter { !$0.hasPrefix("bot") && $0.count <= 4 }.map { $0.uppercased() }
        let expectedLong = values.filter { !$0.hasPrefix("bot") && $0.count > 4 }.map { $0.uppercased() }
        let short = try await kafka.waitForValues("short-words", including: expectedShort)
        let long = try await kafka.waitForValues("long-words", including: expectedLong)
        let ends = try await kafka.endOffsets("words")
        let committed = try await kafka.waitForCommits(group: "end-to-end", topic: "words", expected: ends)
        // Stream threads show in top -H, perf and gdb under names of their own.
        if let names = systemThreadNames() {
            #expect(names.contains("StreamThread-1") && names.contains("StreamThread-2"), "thread names: \(names)")
        }
        try await running.stop().get()
        // The second thread may join after the first processed records it had not yet
        // committed (the mock refuses commits during the rejoin): at-least-once then
        // repeats them. Nothing may be missing or unexpected.
        #expect(Set(short.compactMap { text($0.value) }) == Set(expectedShort))
        #expect(Set(long.compactMap { text($0.value) }) == Set(expectedLong))
        #expect(short.count >= expectedShort.count && long.count >= expectedLong.count)
        #expect(committed == ends)
        // Keys pass through, so each output lands on its input's partition (same partitioner).
        #expect(short.allSatisfy { $0.key != nil })
    }

    @Test func shutdownCommitsEverythingProcessed() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("words", partitions: 3)
        try await kafka.produceValues("words", (0..<90).map { "w\($0)" })
        var configuration = kafka.streamsConfiguration(applicationID: "shutdown-commits")
        configuration.commitInterval = .seconds(3600)  // only the shutdown commits
        let running = RunningApp(try StreamsApp(topology: Self.topology(), configuration: configuration, logger: streamsTestLogger))
        _ = try await kafka.waitForValues("short-words", including: (0..<90).map { "W\($0)" })
        #expect(try await kafka.committedOffsets(group: "shutdown-commits", topic: "words").isEmpty)
        try await running.stop().get()
        let ends = try await kafka.endOffsets("words")
        #expect(try await kafka.committedOffsets(group: "shutdown-commits", topic: "words") == ends)
    }

    @Test func twoInstancesSharePartitionsAndHandOverWithNothingLost() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("words", partitions: 4)
        let configuration = kafka.streamsConfiguration(applicationID: "hand-over")
        let first = RunningApp(try StreamsApp(topology: Self.topology(), configuration: configuration, logger: streamsTestLogger))
        try await kafka.produceValues("words", (0..<100).map { "a\($0)" })
        _ = try await kafka.waitForValues("short-words", including: (0..<100).map { "A\($0)" })
        // A second instance joins: the group rebalances and the partitions are shared.
        let second = RunningApp(try StreamsApp(topology: Self.topology(), configuration: configuration, logger: streamsTestLogger))
        let shared = try await waitUntil {
            let (a, b) = (first.app.activeTasks, second.app.activeTasks)
            return !a.isEmpty && !b.isEmpty && a.isDisjoint(with: b) && a.union(b).count == 4
        }
        #expect(shared, "both instances should own tasks: \(first.app.activeTasks) / \(second.app.activeTasks)")
        // A rebalance under at-least-once repeats what was not committed, so wait for the
        // values rather than a count, which repeats alone could reach.
        func outputs(of prefixes: [String]) -> Set<String> {
            Set(prefixes.flatMap { prefix in (0..<100).map { "\(prefix)\($0)".uppercased() } })
        }
        func covering(_ prefixes: [String]) -> ([ConsumerRecord]) -> Bool {
            { Set($0.compactMap { text($0.value) }).isSuperset(of: outputs(of: prefixes)) }
        }
        try await kafka.produceValues("words", (0..<100).map { "b\($0)" })
        _ = try await kafka.waitForRecords("short-words", until: covering(["a", "b"]))
        // The first leaves: the second takes everything over.
        try await first.stop().get()
        #expect(try await waitUntil { second.app.activeTasks.count == 4 })
        try await kafka.produceValues("words", (0..<100).map { "c\($0)" })
        let records = try await kafka.waitForRecords("short-words", until: covering(["a", "b", "c"]))
        let ends = try await kafka.endOffsets("words")
        let committed = try await kafka.waitForCommits(group: "hand-over", topic: "words", expected: ends)
        try await second.stop().get()
        let seen = records.compactMap { text($0.value) }
        // At-least-once: every input has an output; a hand-over may repeat a few.
        #expect(Set(seen) == outputs(of: ["a", "b", "c"]))
        #expect(seen.count >= 300)
        #expect(committed == ends)
    }

    @Test func repartitionTopicsAreCreatedOnTheEmbeddedBroker() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("clicks", partitions: 3)
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .optional(.string), value: .string)
            .selectKey { _, value in Optional(String(value.prefix(1))) }
            .repartition(named: "by-initial", partitions: 5)
            .to("by-initial")
        let running = RunningApp(try StreamsApp(
            topology: try builder.build(), configuration: kafka.streamsConfiguration(applicationID: "rekey"), logger: streamsTestLogger))
        // One input key, so one input partition: order is kept only within a partition.
        try await kafka.produceValues("clicks", ["apple", "avocado", "banana", "cherry"], keys: ["k", "k", "k", "k"])
        let out = try await kafka.waitForValues("by-initial", including: ["apple", "avocado", "banana", "cherry"])
        try await running.stop().get()
        #expect(try await kafka.endOffsets("rekey-by-initial-repartition").count == 5)
        #expect(Set(out.compactMap { text($0.key) }) == ["a", "b", "c"])
        // Records of one key went through one repartition partition, in order.
        let apples = out.filter { text($0.key) == "a" }
        #expect(apples.compactMap { text($0.value) } == ["apple", "avocado"])
    }

    @Test func aProcessorCanRequestACommitBeforeTheInterval() async throws {
        final class CommitOnStop: Processor {
            let context: ProcessorContext<String?, String>
            init(context: ProcessorContext<String?, String>) { self.context = context }
            func process(_ record: Record<String?, String>) throws {
                if record.value == "stop" { context.requestCommit() }
                try context.forward(record)
            }
        }
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("events", partitions: 1)
        let builder = StreamsBuilder()
        builder.stream("events", key: .optional(.string), value: .string)
            .process { CommitOnStop(context: $0) }
            .to("copied", key: .optional(.string), value: .string)
        var configuration = kafka.streamsConfiguration(applicationID: "requested")
        configuration.commitInterval = .seconds(3600)
        let running = RunningApp(try StreamsApp(topology: try builder.build(), configuration: configuration, logger: streamsTestLogger))
        try await kafka.produceValues("events", ["a", "b", "stop"])
        let committed = try await kafka.waitForCommits(group: "requested", topic: "events", expected: [0: 3])
        try await running.stop().get()
        #expect(committed == [0: 3])
    }
}
