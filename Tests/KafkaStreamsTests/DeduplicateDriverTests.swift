import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Bounded deduplication: a repeat within the interval (before or after the kept record,
/// in event time) is dropped; one further away is new again; null ids pass; the store
/// forgets ids once stream time has moved twice the interval past them.
@Suite struct DeduplicateDriverTests {
    final class Fixture {
        let driver: TopologyTestDriver
        let input: TestInputTopic<String?, String>
        let output: TestOutputTopic<String?, String>

        /// Deduplicated by key, or by the value's part before ":" (nil when it has none).
        init(byValueID: Bool = false, within: Duration = .seconds(10)) throws {
            let builder = StreamsBuilder()
            let stream = builder.stream("events", key: .optional(.string), value: .string)
            let deduplicated = byValueID
                ? stream.deduplicate(within: within, id: .string, materialized: .as("seen")) { _, value in
                    value.split(separator: ":").count == 2 ? String(value.split(separator: ":")[0]) : nil
                }
                : stream.deduplicate(within: within, materialized: .as("seen"))
            deduplicated.to("unique", key: .optional(.string), value: .string)
            driver = try TopologyTestDriver(try builder.build())
            input = driver.createInputTopic("events", key: .optional(.string), value: .string)
            output = driver.createOutputTopic("unique", key: .optional(.string), value: .string)
        }

        deinit { driver.close() }

        func send(_ key: String?, _ value: String, at seconds: Int64) throws {
            try input.pipeInput(key: key, value: value, timestamp: seconds * 1000)
        }

        func results() throws -> [String] {
            try output.readRecordsToList().map { "\($0.key ?? "null")=\($0.value)@\($0.timestamp / 1000)" }
        }
    }

    @Test func repeatsWithinTheIntervalAreDroppedAndLaterOnesAreNew() throws {
        let fixture = try Fixture()
        try fixture.send("a", "a1", at: 100)
        try fixture.send("b", "b1", at: 101)
        try fixture.send("a", "a2", at: 105)  // 5 s after a1: a repeat
        try fixture.send("a", "a3", at: 110)  // exactly 10 s after a1: a repeat
        try fixture.send("a", "a4", at: 111)  // 11 s after a1: new
        try fixture.send("b", "b2", at: 95)   // 6 s before b1 (out of order): a repeat
        try fixture.send("c", "c1", at: 90)   // new, 21 s behind stream time but within its reach
        try fixture.send(nil, "n1", at: 112)
        try fixture.send(nil, "n2", at: 112)  // null keys are never repeats
        #expect(try fixture.results() == ["a=a1@100", "b=b1@101", "a=a4@111", "c=c1@90", "null=n1@112", "null=n2@112"])
    }

    @Test func aRecordIsARepeatOfTheOneKeptNotOfTheOnesDropped() throws {
        // a at 0, 8, 16: the one at 16 is 16 s from the kept one (0), so new, although
        // only 8 s from the dropped one.
        let fixture = try Fixture()
        for time: Int64 in [0, 8, 16, 24] { try fixture.send("a", "a@\(time)", at: time) }
        #expect(try fixture.results() == ["a=a@0@0", "a=a@16@16"])
    }

    @Test func idsComeFromTheValueWhenASelectorSaysSo() throws {
        let fixture = try Fixture(byValueID: true)
        try fixture.send("k1", "e1:payload", at: 0)
        try fixture.send("k2", "e1:payload again", at: 3)  // same event id, other key: a repeat
        try fixture.send("k1", "e2:payload", at: 4)
        try fixture.send("k1", "no id", at: 4)
        try fixture.send("k1", "no id", at: 4)  // no id: passed on
        #expect(try fixture.results() == ["k1=e1:payload@0", "k1=e2:payload@4", "k1=no id@4", "k1=no id@4"])
    }

    @Test func theStoreForgetsIdsTwoIntervalsBehindStreamTime() throws {
        let fixture = try Fixture()
        try fixture.send("a", "a1", at: 0)
        try fixture.send("z", "z1", at: 200)  // stream time 200: a's segment (0) expires
        let seen = try fixture.driver.windowStore(named: "seen", key: String?.self, value: Int64.self)
        #expect(try seen.fetch("a", from: 0, to: 1_000_000).isEmpty)
        #expect(try seen.fetch("z", from: 0, to: 1_000_000).map(\.value) == [200_000])
        // A record that late is checked against what is kept (nothing for a) and passes.
        try fixture.send("a", "a2", at: 5)
        #expect(try fixture.results() == ["a=a1@0", "z=z1@200", "a=a2@5"])
    }

    @Test func aNonPositiveIntervalIsATopologyError() throws {
        let builder = StreamsBuilder()
        builder.stream("events", key: .string, value: .string).deduplicate(within: .zero).to("unique", key: .string, value: .string)
        #expect(throws: StreamsError.self) { try builder.build() }
    }
}
