@testable import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `KTableAggregateTest`: a table grouped by a new key and aggregated with an
/// adder and a subtractor, with its exact outputs (values and times), cache on and off.
/// A row moving to another group is subtracted from the group it left; each group's time is
/// the largest of the updates it took.
@Suite struct TableAggregationDriverTests {
    /// `input` (key, value or `nil` to delete, time) piped into the table `topic1`; the
    /// aggregation's updates as `key=value@time`.
    static func run(
        caching: Bool, input: [(String, String?, Int64)],
        aggregate: (KTable<String, String>, Materialized) -> KTable<String, String>
    ) throws -> [String] {
        let builder = StreamsBuilder()
        var materialized = Materialized.as("topic1-Canonized")
        materialized.cachingEnabled = caching
        aggregate(builder.table("topic1", key: .string, value: .string), materialized)
            .toStream().to("output", key: .string, value: .optional(.string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let topic = driver.createInputTopic("topic1", key: .string, value: .optional(.string))
        for (key, value, time) in input { try topic.pipeInput(key: key, value: value, timestamp: time) }
        return try driver.createOutputTopic("output", key: .string, value: .optional(.string)).readRecordsToList()
            .map { "\($0.key)=\($0.value ?? "null")@\($0.timestamp)" }
    }

    /// Kafka Streams' `MockAggregator.TOSTRING_ADDER` / `TOSTRING_REMOVER` from "0".
    static func toStringAggregate(_ grouped: KGroupedTable<String, String>, _ materialized: Materialized) -> KTable<String, String> {
        grouped.aggregate(
            materialized: materialized, value: .string, initializer: { "0" }, adder: { _, value, aggregate in "\(aggregate)+\(value)" },
            subtractor: { _, value, aggregate in "\(aggregate)-\(value)" })
    }

    @Test(arguments: [true, false])
    func aggregateSubtractsAKeysOldValueBeforeAddingItsNewOne(caching: Bool) throws {
        let results = try Self.run(
            caching: caching,
            input: [("A", "1", 10), ("B", "2", 15), ("A", "3", 20), ("B", "4", 18), ("C", "5", 5), ("D", "6", 25), ("B", "7", 15), ("C", "8", 10)]
        ) { table, materialized in
            Self.toStringAggregate(table.groupBy(key: .string, value: .string) { key, value in (key, value) }, materialized)
        }
        #expect(results == [
            "A=0+1@10", "B=0+2@15", "A=0+1-1+3@20", "B=0+2-2+4@18", "C=0+5@5", "D=0+6@25", "B=0+2-2+4-4+7@18", "C=0+5-5+8@10",
        ])
    }

    /// `testAggRepartition`: rows regrouped by their value; a deleted row leaves its group;
    /// a row whose new group key is null joins none.
    @Test(arguments: [true, false])
    func aRowMovingToAnotherGroupLeavesTheOldOne(caching: Bool) throws {
        let builder = StreamsBuilder()
        var materialized = Materialized.as("topic1-Canonized")
        materialized.cachingEnabled = caching
        builder.table("topic1", key: .string, value: .string)
            .groupBy(key: .optional(.string), value: .string) { key, value -> (key: String?, value: String) in (key == "null" ? nil : value, value) }
            .aggregate(
                materialized: materialized, value: .string, initializer: { "0" }, adder: { _, value, aggregate in "\(aggregate)+\(value)" },
                subtractor: { _, value, aggregate in "\(aggregate)-\(value)" }
            )
            .toStream().to("output", key: .optional(.string), value: .optional(.string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let topic = driver.createInputTopic("topic1", key: .string, value: .optional(.string))
        for (key, value, time) in [("A", "1", 10), ("A", nil, 15), ("A", "1", 12), ("B", "2", 20), ("null", "3", 25), ("B", "4", 23), ("B", "7", 22)]
            as [(String, String?, Int64)]
        {
            try topic.pipeInput(key: key, value: value, timestamp: time)
        }
        let results = try driver.createOutputTopic("output", key: .optional(.string), value: .optional(.string)).readRecordsToList()
            .map { "\($0.key ?? "null")=\($0.value ?? "null")@\($0.timestamp)" }
        #expect(results == ["1=0+1@10", "1=0+1-1@15", "1=0+1-1+1@15", "2=0+2@20", "2=0+2-2@23", "4=0+4@23", "4=0+4-4@23", "7=0+7@22"])
        #expect(driver.skippedRecordCount == 1)
    }

    /// `testCount` / `testCountWithInternalStore`: rows counted by colour.
    @Test(arguments: [true, false])
    func countFollowsRowsBetweenGroups(materialized: Bool) throws {
        let builder = StreamsBuilder()
        let grouped = builder.table("count-test-input", key: .string, value: .string).groupBy(key: .string, value: .string) { _, value in (value, value) }
        (materialized ? grouped.count(materialized: .as("count")) : grouped.count())
            .toStream().to("output", key: .string, value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let topic = driver.createInputTopic("count-test-input", key: .string, value: .string)
        for (key, value, time) in [("A", "green", 10), ("B", "green", 9), ("A", "blue", 12), ("C", "yellow", 15), ("D", "green", 11)] as [(String, String, Int64)] {
            try topic.pipeInput(key: key, value: value, timestamp: time)
        }
        let results = try driver.createOutputTopic("output", key: .string, value: .optional(.int64)).readRecordsToList()
            .map { "\($0.key)=\($0.value.map { String($0) } ?? "null")@\($0.timestamp)" }
        #expect(results == ["green=1@10", "green=2@10", "green=1@12", "blue=1@12", "yellow=1@15", "green=2@12"])
    }

    /// `testRemoveOldBeforeAddNew`: a row whose old and new pairs have the same group key
    /// comes as one change, its old value taken out before its new one goes in.
    @Test(arguments: [true, false])
    func theOldValueLeavesBeforeTheNewOneArrives(caching: Bool) throws {
        let results = try Self.run(caching: caching, input: [("11", "A", 10), ("12", "B", 8), ("11", nil, 12), ("12", "C", 6)]) { table, materialized in
            table.groupBy(key: .string, value: .string) { key, _ in (String(key.first!), String(key.last!)) }
                .aggregate(
                    materialized: materialized, value: .string, initializer: { "" }, adder: { _, value, aggregate in aggregate + value },
                    subtractor: { _, value, aggregate in aggregate.replacingOccurrences(of: value, with: "") })
        }
        #expect(results == ["1=1@10", "1=12@10", "1=2@12", "1=2@12"])
    }

    /// `testShouldNotSendTransientStateIfNotUpgrading`: an update within one group sends no
    /// intermediate state (the count never shows 0).
    @Test func anUpdateWithinAGroupSendsNoTransientState() throws {
        let builder = StreamsBuilder()
        builder.table("input-topic", key: .string, value: .string).groupBy(key: .string, value: .string) { key, value in (key, value) }
            .count(materialized: Materialized().withCachingDisabled())
            .toStream().to("output-topic", key: .string, value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let topic = driver.createInputTopic("input-topic", key: .string, value: .string)
        try topic.pipeInput(key: "1", value: "", timestamp: 8)
        try topic.pipeInput(key: "1", value: "", timestamp: 9)
        let results = try driver.createOutputTopic("output-topic", key: .string, value: .optional(.int64)).readRecordsToList()
            .map { "\($0.key)=\($0.value.map { String($0) } ?? "null")@\($0.timestamp)" }
        #expect(results == ["1=1@8", "1=1@9"])
    }

    /// A reduce over a filtered table: a row that stops matching leaves its group, and one
    /// that never matched sends nothing.
    @Test func reduceOverAFilteredTableSubtractsRowsThatStopMatching() throws {
        let builder = StreamsBuilder()
        builder.table("prices", key: .string, value: .int64)
            .filter { _, price in price >= 10 }
            .groupBy(key: .string, value: .int64) { item, price in (String(item.prefix(1)), price) }
            .reduce(materialized: Materialized().withCachingDisabled(), adder: { $0 + $1 }, subtractor: { $0 - $1 })
            .toStream().to("totals", key: .string, value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let topic = driver.createInputTopic("prices", key: .string, value: .optional(.int64))
        for (item, price, time) in [("a1", 10, 1), ("a2", 5, 2), ("a2", 20, 3), ("a1", 3, 4), ("b1", 7, 5), ("a2", nil, 6)] as [(String, Int64?, Int64)] {
            try topic.pipeInput(key: item, value: price, timestamp: time)
        }
        let results = try driver.createOutputTopic("totals", key: .string, value: .optional(.int64)).readRecordsToList()
            .map { "\($0.key)=\($0.value.map { String($0) } ?? "null")@\($0.timestamp)" }
        #expect(results == ["a=10@1", "a=30@3", "a=20@4", "a=0@6"])
    }

    /// Kafka Streams' `KTableFilterTest` old-values cases: a filtered table sends a deletion
    /// for every update that does not match while it sends no old values (it cannot tell
    /// whether downstream held the row); once a node downstream asks for old values (a
    /// `groupBy`), an update that matched neither before nor now sends nothing.
    @Test(arguments: [false, true])
    func aFilteredTableSendsADeletionOnlyForARowItHeld(grouped: Bool) throws {
        let builder = StreamsBuilder()
        let filtered = builder.table("prices", key: .string, value: .int64).filter { _, price in price >= 10 }
        filtered.toStream().to("matching", key: .string, value: .optional(.int64))
        if grouped {
            filtered.groupBy(key: .string, value: .int64) { item, price in (item, price) }.count().toStream()
                .to("counts", key: .string, value: .optional(.int64))
        }
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let topic = driver.createInputTopic("prices", key: .string, value: .int64)
        for (item, price, time) in [("a", 5, 1), ("a", 20, 2), ("a", 3, 3), ("a", 4, 4)] as [(String, Int64, Int64)] {
            try topic.pipeInput(key: item, value: price, timestamp: time)
        }
        let results = try driver.createOutputTopic("matching", key: .string, value: .optional(.int64)).readRecordsToList()
            .map { "\($0.key)=\($0.value.map { String($0) } ?? "null")@\($0.timestamp)" }
        #expect(results == (grouped ? ["a=20@2", "a=null@3"] : ["a=null@1", "a=20@2", "a=null@3", "a=null@4"]))
    }

    /// A table read and regrouped with no serdes given: the table's tombstones and the
    /// regrouped changes take serdes made from the configured defaults.
    @Test func tablesAndTheirRegroupingUseTheDefaultSerdes() throws {
        let builder = StreamsBuilder()
        let table: KTable<String, String> = builder.table("colours")
        table.groupBy { _, colour in (key: colour, value: colour) }.count().toStream().to("counts", value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build(), defaultKeySerde: StringSerde(), defaultValueSerde: StringSerde())
        defer { driver.close() }
        let topic = driver.createInputTopic("colours", key: .string, value: .optional(.string))
        try topic.pipeInput(key: "A", value: "green", timestamp: 1)
        try topic.pipeInput(key: "A", value: nil, timestamp: 2)
        let results = try driver.createOutputTopic("counts", key: .string, value: .optional(.int64)).readRecordsToList()
            .map { "\($0.key)=\($0.value.map { String($0) } ?? "null")@\($0.timestamp)" }
        #expect(results == ["green=1@1", "green=0@2"])
    }

    /// `KTableFilterTest.testQueryableKTable` and `KTableMapValuesTest`'s queryable variant:
    /// a filtered or mapped table given `materialized:` keeps its rows in a store of its
    /// own (a row that stops matching leaves it), queryable by name, and sends the row it
    /// replaces from there.
    @Test func filteredAndMappedTablesCanBeMaterialized() throws {
        let builder = StreamsBuilder()
        let table = builder.table("numbers", key: .string, value: .int64)
        let evens = table.filter(materialized: .as("evens", kind: .inMemory).withCachingDisabled()) { _, value in value % 2 == 0 }
        let doubled = table.mapValues(materialized: .as("doubled", kind: .inMemory).withCachingDisabled(), value: .int64) { $0 * 2 }
        evens.updates.mapValues { "\($0)" }.to("evens-changes", key: .string, value: .string)
        builder.sendOldValues(from: evens.node)
        _ = doubled
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let numbers = driver.createInputTopic("numbers", key: .string, value: .optional(.int64))
        for (key, value, time) in [("A", 1, 1), ("B", 2, 2), ("C", 4, 3), ("B", 3, 4)] as [(String, Int64?, Int64)] {
            try numbers.pipeInput(key: key, value: value, timestamp: time)
        }
        let evensStore = try driver.keyValueStore(named: "evens", key: String.self, value: Int64.self)
        #expect(try evensStore.all().map { "\($0.key)=\($0.value)" } == ["C=4"])
        let doubledStore = try driver.keyValueStore(named: "doubled", key: String.self, value: Int64.self)
        #expect(try doubledStore.all().map { "\($0.key)=\($0.value)" } == ["A=2", "B=6", "C=8"])
        // The store sends what it replaced: B's 2 when B stopped matching.
        let changes = try driver.createOutputTopic("evens-changes", key: .string, value: .string).readRecordsToList().map { "\($0.key):\($0.value)" }
        #expect(changes == ["A:(null<-null)", "B:(2<-null)", "C:(4<-null)", "B:(null<-2)"])
    }
}
