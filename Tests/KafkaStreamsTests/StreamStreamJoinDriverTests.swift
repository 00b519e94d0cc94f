import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `KStreamKStreamJoinTest`, `KStreamKStreamLeftJoinTest` and
/// `KStreamKStreamOuterJoinTest`: pairs within the join windows with exact values and
/// times, duplicates, asymmetric windows, records that arrive after their window closed,
/// and left/outer results sent once a record's window has closed, never before a partner
/// could still arrive.
@Suite struct StreamStreamJoinDriverTests {
    enum Kind { case inner, left, outer }

    /// `topic1` joined with `topic2` (keys Int32, values String) as `kind` within
    /// `windows`, `+`-joined with `null` for a missing partner.
    final class Fixture {
        let driver: TopologyTestDriver
        let left: TestInputTopic<Int32, String>
        let right: TestInputTopic<Int32, String>
        let output: TestOutputTopic<Int32, String>

        init(_ kind: Kind, _ windows: JoinWindows) throws {
            let builder = StreamsBuilder()
            let stream1 = builder.stream("topic1", key: .int32, value: .string)
            let stream2 = builder.stream("topic2", key: .int32, value: .string)
            let joined: KStream<Int32, String> = switch kind {
            case .inner: stream1.join(stream2, windows: windows) { "\($0)+\($1)" }
            case .left: stream1.leftJoin(stream2, windows: windows) { "\($0)+\($1 ?? "null")" }
            case .outer: stream1.outerJoin(stream2, windows: windows) { "\($0 ?? "null")+\($1 ?? "null")" }
            }
            joined.to("output", key: .int32, value: .string)
            driver = try TopologyTestDriver(try builder.build())
            left = driver.createInputTopic("topic1", key: .int32, value: .string)
            right = driver.createInputTopic("topic2", key: .int32, value: .string)
            output = driver.createOutputTopic("output", key: .int32, value: .string)
        }

        deinit { driver.close() }

        /// Pipes `prefix + key` for each key, at `time(index)`, and returns what came out.
        func pipe(_ topic: TestInputTopic<Int32, String>, _ prefix: String, keys: [Int32] = [0, 1, 2, 3], time: (Int) -> Int64) throws -> [String] {
            for (index, key) in keys.enumerated() { try topic.pipeInput(key: key, value: "\(prefix)\(key)", timestamp: time(index)) }
            return try results()
        }

        func results() throws -> [String] {
            try output.readRecordsToList().map { "\($0.key):\($0.value)@\($0.timestamp)" }
        }
    }

    /// `testWindowing`: a 100 ms difference, no grace; partners found at the window edges,
    /// and records that come after their own window closed still join what the join keeps.
    @Test func innerJoinPairsRecordsWithinTheWindow() throws {
        let join = try Fixture(.inner, .timeDifference(.milliseconds(100), grace: .zero))
        #expect(try join.pipe(join.left, "A", keys: [0, 1]) { _ in 0 } == [])
        #expect(try join.pipe(join.right, "a", keys: [0, 1]) { _ in 0 } == ["0:A0+a0@0", "1:A1+a1@0"])
        #expect(try join.pipe(join.left, "B") { 1000 + Int64($0) } == [])
        #expect(try join.pipe(join.right, "b") { _ in 1100 } == ["0:B0+b0@1100", "1:B1+b1@1100", "2:B2+b2@1100", "3:B3+b3@1100"])
        #expect(try join.pipe(join.right, "c") { _ in 1101 } == ["1:B1+c1@1101", "2:B2+c2@1101", "3:B3+c3@1101"])
        #expect(try join.pipe(join.right, "d") { _ in 1102 } == ["2:B2+d2@1102", "3:B3+d3@1102"])
        #expect(try join.pipe(join.right, "e") { _ in 1103 } == ["3:B3+e3@1103"])
        #expect(try join.pipe(join.right, "f") { _ in 1104 } == [])
        #expect(try join.pipe(join.right, "g") { _ in 899 } == [])
        #expect(try join.pipe(join.right, "h") { _ in 900 } == ["0:B0+h0@1000"])
        #expect(try join.pipe(join.right, "i") { _ in 901 } == ["0:B0+i0@1000", "1:B1+i1@1001"])
        #expect(try join.pipe(join.right, "j") { _ in 902 } == ["0:B0+j0@1000", "1:B1+j1@1001", "2:B2+j2@1002"])
        #expect(try join.pipe(join.right, "k") { _ in 903 } == ["0:B0+k0@1000", "1:B1+k1@1001", "2:B2+k2@1002", "3:B3+k3@1003"])
        #expect(try join.pipe(join.right, "l") { 2000 + Int64($0) } == [])
        #expect(try join.pipe(join.left, "C") { _ in 2100 } == ["0:C0+l0@2100", "1:C1+l1@2100", "2:C2+l2@2100", "3:C3+l3@2100"])
        #expect(try join.pipe(join.left, "D") { _ in 2101 } == ["1:D1+l1@2101", "2:D2+l2@2101", "3:D3+l3@2101"])
        #expect(try join.pipe(join.left, "E") { _ in 2102 } == ["2:E2+l2@2102", "3:E3+l3@2102"])
        #expect(try join.pipe(join.left, "F") { _ in 2103 } == ["3:F3+l3@2103"])
        #expect(try join.pipe(join.left, "G") { _ in 2104 } == [])
        #expect(try join.pipe(join.left, "H") { _ in 1899 } == [])
        #expect(try join.pipe(join.left, "I") { _ in 1900 } == ["0:I0+l0@2000"])
        #expect(try join.pipe(join.left, "J") { _ in 1901 } == ["0:J0+l0@2000", "1:J1+l1@2001"])
        #expect(try join.pipe(join.left, "K") { _ in 1902 } == ["0:K0+l0@2000", "1:K1+l1@2001", "2:K2+l2@2002"])
        #expect(try join.pipe(join.left, "L") { _ in 1903 } == ["0:L0+l0@2000", "1:L1+l1@2001", "2:L2+l2@2002", "3:L3+l3@2003"])
    }

    /// `testJoin`: records with equal keys and times are all kept, and each pairs.
    @Test func duplicatesAllPair() throws {
        let join = try Fixture(.inner, .timeDifference(.milliseconds(100), grace: .zero))
        #expect(try join.pipe(join.left, "A", keys: [0, 1]) { _ in 0 } == [])
        #expect(try join.pipe(join.right, "a", keys: [0, 1]) { _ in 0 } == ["0:A0+a0@0", "1:A1+a1@0"])
        #expect(try join.pipe(join.left, "B") { _ in 0 } == ["0:B0+a0@0", "1:B1+a1@0"])
        #expect(try join.pipe(join.right, "b") { _ in 0 } == ["0:A0+b0@0", "0:B0+b0@0", "1:A1+b1@0", "1:B1+b1@0", "2:B2+b2@0", "3:B3+b3@0"])
        #expect(try join.pipe(join.right, "b", keys: [0]) { _ in 0 } == ["0:A0+b0@0", "0:B0+b0@0"])
        #expect(try join.pipe(join.left, "C") { _ in 0 } == [
            "0:C0+a0@0", "0:C0+b0@0", "0:C0+b0@0", "1:C1+a1@0", "1:C1+b1@0", "2:C2+b2@0", "3:C3+b3@0",
        ])
    }

    /// `testAsymmetricWindowingAfter`: partners only up to 100 ms after the left record.
    @Test func asymmetricWindowsPairOnlyOnTheirSide() throws {
        let join = try Fixture(.inner, JoinWindows(before: .zero, after: .milliseconds(100), grace: .zero))
        #expect(try join.pipe(join.left, "A") { 1000 + Int64($0) } == [])
        #expect(try join.pipe(join.right, "a") { _ in 999 } == [])
        #expect(try join.pipe(join.right, "b") { _ in 1000 } == ["0:A0+b0@1000"])
        #expect(try join.pipe(join.right, "c") { _ in 1001 } == ["0:A0+c0@1001", "1:A1+c1@1001"])
        #expect(try join.pipe(join.right, "d") { _ in 1002 } == ["0:A0+d0@1002", "1:A1+d1@1002", "2:A2+d2@1002"])
        #expect(try join.pipe(join.right, "e") { _ in 1003 } == ["0:A0+e0@1003", "1:A1+e1@1003", "2:A2+e2@1003", "3:A3+e3@1003"])
    }

    /// `testLeftJoinDuplicates`: unmatched duplicates are sent once their window closed
    /// (100 + grace 10 after their time), matched ones never.
    @Test func leftJoinSendsUnmatchedRecordsOnceTheirWindowClosed() throws {
        let join = try Fixture(.left, .timeDifference(.milliseconds(100), grace: .milliseconds(10)))
        try join.left.pipeInput(key: 0, value: "A0", timestamp: 0)
        try join.left.pipeInput(key: 0, value: "A0-0", timestamp: 0)
        try join.right.pipeInput(key: 1, value: "a0", timestamp: 110)
        #expect(try join.results() == [], "a partner may still come at stream time 110")
        try join.right.pipeInput(key: 1, value: "a0", timestamp: 111)
        try join.right.pipeInput(key: 2, value: "dummy", timestamp: 500)
        #expect(try join.results() == ["0:A0+null@0", "0:A0-0+null@0"])
        try join.left.pipeInput(key: 2, value: "A2", timestamp: 1000)
        try join.left.pipeInput(key: 2, value: "A2-0", timestamp: 1000)
        try join.right.pipeInput(key: 2, value: "a2", timestamp: 1001)
        #expect(try join.results() == ["2:A2+a2@1001", "2:A2-0+a2@1001"])
        try join.right.pipeInput(key: 3, value: "a3", timestamp: 315)
        #expect(try join.results() == [])
    }

    /// `testLeftExpiredNonJoinedRecordsAreEmittedByTheLeftProcessor` / `...ByTheRightProcessor`
    /// and `testRightNonJoinedRecordsAreNeverEmitted...`: either side's record that moves
    /// stream time sends the closed left records, in time order; a left join never sends
    /// an unmatched right record.
    @Test(arguments: [true, false])
    func eitherSideClosesHeldLeftRecords(leftCloses: Bool) throws {
        let join = try Fixture(.left, .timeDifference(.milliseconds(100), grace: .zero))
        try join.left.pipeInput(key: 0, value: "A0", timestamp: 1)
        try join.left.pipeInput(key: 1, value: "A1", timestamp: 2)
        try join.left.pipeInput(key: 0, value: "A0-0", timestamp: 3)
        try join.right.pipeInput(key: 5, value: "unmatched", timestamp: 3)
        #expect(try join.results() == [])
        try join.right.pipeInput(key: 1, value: "a1", timestamp: 3)
        #expect(try join.results() == ["1:A1+a1@3"])
        try (leftCloses ? join.left : join.right).pipeInput(key: 2, value: "dummy", timestamp: 401)
        #expect(try join.results() == ["0:A0+null@1", "0:A0-0+null@3"])
        try (leftCloses ? join.right : join.left).pipeInput(key: 2, value: "dummy", timestamp: 402)
        #expect(try join.results() == ["2:dummy+dummy@402"])
    }

    /// An outer join sends each side's unmatched records once their windows closed, in
    /// (time, side, key) order: at equal times right before left, as Kafka Streams' store
    /// orders them.
    @Test func outerJoinSendsBothSidesUnmatchedRecords() throws {
        let join = try Fixture(.outer, .timeDifference(.milliseconds(10), grace: .zero))
        try join.left.pipeInput(key: 0, value: "A0", timestamp: 5)
        try join.right.pipeInput(key: 1, value: "b1", timestamp: 5)
        try join.right.pipeInput(key: 0, value: "a0", timestamp: 12)
        #expect(try join.results() == ["0:A0+a0@12"])
        try join.left.pipeInput(key: 2, value: "C2", timestamp: 16)
        #expect(try join.results() == ["1:null+b1@5"])
        try join.left.pipeInput(key: 3, value: "D3", timestamp: 40)
        #expect(try join.results() == ["2:C2+null@16"])
    }

    /// A partner that arrives after a left record's window closed finds it sent already
    /// without one: no `joiner(l, r)` follows `joiner(l, nil)` (Kafka Streams would pair
    /// them while its store still holds the left record).
    @Test func aLatePartnerDoesNotPairWithARecordSentWithoutOne() throws {
        let join = try Fixture(.left, .timeDifference(.milliseconds(100), grace: .zero))
        try join.left.pipeInput(key: 0, value: "L", timestamp: 0)
        try join.right.pipeInput(key: 9, value: "clock", timestamp: 101)
        #expect(try join.results() == ["0:L+null@0"])
        try join.right.pipeInput(key: 0, value: "late", timestamp: 50)
        #expect(try join.results() == [])
        // A record that matched keeps pairing with late partners, as in Kafka Streams.
        try join.left.pipeInput(key: 1, value: "M", timestamp: 150)
        try join.right.pipeInput(key: 1, value: "m", timestamp: 150)
        try join.left.pipeInput(key: 9, value: "clock", timestamp: 300)
        try join.right.pipeInput(key: 1, value: "late-m", timestamp: 120)
        #expect(try join.results() == ["1:M+m@150", "1:M+late-m@150"])
    }

    /// A left record that arrives after its own window closed, with no partner, is sent at
    /// once: nothing could pair with it any more.
    @Test func aLateUnmatchedLeftRecordIsSentAtOnce() throws {
        let join = try Fixture(.left, .timeDifference(.milliseconds(10), grace: .zero))
        try join.right.pipeInput(key: 9, value: "clock", timestamp: 100)
        try join.left.pipeInput(key: 0, value: "L", timestamp: 50)
        #expect(try join.results() == ["0:L+null@50"])
        try join.right.pipeInput(key: 0, value: "partner", timestamp: 55)
        let got = try join.results()
        #expect(got == [], "\(got)")
    }
}
