@testable import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `KTableKTableForeignKeyJoinIntegrationTest` scenarios through the test
/// driver, for the inner and the left foreign-key join, with the result kept in a queried
/// store or not: left rows `"<value>|<foreign key>"` joined with the right rows their
/// foreign key names. Outputs are checked in full, with their times (the later of the two
/// rows'), where Kafka Streams' test reads the last value per key.
@Suite struct ForeignKeyJoinDriverTests {
    final class Fixture {
        let driver: TopologyTestDriver
        let left: TestInputTopic<String, String?>
        let right: TestInputTopic<String, String?>
        let output: TestOutputTopic<String, String?>
        let rejoinOutput: TestOutputTopic<String, String?>
        let materialized: Bool

        init(leftJoin: Bool, materialized: Bool, foreignKey: @escaping @Sendable (String, String) -> String? = { $1.split(separator: "|").last.map(String.init) }) throws {
            self.materialized = materialized
            let builder = StreamsBuilder()
            let left = builder.table("left_table", key: .string, value: .string)
            let right = builder.table("right_table", key: .string, value: .string)
            // The cache would hold back the tombstones the scenarios check (as in Kafka Streams' test).
            let store = materialized ? Materialized.as("store", kind: .inMemory).withCachingDisabled() : nil
            let joined = leftJoin
                ? left.leftJoin(right, named: "fk", foreignKey: foreignKey, materialized: store, value: .string) { "(\($0),\($1 ?? "null"))" }
                : left.join(right, named: "fk", foreignKey: foreignKey, materialized: store, value: .string) { "(\($0),\($1))" }
            joined.toStream().to("output", key: .string, value: .optional(.string))
            // The result is a table like any other: joined again, with the left table.
            let rejoined = leftJoin
                ? joined.leftJoin(left, named: "rejoin") { "rejoin(\($0),\($1 ?? "null"))" }
                : joined.join(left, named: "rejoin") { "rejoin(\($0),\($1))" }
            rejoined.toStream().to("rejoin-output", key: .string, value: .optional(.string))
            driver = try TopologyTestDriver(try builder.build())
            self.left = driver.createInputTopic("left_table", key: .string, value: .optional(.string))
            self.right = driver.createInputTopic("right_table", key: .string, value: .optional(.string))
            output = driver.createOutputTopic("output", key: .string, value: .optional(.string))
            rejoinOutput = driver.createOutputTopic("rejoin-output", key: .string, value: .optional(.string))
        }

        deinit { driver.close() }

        func pipe(_ topic: TestInputTopic<String, String?>, _ rows: [(String, String?, Int64)]) throws -> [String] {
            for (key, value, time) in rows { try topic.pipeInput(key: key, value: value, timestamp: time) }
            return try output.readRecordsToList().map { "\($0.key):\($0.value ?? "null")@\($0.timestamp)" }
        }

        /// The result store's rows (checked only when the join is materialized).
        func stored() throws -> [String: String] {
            guard materialized else { return [:] }
            return Dictionary(uniqueKeysWithValues: try driver.keyValueStore(named: "store", key: String.self, value: String.self).all())
        }

        func rejoined() throws -> [String] { try rejoinOutput.readRecordsToList().map { "\($0.key):\($0.value ?? "null")" } }
    }

    static let variants = [(false, false), (false, true), (true, false), (true, true)]

    /// `doJoinFromLeftThenDeleteLeftEntity`.
    @Test(arguments: variants)
    func joinFromLeftThenDeleteTheLeftRow(leftJoin: Bool, materialized: Bool) throws {
        let join = try Fixture(leftJoin: leftJoin, materialized: materialized)
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1", 0), ("rhs2", "rhsValue2", 1), ("rhs3", "rhsValue3", 2)]) == [])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 3), ("lhs2", "lhsValue2|rhs2", 4)]) == [
            "lhs1:(lhsValue1|rhs1,rhsValue1)@3", "lhs2:(lhsValue2|rhs2,rhsValue2)@4",
        ])
        #expect(try join.rejoined() == [
            "lhs1:rejoin((lhsValue1|rhs1,rhsValue1),lhsValue1|rhs1)", "lhs2:rejoin((lhsValue2|rhs2,rhsValue2),lhsValue2|rhs2)",
        ])
        // Another row naming an existing foreign key.
        #expect(try join.pipe(join.left, [("lhs3", "lhsValue3|rhs1", 5)]) == ["lhs3:(lhsValue3|rhs1,rhsValue1)@5"])
        #expect(try join.rejoined() == ["lhs3:rejoin((lhsValue3|rhs1,rhsValue1),lhsValue3|rhs1)"])
        if materialized {
            #expect(try join.stored() == [
                "lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,rhsValue1)",
            ])
        }
        // Deleting a left row deletes its result.
        #expect(try join.pipe(join.left, [("lhs1", nil, 6)]) == ["lhs1:null@6"])
        // The left join's other side sees the deletion first, while the result still has
        // the row (Kafka Streams' test reads only the last value per key).
        #expect(try join.rejoined() == (leftJoin ? ["lhs1:rejoin((lhsValue1|rhs1,rhsValue1),null)", "lhs1:null"] : ["lhs1:null"]))
        if materialized {
            #expect(try join.stored() == ["lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,rhsValue1)"])
        }
    }

    /// `doJoinFromRightThenDeleteRightEntity`: a right row's change reaches every left row
    /// naming it.
    @Test(arguments: variants)
    func joinFromRightThenDeleteTheRightRow(leftJoin: Bool, materialized: Bool) throws {
        let join = try Fixture(leftJoin: leftJoin, materialized: materialized)
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 0), ("lhs2", "lhsValue2|rhs2", 1), ("lhs3", "lhsValue3|rhs1", 2)])
            == (leftJoin ? ["lhs1:(lhsValue1|rhs1,null)@0", "lhs2:(lhsValue2|rhs2,null)@1", "lhs3:(lhsValue3|rhs1,null)@2"] : []))
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1", 3)]) == ["lhs1:(lhsValue1|rhs1,rhsValue1)@3", "lhs3:(lhsValue3|rhs1,rhsValue1)@3"])
        #expect(try join.pipe(join.right, [("rhs2", "rhsValue2", 4)]) == ["lhs2:(lhsValue2|rhs2,rhsValue2)@4"])
        // A right row no left row names joins nothing.
        #expect(try join.pipe(join.right, [("rhs3", "rhsValue3", 5)]) == [])
        if materialized {
            #expect(try join.stored() == [
                "lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,rhsValue1)",
            ])
        }
        #expect(try join.pipe(join.right, [("rhs1", nil, 6)])
            == (leftJoin ? ["lhs1:(lhsValue1|rhs1,null)@6", "lhs3:(lhsValue3|rhs1,null)@6"] : ["lhs1:null@6", "lhs3:null@6"]))
        if materialized {
            #expect(try join.stored() == (leftJoin
                ? ["lhs1": "(lhsValue1|rhs1,null)", "lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,null)"]
                : ["lhs2": "(lhsValue2|rhs2,rhsValue2)"]))
        }
    }

    /// `shouldEmitTombstoneWhenDeletingNonJoiningRecords` and
    /// `shouldNotEmitTombstonesWhenDeletingNonExistingRecords`: the inner join cannot know
    /// whether a deleted row had a result, so it sends a deletion anyway; a row that never
    /// existed sends none.
    @Test(arguments: variants)
    func deletingRowsThatDidNotJoin(leftJoin: Bool, materialized: Bool) throws {
        let join = try Fixture(leftJoin: leftJoin, materialized: materialized)
        #expect(try join.pipe(join.left, [("lhs0", nil, 0)]) == [])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 0)]) == (leftJoin ? ["lhs1:(lhsValue1|rhs1,null)@0"] : []))
        #expect(try join.pipe(join.left, [("lhs1", nil, 1)]) == ["lhs1:null@1"])
        #expect(try join.stored() == [:])
        #expect(try join.pipe(join.left, [("lhs1", nil, 2)]) == [])
    }

    /// `joinShouldProduceNullsWhenValueHasNonMatchingForeignKey`: moving between foreign
    /// keys without rows, then to one with a row and away again.
    @Test(arguments: variants)
    func movingBetweenForeignKeys(leftJoin: Bool, materialized: Bool) throws {
        let join = try Fixture(leftJoin: leftJoin, materialized: materialized)
        let unmatched = { (value: String, time: Int) in leftJoin ? "lhs1:(\(value),null)@\(time)" : "lhs1:null@\(time)" }
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 0)]) == (leftJoin ? ["lhs1:(lhsValue1|rhs1,null)@0"] : []))
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs2", 1)]) == [unmatched("lhsValue1|rhs2", 1)])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs3", 2)]) == [unmatched("lhsValue1|rhs3", 2)])
        // rhs1 is no longer named by any row.
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1", 3)]) == [])
        #expect(try join.stored() == (leftJoin && materialized ? ["lhs1": "(lhsValue1|rhs3,null)"] : [:]))
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 4)]) == ["lhs1:(lhsValue1|rhs1,rhsValue1)@4"])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs2", 5)]) == [unmatched("lhsValue1|rhs2", 5)])
        #expect(try join.stored() == (leftJoin && materialized ? ["lhs1": "(lhsValue1|rhs2,null)"] : [:]))
    }

    /// `shouldUnsubscribeOldForeignKeyIfLeftSideIsUpdated`.
    @Test(arguments: variants)
    func theOldForeignKeyForgetsARowThatMoved(leftJoin: Bool, materialized: Bool) throws {
        let join = try Fixture(leftJoin: leftJoin, materialized: materialized)
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1", 0), ("rhs2", "rhsValue2", 1)]) == [])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 2)]) == ["lhs1:(lhsValue1|rhs1,rhsValue1)@2"])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs2", 3)]) == ["lhs1:(lhsValue1|rhs2,rhsValue2)@3"])
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1Delta", 4)]) == [])
        #expect(try join.stored() == (materialized ? ["lhs1": "(lhsValue1|rhs2,rhsValue2)"] : [:]))
    }

    /// An answer carries the later of the two rows' times: a right row newer than the left
    /// one stamps the result with its own.
    @Test func resultsCarryTheLaterOfTheTwoRowsTimes() throws {
        let join = try Fixture(leftJoin: false, materialized: false)
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1", 50)]) == [])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 10)]) == ["lhs1:(lhsValue1|rhs1,rhsValue1)@50"])
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1b", 20)]) == ["lhs1:(lhsValue1|rhs1,rhsValue1b)@20"])
    }

    /// `shouldEmitRecordOnNullForeignKeyForLeftJoins` and `shouldEmitRecordWhenOldAndNewFkDiffer`:
    /// a left join keeps a row without foreign key, and the subscription of the foreign key
    /// it had is removed.
    @Test(arguments: [false, true])
    func aLeftJoinKeepsRowsWithoutForeignKey(materialized: Bool) throws {
        let join = try Fixture(leftJoin: true, materialized: materialized) { _, value in
            let named = value.split(separator: "|").last.map(String.init)
            return named == "returnNull" ? nil : named
        }
        let subscriptions = try join.driver.keyValueStore(named: "fk-subscription-store", key: [UInt8].self, value: [UInt8].self)
        let subscription = SubscriptionStoreKey.key(foreignKey: Array("rhs1".utf8), primaryKey: Array("lhs1".utf8))
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 0)]) == ["lhs1:(lhsValue1|rhs1,null)@0"])
        #expect(try subscriptions.get(subscription) != nil)
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|returnNull", 0)]) == ["lhs1:(lhsValue1|returnNull,null)@0"])
        #expect(try subscriptions.get(subscription) == nil)
        #expect(try join.stored() == (materialized ? ["lhs1": "(lhsValue1|returnNull,null)"] : [:]))
    }

    /// The inner join skips (and counts) a row without foreign key; the one it had leaves.
    @Test func anInnerJoinSkipsRowsWithoutForeignKey() throws {
        let join = try Fixture(leftJoin: false, materialized: false) { _, value in value.hasSuffix("|none") ? nil : value.split(separator: "|").last.map(String.init) }
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1", 0)]) == [])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 1)]) == ["lhs1:(lhsValue1|rhs1,rhsValue1)@1"])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|none", 2)]) == ["lhs1:null@2"])
        #expect(join.driver.skippedRecordCount == 1)
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1b", 3)]) == [])
    }

    /// An answer for a row that has changed since it subscribed is dropped (Kafka Streams'
    /// stale-response check by the hash of the row's value): it would put an older row
    /// back. The test driver answers before the next input, so the stale answer is piped
    /// straight into the response topic.
    @Test func staleAnswersAreDropped() throws {
        let join = try Fixture(leftJoin: false, materialized: false)
        #expect(try join.pipe(join.right, [("rhs1", "rhsValue1", 0), ("rhs2", "rhsValue2", 0)]) == [])
        #expect(try join.pipe(join.left, [("lhs1", "lhsValue1|rhs1", 1), ("lhs1", "lhsValue1|rhs2", 2)]) == [
            "lhs1:(lhsValue1|rhs1,rhsValue1)@1", "lhs1:(lhsValue1|rhs2,rhsValue2)@2",
        ])
        let responses = join.driver.createInputTopic("test-driver-fk-subscription-response-topic", key: .string, value: SubscriptionResponseSerde())
        let hash = { (value: String) in Murmur3Hash128(hashing: Array(value.utf8)) }
        try responses.pipeInput(key: "lhs1", value: SubscriptionResponse(valueHash: hash("lhsValue1|rhs1"), foreignValue: Array("rhsValue1".utf8), primaryPartition: 0), timestamp: 3)
        #expect(try join.output.readRecordsToList().isEmpty)
        #expect(join.driver.skippedRecordCount == 1)
        try responses.pipeInput(key: "lhs1", value: SubscriptionResponse(valueHash: hash("lhsValue1|rhs2"), foreignValue: Array("rhsValue2b".utf8), primaryPartition: 0), timestamp: 4)
        #expect(try join.output.readRecordsToList().map { "\($0.key):\($0.value ?? "null")@\($0.timestamp)" } == ["lhs1:(lhsValue1|rhs2,rhsValue2b)@4"])
    }

    /// The hash is MurmurHash3 x64 128 with Kafka Streams' seed (vectors from the reference
    /// implementation, Python's `mmh3.hash64(bytes, seed=104729, signed=False)`), every tail
    /// length covered.
    @Test func murmur3MatchesTheReferenceImplementation() {
        let vectors: [([UInt8], UInt64, UInt64)] = [
            ([], 0x9d27_64a0_18e3_2942, 0x8c3c_f3b0_3593_8518),
            (Array("hello".utf8), 0x30bf_b4f3_9919_e764, 0x566a_ea85_7401_d1c6),
            (Array("lhsValue1|rhs1".utf8), 0x73de_e344_b3a8_e513, 0x289c_8341_c647_2e8f),
            (Array(0..<31), 0x7cb1_1ca7_d8a7_5abc, 0xeb1b_7433_8911_74bd),
        ]
        for (bytes, first, second) in vectors {
            #expect(Murmur3Hash128(hashing: bytes) == Murmur3Hash128(first: first, second: second))
        }
        // Lengths 0 to 39 (every tail, two blocks), bytes with the high bit set: the XOR of
        // the reference's hashes.
        var combined = (first: UInt64(0), second: UInt64(0))
        for length in 0..<40 {
            let hash = Murmur3Hash128(hashing: (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 200) })
            combined = (combined.first ^ hash.first, combined.second ^ hash.second)
        }
        #expect(combined == (0xb5a3_c3b0_fceb_ba4d, 0x723c_65d0_f619_5a07))
    }

    /// Subscriptions and answers survive their round trip through the topics' bytes, and a
    /// message of an unknown version is refused with a clear error.
    @Test func subscriptionMessagesRoundTrip() throws {
        let hash = Murmur3Hash128(first: 1, second: .max)
        for subscription in [
            Subscription(instruction: .subscribeAndRespond, valueHash: hash, primaryKey: [1, 2, 3], primaryPartition: 7),
            Subscription(instruction: .unsubscribeAndRespond, valueHash: nil, primaryKey: [], primaryPartition: 0),
        ] {
            #expect(try SubscriptionSerde().deserialize(SubscriptionSerde().serialize(subscription)!) == subscription)
        }
        for response in [
            SubscriptionResponse(valueHash: hash, foreignValue: [9], primaryPartition: 3),
            SubscriptionResponse(valueHash: nil, foreignValue: nil, primaryPartition: 0),
            SubscriptionResponse(valueHash: hash, foreignValue: [], primaryPartition: .max),
        ] {
            #expect(try SubscriptionResponseSerde().deserialize(SubscriptionResponseSerde().serialize(response)!) == response)
        }
        #expect(throws: SerdeError.unsupportedFormat("foreign-key join message of version 1; this build reads version 0")) {
            try SubscriptionResponseSerde().deserialize([1, 0, 0, 0, 0, 0] as [UInt8])
        }
    }
}
