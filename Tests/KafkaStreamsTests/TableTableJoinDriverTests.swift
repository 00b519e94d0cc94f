@testable import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `KTableKTableInnerJoinTest`, `KTableKTableLeftJoinTest` and
/// `KTableKTableOuterJoinTest`: an update on either side sends the joined row's change,
/// with the row it replaces when old values are asked for, stamped with the later of the
/// two rows' times; deletions propagate.
@Suite struct TableTableJoinDriverTests {
    enum Kind: Sendable { case inner, left, outer }

    /// `topic1` joined with `topic2` as `kind`, `+`-joined (`null` for no row); the join's
    /// changes as `key:(new<-old)@time` (old values asked for when `oldValues`).
    final class Fixture {
        let driver: TopologyTestDriver
        let left: TestInputTopic<Int32, String?>
        let right: TestInputTopic<Int32, String?>
        let output: TestOutputTopic<Int32, String>

        init(_ kind: Kind, oldValues: Bool) throws {
            let builder = StreamsBuilder()
            let table1 = builder.table("topic1", key: .int32, value: .string)
            let table2 = builder.table("topic2", key: .int32, value: .string)
            let joined: KTable<Int32, String> = switch kind {
            case .inner: table1.join(table2) { "\($0)+\($1)" }
            case .left: table1.leftJoin(table2) { "\($0)+\($1 ?? "null")" }
            case .outer: table1.outerJoin(table2) { "\($0 ?? "null")+\($1 ?? "null")" }
            }
            if oldValues { builder.sendOldValues(from: joined.node) }
            joined.updates.mapValues { "\($0)" }.to("output", key: .int32, value: .string)
            driver = try TopologyTestDriver(try builder.build())
            left = driver.createInputTopic("topic1", key: .int32, value: .optional(.string))
            right = driver.createInputTopic("topic2", key: .int32, value: .optional(.string))
            output = driver.createOutputTopic("output", key: .int32, value: .string)
        }

        deinit { driver.close() }

        func pipe(_ topic: TestInputTopic<Int32, String?>, _ rows: [(Int32, String?, Int64)]) throws -> [String] {
            for (key, value, time) in rows { try topic.pipeInput(key: key, value: value, timestamp: time) }
            return try output.readRecordsToList().map { "\($0.key):\($0.value)@\($0.timestamp)" }
        }
    }

    /// `testSendingOldValues` / `testNotSendingOldValues` of the inner join.
    @Test(arguments: [true, false])
    func innerJoinSendsEachJoinedRowsChanges(oldValues: Bool) throws {
        let join = try Fixture(.inner, oldValues: oldValues)
        let old = { (value: String) in oldValues ? value : "null" }
        #expect(try join.pipe(join.left, [(0, "X0", 5), (1, "X1", 6)]) == [])
        #expect(try join.pipe(join.right, [(0, "Y0", 0), (1, "Y1", 10)]) == ["0:(X0+Y0<-null)@5", "1:(X1+Y1<-null)@10"])
        #expect(try join.pipe(join.left, (0..<4).map { ($0, "XX\($0)", 7) }) == [
            "0:(XX0+Y0<-\(old("X0+Y0")))@7", "1:(XX1+Y1<-\(old("X1+Y1")))@10",
        ])
        #expect(try join.pipe(join.right, (0..<4).map { ($0, "YY\($0)", Int64($0) * 5) }) == [
            "0:(XX0+YY0<-\(old("XX0+Y0")))@7", "1:(XX1+YY1<-\(old("XX1+Y1")))@7", "2:(XX2+YY2<-null)@10", "3:(XX3+YY3<-null)@15",
        ])
        #expect(try join.pipe(join.left, (0..<4).map { ($0, "XXX\($0)", 6) }) == [
            "0:(XXX0+YY0<-\(old("XX0+YY0")))@6", "1:(XXX1+YY1<-\(old("XX1+YY1")))@6", "2:(XXX2+YY2<-\(old("XX2+YY2")))@10",
            "3:(XXX3+YY3<-\(old("XX3+YY3")))@15",
        ])
        #expect(try join.pipe(join.right, [(0, nil, 5), (1, nil, 7)]) == ["0:(null<-\(old("XXX0+YY0")))@6", "1:(null<-\(old("XXX1+YY1")))@7"])
        #expect(try join.pipe(join.left, (0..<4).map { ($0, "XXXX\($0)", 13) }) == [
            "2:(XXXX2+YY2<-\(old("XXX2+YY2")))@13", "3:(XXXX3+YY3<-\(old("XXX3+YY3")))@15",
        ])
        #expect(try join.pipe(join.left, [(0, nil, 0), (1, nil, 42), (2, nil, 5), (3, nil, 20)]) == [
            "2:(null<-\(old("XXXX2+YY2")))@10", "3:(null<-\(old("XXXX3+YY3")))@20",
        ])
    }

    /// `testSendingOldValue` / `testNotSendingOldValue` of the outer join, and the left
    /// join through the same updates: a left join keeps the left rows only.
    @Test(arguments: [(Kind.outer, true), (.outer, false), (.left, true), (.left, false)])
    func outerSidesKeepTheirRowsWithoutPartner(kind: Kind, oldValues: Bool) throws {
        let join = try Fixture(kind, oldValues: oldValues)
        let old = { (value: String) in oldValues ? value : "null" }
        #expect(try join.pipe(join.left, [(0, "X0", 0), (1, "X1", 0)]) == ["0:(X0+null<-null)@0", "1:(X1+null<-null)@0"])
        #expect(try join.pipe(join.right, [(0, "Y0", 0), (1, "Y1", 0)]) == ["0:(X0+Y0<-\(old("X0+null")))@0", "1:(X1+Y1<-\(old("X1+null")))@0"])
        #expect(try join.pipe(join.left, (0..<4).map { ($0, "X\($0)", 0) }) == [
            "0:(X0+Y0<-\(old("X0+Y0")))@0", "1:(X1+Y1<-\(old("X1+Y1")))@0", "2:(X2+null<-null)@0", "3:(X3+null<-null)@0",
        ])
        #expect(try join.pipe(join.right, (0..<4).map { ($0, "YY\($0)", 0) }) == [
            "0:(X0+YY0<-\(old("X0+Y0")))@0", "1:(X1+YY1<-\(old("X1+Y1")))@0", "2:(X2+YY2<-\(old("X2+null")))@0", "3:(X3+YY3<-\(old("X3+null")))@0",
        ])
        #expect(try join.pipe(join.right, [(0, nil, 0), (1, nil, 0)]) == ["0:(X0+null<-\(old("X0+YY0")))@0", "1:(X1+null<-\(old("X1+YY1")))@0"])
        #expect(try join.pipe(join.left, (0..<4).map { ($0, "XX\($0)", 0) }) == [
            "0:(XX0+null<-\(old("X0+null")))@0", "1:(XX1+null<-\(old("X1+null")))@0", "2:(XX2+YY2<-\(old("X2+YY2")))@0",
            "3:(XX3+YY3<-\(old("X3+YY3")))@0",
        ])
        let middle = try join.pipe(join.left, [(1, nil, 0), (2, nil, 0)])
        #expect(middle == ["1:(null<-\(old("XX1+null")))@0", "2:(\(kind == .outer ? "null+YY2" : "null")<-\(old("XX2+YY2")))@0"])
        // A right row without a left one: in the outer join only.
        #expect(try join.pipe(join.right, [(7, "Z7", 3)]) == (kind == .outer ? ["7:(null+Z7<-null)@3"] : []))
    }

    /// The joined table is itself looked up by key: a stream joined with it finds the
    /// joined row.
    @Test func aJoinedTableCanBeJoinedByAStream() throws {
        let builder = StreamsBuilder()
        let profiles = builder.table("profiles", key: .string, value: .string)
        let limits = builder.table("limits", key: .string, value: .int64)
        let cards = profiles.leftJoin(limits) { country, limit in "\(country):\(limit ?? 0)" }
        builder.stream("payments", key: .string, value: .int64).leftJoin(cards) { amount, card in "\(amount)@\(card ?? "unknown")" }
            .to("checked", key: .string, value: .string)
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        try driver.createInputTopic("profiles", key: .string, value: .string).pipeInput(key: "c1", value: "FR", timestamp: 1)
        let limitInput = driver.createInputTopic("limits", key: .string, value: .int64)
        try limitInput.pipeInput(key: "c1", value: Int64(500), timestamp: 2)
        let payments = driver.createInputTopic("payments", key: .string, value: .int64)
        try payments.pipeInput(key: "c1", value: 90, timestamp: 3)
        try payments.pipeInput(key: "c2", value: 10, timestamp: 4)
        let results = try driver.createOutputTopic("checked", key: .string, value: .string).readRecordsToList().map { "\($0.key)=\($0.value)" }
        #expect(results == ["c1=90@FR:500", "c2=10@unknown"])
    }

    /// A joined table kept in a store of its own: queryable by name, with each joined row
    /// as the join has it, deletions included; its changes go on as before.
    @Test(arguments: [true, false])
    func aMaterializedJoinIsQueryable(caching: Bool) throws {
        let builder = StreamsBuilder()
        let profiles = builder.table("profiles", key: .string, value: .string)
        let limits = builder.table("limits", key: .string, value: .int64)
        var materialized = Materialized.as("cards")
        materialized.cachingEnabled = caching
        profiles.join(limits, materialized: materialized, value: .string) { country, limit in "\(country):\(limit)" }
            .toStream().to("cards-out", key: .string, value: .optional(.string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let profileInput = driver.createInputTopic("profiles", key: .string, value: .optional(.string))
        let limitInput = driver.createInputTopic("limits", key: .string, value: .optional(.int64))
        try profileInput.pipeInput(key: "c1", value: "FR", timestamp: 1)
        try profileInput.pipeInput(key: "c2", value: "DE", timestamp: 2)
        try limitInput.pipeInput(key: "c1", value: Int64(500), timestamp: 3)
        try limitInput.pipeInput(key: "c2", value: Int64(100), timestamp: 4)
        try profileInput.pipeInput(key: "c2", value: nil, timestamp: 5)
        let store = try driver.keyValueStore(named: "cards", key: String.self, value: String.self)
        #expect(try store.get("c1") == "FR:500")
        #expect(try store.get("c2") == nil)
        let changes = try driver.createOutputTopic("cards-out", key: .string, value: .optional(.string)).readRecordsToList()
            .map { "\($0.key)=\($0.value ?? "null")@\($0.timestamp)" }
        #expect(changes == ["c1=FR:500@3", "c2=DE:100@4", "c2=null@5"])
    }
}
