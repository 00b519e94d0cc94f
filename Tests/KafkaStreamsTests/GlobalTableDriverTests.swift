@testable import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `KStreamGlobalKTableJoinTest` and `KStreamGlobalKTableLeftJoinTest`
/// through the test driver: stream values `"X<i>,FKey<i>"` name the global table's key
/// after the comma (none: no key); only stream records trigger.
@Suite struct GlobalTableDriverTests {
    final class Fixture {
        let driver: TopologyTestDriver
        let stream: TestInputTopic<Int32?, String?>
        let table: TestInputTopic<String, String?>
        let output: TestOutputTopic<Int32?, String>
        var time: Int64 = 0

        init(leftJoin: Bool) throws {
            let builder = StreamsBuilder()
            let stream = builder.stream("streamTopic", key: .optional(.int32), value: .optional(.string))
            let table = builder.globalTable("globalTableTopic", key: .string, value: .string, materialized: .as("table"))
            let tableKey = { @Sendable (_: Int32?, value: String?) -> String? in
                let tokens = value?.split(separator: ",") ?? []
                return tokens.count > 1 ? String(tokens[1]) : nil
            }
            let joined = leftJoin
                ? stream.leftJoin(table, key: tableKey) { value, tableValue in "\(value ?? "null")+\(tableValue ?? "null")" }
                : stream.join(table, key: tableKey) { value, tableValue in "\(value ?? "null")+\(tableValue)" }
            joined.to("output", key: .optional(.int32), value: .string)
            driver = try TopologyTestDriver(try builder.build())
            self.stream = driver.createInputTopic("streamTopic", key: .optional(.int32), value: .optional(.string))
            self.table = driver.createInputTopic("globalTableTopic", key: .string, value: .optional(.string))
            output = driver.createOutputTopic("output", key: .optional(.int32), value: .string)
        }

        deinit { driver.close() }

        /// Pipes `count` stream records (keys 0..., the first null when `nullKey`), each a
        /// millisecond after the last; returns the outputs as `key:value@time`.
        func pushToStream(_ count: Int, _ prefix: String, foreignKey: Bool = true, nullKey: Bool = false) throws -> [String] {
            for index in 0..<count {
                let value = "\(prefix)\(index)" + (foreignKey ? ",FKey\(index)" : "")
                try stream.pipeInput(key: nullKey && index == 0 ? nil : Int32(index), value: value, timestamp: time)
                time += 1
            }
            return try output.readRecordsToList().map { "\($0.key.map(String.init) ?? "null"):\($0.value)@\($0.timestamp)" }
        }

        func pushToTable(_ count: Int, _ prefix: String?) throws -> [String] {
            for index in 0..<count { try table.pipeInput(key: "FKey\(index)", value: prefix.map { "\($0)\(index)" }, timestamp: 0) }
            return try output.readRecordsToList().map { "\($0.key.map(String.init) ?? "null"):\($0.value)" }
        }
    }

    /// `shouldNotJoinOnGlobalTableUpdates` (and `shouldNotJoinWithEmptyGlobalTableOnStreamUpdates`).
    @Test func tableUpdatesJoinNothingThemselves() throws {
        let join = try Fixture(leftJoin: false)
        #expect(try join.pushToStream(2, "X") == [])
        #expect(try join.pushToTable(2, "Y") == [])
        #expect(try join.pushToStream(4, "X") == ["0:X0,FKey0+Y0@2", "1:X1,FKey1+Y1@3"])
        #expect(try join.pushToTable(4, "YY") == [])
        #expect(try join.pushToStream(4, "X") == ["0:X0,FKey0+YY0@6", "1:X1,FKey1+YY1@7", "2:X2,FKey2+YY2@8", "3:X3,FKey3+YY3@9"])
        #expect(try join.pushToTable(4, "YYY") == [])
    }

    /// `shouldClearGlobalTableEntryOnNullValueUpdates`.
    @Test func tombstonesDeleteGlobalRows() throws {
        let join = try Fixture(leftJoin: false)
        #expect(try join.pushToTable(4, "Y") == [])
        #expect(try join.pushToStream(4, "X") == ["0:X0,FKey0+Y0@0", "1:X1,FKey1+Y1@1", "2:X2,FKey2+Y2@2", "3:X3,FKey3+Y3@3"])
        #expect(try join.pushToTable(2, nil) == [])
        #expect(try join.pushToStream(4, "XX") == ["2:XX2,FKey2+Y2@6", "3:XX3,FKey3+Y3@7"])
        let store = try join.driver.keyValueStore(named: "table", key: String.self, value: String.self)
        #expect(try store.all().map { "\($0.key)=\($0.value)" } == ["FKey2=Y2", "FKey3=Y3"])
    }

    /// `shouldNotJoinOnNullKeyMapperValues(WithNullKeys)`, `shouldJoinOnNullKey` and
    /// `shouldDropRecordAndRecordDroppedSensorWhenStreamValueIsNull`: the stream's key plays
    /// no part; a record mapping to no key, or with a null value, is dropped and counted.
    @Test func recordsWithoutTableKeyOrValueAreDropped() throws {
        let join = try Fixture(leftJoin: false)
        #expect(try join.pushToTable(4, "Y") == [])
        #expect(try join.pushToStream(4, "XXX", foreignKey: false, nullKey: true) == [])
        #expect(join.driver.skippedRecordCount == 4)
        #expect(try join.pushToStream(2, "X", nullKey: true) == ["null:X0,FKey0+Y0@4", "1:X1,FKey1+Y1@5"])
        try join.stream.pipeInput(key: 0, value: nil, timestamp: 6)
        #expect(try join.output.readRecordsToList().isEmpty)
        #expect(join.driver.skippedRecordCount == 5)
    }

    /// `KStreamGlobalKTableLeftJoinTest`: every stream record comes out, with `null` where
    /// the table has no row or the record maps to no key.
    @Test func aLeftJoinKeepsEveryRecord() throws {
        let join = try Fixture(leftJoin: true)
        #expect(try join.pushToStream(2, "X") == ["0:X0,FKey0+null@0", "1:X1,FKey1+null@1"])
        #expect(try join.pushToTable(2, "Y") == [])
        #expect(try join.pushToStream(4, "X") == ["0:X0,FKey0+Y0@2", "1:X1,FKey1+Y1@3", "2:X2,FKey2+null@4", "3:X3,FKey3+null@5"])
        #expect(try join.pushToTable(4, nil) == [])
        #expect(try join.pushToStream(2, "XX", foreignKey: false) == ["0:XX0+null@6", "1:XX1+null@7"])
        #expect(join.driver.skippedRecordCount == 0)
    }

    /// `describe()` shows the global store apart from the sub-topologies (no tasks, no
    /// co-partitioning), as Kafka Streams prints it.
    @Test func describeShowsTheGlobalStore() throws {
        let builder = StreamsBuilder()
        let table = builder.globalTable("profiles", key: .string, value: .string, materialized: .as("profiles-store"))
        builder.stream("events", key: .string, value: .string)
            .join(table, named: "enrich", key: { key, _ in key }) { event, profile in "\(event)@\(profile)" }
            .to("enriched")
        let description = try builder.build().describe()
        #expect(description.subtopologies.count == 1)
        #expect(description.description.contains("""
               Sub-topology: 1 for global store (will not generate tasks)
                Source: KSTREAM-SOURCE-0000000000 (topics: [profiles])
                  --> KTABLE-SOURCE-0000000001
                Processor: KTABLE-SOURCE-0000000001 (stores: [profiles-store])
                  --> none
                  <-- KSTREAM-SOURCE-0000000000
            """))
        #expect(description.description.contains("Processor: enrich (stores: [profiles-store])"))
        #expect(description.stores.map(\.changelog) == ["profiles"])
        #expect(description.mermaid.contains("subgraph sub1[\"Global store profiles-store\"]"))
    }

    /// A topic a stream reads cannot also be a global table's, nor the other way round.
    @Test func aTopicIsEitherAStreamOrAGlobalTable() {
        let builder = StreamsBuilder()
        builder.stream("shared", key: .string, value: .string).to("out")
        _ = builder.globalTable("shared", key: .string, value: .string)
        #expect(throws: StreamsError.self) { try builder.build() }
    }
}
