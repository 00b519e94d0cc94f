import KafkaStreams
import KafkaStreamsTesting
import Testing

/// The end of the input (`TopologyTestDriver.finishInput()`, and a bounded run with
/// `closesWindowsAtEnd`): every window not emitted yet gives its final result once, every
/// record an outer join holds goes out without a partner, upstream sub-topologies first;
/// the operator's stream time moves just past what it closed, so a later record for a
/// closed window is late and a later window opens as usual.
@Suite struct FinishInputDriverTests {
    static func describe(_ record: TestRecord<Windowed<String>, Int64?>) -> String {
        "\(record.key.key)@\(record.key.window.start)/\(record.key.window.end)=\(record.value.map { "\($0)" } ?? "null") t\(record.timestamp)"
    }

    static func tumblingCount(emit: EmitStrategy, lateRecords: LateRecordHandling = .drop) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(10)))
            .count(materialized: Materialized.as("per-minute").withCachingDisabled(), emit: emit, lateRecords: lateRecords)
            .toStream()
            .to("per-minute", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
        return try builder.build()
    }

    @Test func theOpenWindowsOfAnEmitFinalCountCloseOnceAtTheEnd() throws {
        let driver = try TopologyTestDriver(Self.tumblingCount(emit: .onWindowClose, lateRecords: .deadLetter(topic: "late-clicks")))
        defer { driver.close() }
        let clicks = driver.createInputTopic("clicks", key: StringSerde(), value: StringSerde())
        let output = driver.createOutputTopic("per-minute", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
        for (user, time) in [("a", 1_000), ("b", 30_000), ("a", 61_000), ("a", 75_000), ("b", 125_000)] {
            try clicks.pipeInput(key: user, value: "click", timestamp: Int64(time))
        }
        // Stream time 125,000 closed the first minute only (60,000 + 10,000 grace).
        #expect(try output.readRecordsToList().map(Self.describe) == ["a@0/60000=1 t1000", "b@0/60000=1 t30000"])

        try driver.finishInput()
        #expect(try output.readRecordsToList().map(Self.describe) == ["a@60000/120000=2 t75000", "b@120000/180000=1 t125000"])
        // Nothing twice.
        try driver.finishInput()
        #expect(try output.readRecordsToList().isEmpty)

        // The operator's stream time is now 190,000 (the last window's end plus the grace):
        // a record for a closed window is late, a later window opens as usual.
        try clicks.pipeInput(key: "a", value: "click", timestamp: 179_000)
        try clicks.pipeInput(key: "a", value: "click", timestamp: 200_000)
        let late = driver.createOutputTopic("late-clicks", key: StringSerde(), value: StringSerde())
        #expect(try late.readRecordsToList().map(\.timestamp) == [179_000])
        try driver.finishInput()
        #expect(try output.readRecordsToList().map(Self.describe) == ["a@180000/240000=1 t200000"])
    }

    @Test func anOnUpdateCountHasNothingMoreToSay() throws {
        let driver = try TopologyTestDriver(Self.tumblingCount(emit: .onUpdate))
        defer { driver.close() }
        let clicks = driver.createInputTopic("clicks", key: StringSerde(), value: StringSerde())
        let output = driver.createOutputTopic("per-minute", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
        try clicks.pipeInput(key: "a", value: "click", timestamp: 1_000)
        #expect(try output.readRecordsToList().count == 1)
        try driver.finishInput()
        #expect(try output.readRecordsToList().isEmpty)
    }

    @Test func openSessionsCloseAtTheEnd() throws {
        let driver = try TopologyTestDriver(
            SessionAggregationDriverTests.sessionCount(.session(gap: .seconds(30), grace: .seconds(5)), emit: .onWindowClose))
        defer { driver.close() }
        let topics = SessionAggregationDriverTests.Topics(driver)
        try topics.pipe([("a", 0), ("a", 20_000), ("b", 40_000), ("a", 100_000)])
        // A session closes once stream time passes its end + 30 s gap + 5 s grace: at
        // 100,000 those ending at 20,000 and 40,000 have.
        #expect(try topics.read() == ["[a@0/20000] 2 t20000", "[b@40000/40000] 1 t40000"])
        try driver.finishInput()
        #expect(try topics.read() == ["[a@100000/100000] 1 t100000"])
        // Stream time is now 135,001 (that session's end + gap + grace + 1): a record that
        // would have joined it is late; a later one starts a session of its own.
        try topics.pipe([("a", 90_000), ("a", 120_000)])
        try driver.finishInput()
        #expect(try topics.read() == ["[a@120000/120000] 1 t120000"])
    }

    @Test func openSlidingWindowsCloseAtTheEnd() throws {
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string).groupByKey()
            .windowedBy(.sliding(difference: .seconds(10), grace: .seconds(1)))
            .count(materialized: Materialized.as("sliding").withCachingDisabled(), emit: .onWindowClose)
            .toStream()
            .to("sliding", key: .timeWindowed(.string, windowSize: .seconds(10)), value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let clicks = driver.createInputTopic("clicks", key: StringSerde(), value: StringSerde())
        let output = driver.createOutputTopic("sliding", key: .timeWindowed(.string, windowSize: .seconds(10)), value: .optional(.int64))
        try clicks.pipeInput(key: "a", value: "click", timestamp: 10_000)
        try clicks.pipeInput(key: "a", value: "click", timestamp: 15_000)
        // Stream time 15,000 closed the window ending at 10,000 (its grace is 1 s).
        #expect(try output.readRecordsToList().map(Self.describe) == ["a@0/10000=1 t10000"])
        try driver.finishInput()
        // The window ending at the second record, and the one starting just after the
        // first (Kafka Streams' sliding windows), each once.
        #expect(try output.readRecordsToList().map(Self.describe) == ["a@5000/15000=2 t15000", "a@10001/20001=1 t15000"])
    }

    @Test func anOuterJoinSendsWhatItHoldsAtTheEnd() throws {
        let fixture = try StreamStreamJoinDriverTests.Fixture(.outer, JoinWindows.timeDifference(.milliseconds(100), grace: .milliseconds(10)))
        #expect(try fixture.pipe(fixture.left, "A", keys: [0, 1], time: { _ in 1_000 }).isEmpty)
        #expect(try fixture.pipe(fixture.right, "a", keys: [0], time: { _ in 1_050 }) == ["0:A0+a0@1050"])
        // A1 waits for a partner until stream time passes 1,000 + 100 + 10: the input ends first.
        try fixture.driver.finishInput()
        #expect(try fixture.results() == ["1:A1+null@1000"])
        try fixture.driver.finishInput()
        #expect(try fixture.results().isEmpty)
    }

    /// Per-minute counts, re-keyed by hour through a repartition topic into an hourly sum:
    /// the minutes close first, their finals reach the hours, and the hours close after.
    @Test func chainedWindowsCloseUpstreamFirst() throws {
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .zero))
            .count(materialized: Materialized.as("minutes").withCachingDisabled(), emit: .onWindowClose)
            .toStream()
            .filter { _, count in count != nil }
            .map { minute, count in (minute.key, count!) }
            .groupByKey(key: .string, value: .int64)
            .windowedBy(.tumbling(size: .seconds(3_600), grace: .zero))
            .reduce(materialized: Materialized.as("hours").withCachingDisabled(), emit: .onWindowClose) { $0 + $1 }
            .toStream()
            .to("per-hour", key: .timeWindowed(.string, windowSize: .seconds(3_600)), value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let clicks = driver.createInputTopic("clicks", key: StringSerde(), value: StringSerde())
        let output = driver.createOutputTopic("per-hour", key: .timeWindowed(.string, windowSize: .seconds(3_600)), value: .optional(.int64))
        for time in [1_000, 2_000, 61_000, 3_500_000] { try clicks.pipeInput(key: "a", value: "click", timestamp: Int64(time)) }
        #expect(try output.readRecordsToList().isEmpty)
        try driver.finishInput()
        // Minutes 0 (2 clicks), 1 (1) and 58 (1) reach the first hour before it closes.
        #expect(try output.readRecordsToList().map(Self.describe) == ["a@0/3600000=4 t3500000"])
    }
}
