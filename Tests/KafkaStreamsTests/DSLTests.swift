import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Every DSL operation, run through the test driver.
@Suite struct DSLTests {
    private func run(
        _ build: (StreamsBuilder) -> Void, input: [(String?, String)], output: String = "out"
    ) throws -> [(key: String?, value: String)] {
        let builder = StreamsBuilder()
        build(builder)
        let driver = try TopologyTestDriver(try builder.build())
        let inputTopic = driver.createInputTopic("in", key: .optional(.string), value: .string)
        try inputTopic.pipeKeyValues(input)
        return try driver.createOutputTopic(output, key: .optional(.string), value: .string).readKeyValuesToList()
    }

    private func source(_ builder: StreamsBuilder) -> KStream<String?, String> {
        builder.stream("in", key: .optional(.string), value: .string)
    }

    @Test func aBuiltTopologyKeepsItsBranchesWhenTheSplitGrowsLater() throws {
        let builder = StreamsBuilder()
        let split = builder.stream("in", key: .string, value: .string).split(named: "kind-")
        split.branch("a") { _, value in value.hasPrefix("a") }
        split.noDefaultBranch()["kind-a"]!.to("a-out")
        let topology = try builder.build()
        // A branch added after build() changes the builder, not the topology built.
        split.branch("any") { _, _ in true }
        let driver = try TopologyTestDriver(topology)
        try driver.createInputTopic("in", key: .string, value: .string).pipeKeyValues([("k", "a1"), ("k", "b1")])
        #expect(try driver.createOutputTopic("a-out", key: .string, value: .string).readValuesToList() == ["a1"])
        #expect(try builder.build().describe().description.contains("kind-any"))
        #expect(!topology.describe().description.contains("kind-any"))
    }

    @Test func filterAndFilterNotKeepComplementaryRecords() throws {
        let input: [(String?, String)] = [("a", "1"), ("b", "22"), ("c", "333")]
        let kept = try run({ source($0).filter { _, value in value.count >= 2 }.to("out") }, input: input)
        let dropped = try run({ source($0).filterNot { _, value in value.count >= 2 }.to("out") }, input: input)
        #expect(kept.map(\.value) == ["22", "333"])
        #expect(dropped.map(\.value) == ["1"])
    }

    @Test func mapMapValuesAndSelectKeyChangeWhatTheySay() throws {
        let input: [(String?, String)] = [("a", "x"), (nil, "y")]
        let mapped = try run({ source($0).map { key, value in (value, (key ?? "-") + value) }.to("out", key: .optional(.string), value: .string) }, input: input)
        #expect(mapped.map(\.key) == ["x", "y"])
        #expect(mapped.map(\.value) == ["ax", "-y"])
        let values = try run({ source($0).mapValues { $0.uppercased() }.to("out") }, input: input)
        #expect(values.map(\.key) == ["a", nil])
        #expect(values.map(\.value) == ["X", "Y"])
        let rekeyed = try run({ source($0).selectKey { _, value in Optional("k-" + value) }.to("out", key: .optional(.string)) }, input: input)
        #expect(rekeyed.map(\.key) == ["k-x", "k-y"])
        #expect(rekeyed.map(\.value) == ["x", "y"])
    }

    @Test func flatMapAndFlatMapValuesEmitZeroOrMoreRecords() throws {
        let input: [(String?, String)] = [("a", "hello world"), ("b", ""), ("c", "one")]
        let words = try run({ source($0).flatMapValues { $0.split(separator: " ").map(String.init) }.to("out") }, input: input)
        #expect(words.map(\.key) == ["a", "a", "c"])
        #expect(words.map(\.value) == ["hello", "world", "one"])
        let pairs = try run({
            source($0).flatMap { key, value in value.split(separator: " ").map { (Optional(String($0)), key ?? "") } }
                .to("out", key: .optional(.string), value: .string)
        }, input: input)
        #expect(pairs.map(\.key) == ["hello", "world", "one"])
        #expect(pairs.map(\.value) == ["a", "a", "c"])
    }

    @Test func peekAndForeachSeeEveryRecord() throws {
        let seen = Collected()
        let out = try run({ builder in
            let stream = source(builder).peek { _, value in seen.append("peek:" + value) }
            stream.foreach { _, value in seen.append("each:" + value) }
            stream.to("out")
        }, input: [("a", "1"), ("b", "2")])
        #expect(out.map(\.value) == ["1", "2"])
        #expect(seen.items == ["peek:1", "each:1", "peek:2", "each:2"])
    }

    @Test func splitSendsEachRecordToTheFirstMatchingBranch() throws {
        let builder = StreamsBuilder()
        let branches = source(builder).split(named: "size-")
            .branch("small") { _, value in value.count < 3 }
            .branch("medium") { _, value in value.count < 6 }
            .defaultBranch("large")
        #expect(Set(branches.keys) == ["size-small", "size-medium", "size-large"])
        for (name, stream) in branches { stream.to(name) }
        let driver = try TopologyTestDriver(try builder.build())
        try driver.createInputTopic("in", key: .optional(.string), value: .string)
            .pipeValues(["a", "abcd", "abcdefgh", "ab", "abc"])
        func values(_ topic: String) throws -> [String] {
            try driver.createOutputTopic(topic, key: .optional(.string), value: .string).readValuesToList()
        }
        #expect(try values("size-small") == ["a", "ab"])
        #expect(try values("size-medium") == ["abcd", "abc"])
        #expect(try values("size-large") == ["abcdefgh"])
    }

    @Test func splitWithoutDefaultDropsUnmatchedRecords() throws {
        let builder = StreamsBuilder()
        let branches = source(builder).split().branch("digits") { _, value in value.allSatisfy(\.isNumber) }.noDefaultBranch()
        #expect(branches.count == 1)
        branches.values.first!.to("out")
        let driver = try TopologyTestDriver(try builder.build())
        try driver.createInputTopic("in", key: .optional(.string), value: .string).pipeValues(["12", "ab", "3"])
        #expect(try driver.createOutputTopic("out", key: .optional(.string), value: .string).readValuesToList() == ["12", "3"])
    }

    @Test func mergeInterleavesTwoStreams() throws {
        let builder = StreamsBuilder()
        let left = builder.stream("left", key: .optional(.string), value: .string)
        let right = builder.stream("right", key: .optional(.string), value: .string).mapValues { "r:" + $0 }
        left.merge(right).to("out")
        let driver = try TopologyTestDriver(try builder.build())
        let leftTopic = driver.createInputTopic("left", key: .optional(.string), value: .string)
        let rightTopic = driver.createInputTopic("right", key: .optional(.string), value: .string)
        try leftTopic.pipeInput(key: nil, value: "1")
        try rightTopic.pipeInput(key: nil, value: "2")
        try leftTopic.pipeInput(key: nil, value: "3")
        #expect(try driver.createOutputTopic("out", key: .optional(.string), value: .string).readValuesToList() == ["1", "r:2", "3"])
        // Two sources joined by a merge are one sub-topology (co-partitioned).
        #expect(try builder.build().describe().subtopologies.count == 1)
    }

    @Test func toWithATopicPerRecordRoutesEachRecord() throws {
        let builder = StreamsBuilder()
        source(builder).to { key, _, context in "out-\(key ?? "none")-\(context?.topic ?? "?")" }
        let driver = try TopologyTestDriver(try builder.build())
        try driver.createInputTopic("in", key: .optional(.string), value: .string).pipeKeyValues([("a", "1"), ("b", "2"), ("a", "3")])
        #expect(try driver.createOutputTopic("out-a-in", key: .optional(.string), value: .string).readValuesToList() == ["1", "3"])
        #expect(try driver.createOutputTopic("out-b-in", key: .optional(.string), value: .string).readValuesToList() == ["2"])
    }

    @Test func outputsKeepTimestampsAndHeaders() throws {
        let builder = StreamsBuilder()
        source(builder).mapValues { $0 + "!" }.to("out")
        let driver = try TopologyTestDriver(try builder.build())
        let header = RecordHeader(key: "trace", string: "t-1")
        try driver.createInputTopic("in", key: .optional(.string), value: .string)
            .pipeInput(key: "k", value: "v", timestamp: 1_700_000_000_123, headers: [header])
        let record = try driver.createOutputTopic("out", key: .optional(.string), value: .string).readRecord()
        #expect(record == TestRecord(key: "k", value: "v!", timestamp: 1_700_000_000_123, headers: [header]))
    }

    @Test func repartitionRoundTripsThroughAnInternalTopicIntoANewSubtopology() throws {
        let builder = StreamsBuilder()
        source(builder)
            .selectKey { _, value in Optional(String(value.prefix(1))) }
            .repartition(named: "by-initial")
            .mapValues { $0.uppercased() }
            .to("out")
        let topology = try builder.build()
        #expect(topology.describe().subtopologies.count == 2)
        let driver = try TopologyTestDriver(topology, applicationID: "app")
        try driver.createInputTopic("in", key: .optional(.string), value: .string).pipeValues(["apple", "banana"])
        let out = try driver.createOutputTopic("out", key: .optional(.string), value: .string).readKeyValuesToList()
        #expect(out.map(\.key) == ["a", "b"])
        #expect(out.map(\.value) == ["APPLE", "BANANA"])
    }

    @Test func defaultSerdesFillInWhenNoneAreGiven() throws {
        let builder = StreamsBuilder()
        let numbers: KStream<String, Int64> = builder.stream("in")
        numbers.mapValues { $0 * 2 }.to("out")
        let driver = try TopologyTestDriver(try builder.build(), defaultKeySerde: StringSerde(), defaultValueSerde: BigEndianIntegerSerde<Int64>())
        try driver.createInputTopic("in", key: .string, value: .int64).pipeInput(key: "k", value: Int64(21))
        #expect(try driver.createOutputTopic("out", key: .string, value: .int64).readValue() == 42)
    }

    @Test func aMissingOrMismatchedSerdeIsAClearErrorAtStart() throws {
        let builder = StreamsBuilder()
        let numbers: KStream<String, Int64> = builder.stream("in")
        numbers.to("out")
        let error = #expect(throws: StreamsError.self) {
            _ = try TopologyTestDriver(try builder.build(), defaultKeySerde: StringSerde(), defaultValueSerde: StringSerde())
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("Int64") == true)
    }

    @Test func builderReportsTheFirstMistakeAtBuild() throws {
        let builder = StreamsBuilder()
        source(builder).filter(named: "same") { _, _ in true }.mapValues(named: "same") { $0 }.to("out")
        let error = #expect(throws: StreamsError.self) { try builder.build() }
        #expect(error?.kind == .topology)
        #expect(error?.message.contains("same") == true)
    }
}

/// Collects strings from `@Sendable` closures run by the (single-threaded) driver.
final class Collected: @unchecked Sendable {
    private(set) var items: [String] = []
    func append(_ item: String) { items.append(item) }
}
