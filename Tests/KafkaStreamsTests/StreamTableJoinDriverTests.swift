import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `KStreamKTableJoinTest` and `KStreamKTableLeftJoinTest`: stream records
/// joined with the table's current value; table updates trigger nothing; deletions clear
/// the table's rows; null keys and values are skipped and counted (a left join joins a
/// null key with nothing, KIP-962). Exact outputs with times.
@Suite struct StreamTableJoinDriverTests {
    final class Fixture {
        let driver: TopologyTestDriver
        let stream: TestInputTopic<Int32?, String?>
        let table: TestInputTopic<Int32?, String?>
        let output: TestOutputTopic<Int32?, String>

        /// `streamTopic` joined (or left-joined) with the table of `tableTopic`, `+`-joined
        /// (`null` for no row), with the table made by `derive` from the one read.
        init(leftJoin: Bool, derive: (KTable<Int32?, String>) -> KTable<Int32?, String> = { $0 }) throws {
            let builder = StreamsBuilder()
            let stream = builder.stream("streamTopic", key: .optional(.int32), value: .optional(.string))
            let table = derive(builder.table("tableTopic", key: .optional(.int32), value: .string))
            let joined: KStream<Int32?, String> = leftJoin
                ? stream.leftJoin(table) { left, right in "\(left!)+\(right ?? "null")" }
                : stream.join(table) { left, right in "\(left!)+\(right)" }
            joined.to("output", key: .optional(.int32), value: .string)
            driver = try TopologyTestDriver(try builder.build())
            self.stream = driver.createInputTopic("streamTopic", key: .optional(.int32), value: .optional(.string))
            self.table = driver.createInputTopic("tableTopic", key: .optional(.int32), value: .optional(.string))
            output = driver.createOutputTopic("output", key: .optional(.int32), value: .string)
        }

        deinit { driver.close() }

        /// Keys 0..<count with `prefix + key`, stream record i at time i.
        func pushToStream(_ count: Int, _ prefix: String) throws {
            for key in 0..<Int32(count) { try stream.pipeInput(key: key, value: "\(prefix)\(key)", timestamp: Int64(key)) }
        }

        func pushToTable(_ count: Int, _ prefix: String, time: Int64 = 0) throws {
            for key in 0..<Int32(count) { try table.pipeInput(key: key, value: "\(prefix)\(key)", timestamp: time) }
        }

        func results() throws -> [String] {
            try output.readRecordsToList().map { "\($0.key.map { String($0) } ?? "null")=\($0.value)@\($0.timestamp)" }
        }
    }

    @Test func tableUpdatesTriggerNothingAndStreamRecordsJoinTheCurrentRow() throws {
        let fixture = try Fixture(leftJoin: false)
        try fixture.pushToStream(2, "X")
        #expect(try fixture.results() == [])
        try fixture.pushToTable(2, "Y", time: 7)
        #expect(try fixture.results() == [])
        try fixture.pushToStream(4, "X")
        #expect(try fixture.results() == ["0=X0+Y0@0", "1=X1+Y1@1"])
        try fixture.pushToTable(4, "YY", time: 9)
        #expect(try fixture.results() == [])
        try fixture.pushToStream(4, "X")
        #expect(try fixture.results() == ["0=X0+YY0@0", "1=X1+YY1@1", "2=X2+YY2@2", "3=X3+YY3@3"])
    }

    @Test func aDeletedRowNoLongerJoins() throws {
        let fixture = try Fixture(leftJoin: false)
        try fixture.pushToTable(4, "Y")
        try fixture.pushToStream(4, "X")
        #expect(try fixture.results() == ["0=X0+Y0@0", "1=X1+Y1@1", "2=X2+Y2@2", "3=X3+Y3@3"])
        for key: Int32 in [0, 1] { try fixture.table.pipeInput(key: key, value: nil, timestamp: 0) }
        try fixture.pushToStream(4, "XX")
        #expect(try fixture.results() == ["2=XX2+Y2@2", "3=XX3+Y3@3"])
    }

    /// `KStreamKTableLeftJoinTest`: every stream record gives a result, with `null` while
    /// the table has no row.
    @Test func aLeftJoinSendsEveryStreamRecord() throws {
        let fixture = try Fixture(leftJoin: true)
        try fixture.pushToStream(2, "X")
        #expect(try fixture.results() == ["0=X0+null@0", "1=X1+null@1"])
        try fixture.pushToTable(2, "Y")
        try fixture.pushToStream(4, "X")
        #expect(try fixture.results() == ["0=X0+Y0@0", "1=X1+Y1@1", "2=X2+null@2", "3=X3+null@3"])
        for key: Int32 in [0, 1] { try fixture.table.pipeInput(key: key, value: nil, timestamp: 0) }
        try fixture.pushToStream(2, "XX")
        #expect(try fixture.results() == ["0=XX0+null@0", "1=XX1+null@1"])
    }

    /// `shouldLogAndMeterWhenSkippingNullLeftKey` / `...NullLeftValue`: an inner join skips
    /// and counts both; a left join joins a null key with nothing (KIP-962).
    @Test(arguments: [false, true])
    func nullKeysAndValuesAreSkippedAndCounted(leftJoin: Bool) throws {
        let fixture = try Fixture(leftJoin: leftJoin)
        try fixture.pushToTable(2, "Y")
        try fixture.stream.pipeInput(key: nil, value: "A", timestamp: 5)
        try fixture.stream.pipeInput(key: 1, value: nil, timestamp: 6)
        #expect(try fixture.results() == (leftJoin ? ["null=A+null@5"] : []))
        #expect(fixture.driver.skippedRecordCount == (leftJoin ? 1 : 2))
    }

    /// A table computed from the one read (not materialized itself) is looked up through
    /// it: the filter applies to what the join finds.
    @Test func aFilteredTableIsLookedUpThroughItsSource() throws {
        let fixture = try Fixture(leftJoin: true) { table in table.filter { key, _ in key.map { $0 % 2 == 0 } ?? false }.mapValues { $0.lowercased() } }
        try fixture.pushToTable(4, "Y")
        try fixture.pushToStream(4, "X")
        #expect(try fixture.results() == ["0=X0+y0@0", "1=X1+null@1", "2=X2+y2@2", "3=X3+null@3"])
    }

    /// A stream whose keys changed goes through a repartition topic named after the join
    /// before it meets the table.
    @Test func aRekeyedStreamIsRepartitionedBeforeTheJoin() throws {
        let builder = StreamsBuilder()
        let table = builder.table("tableTopic", key: .string, value: .string)
        builder.stream("streamTopic", key: .string, value: .string).map { key, value in (value, key) }
            .join(table, named: "first-join") { left, right in "\(left)+\(right)" }
            .to("output", key: .string, value: .string)
        let topology = try builder.build()
        #expect(topology.describe().description.contains("first-join-repartition"))
        let driver = try TopologyTestDriver(topology)
        defer { driver.close() }
        try driver.createInputTopic("tableTopic", key: .string, value: .string).pipeInput(key: "b", value: "B", timestamp: 1)
        try driver.createInputTopic("streamTopic", key: .string, value: .string).pipeInput(key: "a", value: "b", timestamp: 2)
        let results = try driver.createOutputTopic("output", key: .string, value: .string).readRecordsToList().map { "\($0.key)=\($0.value)@\($0.timestamp)" }
        #expect(results == ["b=a+B@2"])
    }

    @Test func aWindowedTableCannotBeJoinedByKey() throws {
        let builder = StreamsBuilder()
        let windowed = builder.stream("counted", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(1), grace: .zero)).count()
        builder.stream("clicks", key: .timeWindowed(.string, windowSize: .seconds(1)), value: .string)
            .join(windowed) { click, count in "\(click)\(count)" }.to("output", key: .timeWindowed(.string, windowSize: .seconds(1)), value: .string)
        #expect(throws: StreamsError.self) { try builder.build() }
    }

    /// Stream and table topics with different partition counts cannot be joined partition
    /// by partition: the application says so at start.
    @Test func aJoinOfTopicsWithDifferentPartitionCountsFailsAtStart() async throws {
        let cluster = SimulatedCluster(seed: 1)
        cluster.createTopic("streamTopic", partitions: 2)
        cluster.createTopic("tableTopic", partitions: 3)
        cluster.createTopic("output", partitions: 1)
        var configuration = StreamsConfiguration(applicationID: "join-copartition", bootstrapServers: "simulated")
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("join-copartition-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: configuration.stateDirectory) }
        let topology = { @Sendable () throws -> Topology in
            let builder = StreamsBuilder()
            let table = builder.table("tableTopic", key: .string, value: .string)
            builder.stream("streamTopic", key: .string, value: .string).join(table) { $0 + $1 }.to("output", key: .string, value: .string)
            return try builder.build()
        }
        await #expect {
            _ = try await cluster.runUntilProcessed(topology, configuration: configuration, logger: streamsTestLogger)
        } throws: { error in
            (error as? StreamsError)?.kind == .partitionCountMismatch && "\(error)".contains("co-partitioned")
        }
    }
}
