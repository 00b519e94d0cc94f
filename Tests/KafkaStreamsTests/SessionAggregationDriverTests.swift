import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Session aggregations through the test driver, with Kafka Streams' scenarios
/// (`KStreamSessionWindowAggregateProcessorTest`) and exact outputs: merges delete the old
/// sessions, then send the merged one, at the session's end time.
@Suite struct SessionAggregationDriverTests {
    static func sessionCount(
        _ windows: SessionWindows, emit: EmitStrategy = .onUpdate, materialized: Materialized = Materialized.as("sessions").withCachingDisabled(),
        lateRecords: LateRecordHandling = .drop
    ) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("input", key: .string, value: .string)
            .groupByKey()
            .windowedBy(windows)
            .count(materialized: materialized, emit: emit, lateRecords: lateRecords)
            .toStream()
            .to("output", key: .sessionWindowed(.string), value: .optional(.int64))
        return try builder.build()
    }

    struct Topics {
        let input: TestInputTopic<String, String>
        let output: TestOutputTopic<Windowed<String>, Int64?>

        init(_ driver: TopologyTestDriver) {
            input = driver.createInputTopic("input", key: .string, value: .string)
            output = driver.createOutputTopic("output", key: .sessionWindowed(.string), value: .optional(.int64))
        }

        func pipe(_ records: [(String, Int64)]) throws {
            for (key, time) in records { try input.pipeInput(key: key, value: "v", timestamp: time) }
        }

        /// `[key@start/end] count tTIME` (`null` for a deleted session), in output order.
        func read() throws -> [String] {
            try output.readRecordsToList().map { "\($0.key) \($0.value.map(String.init) ?? "null") t\($0.timestamp)" }
        }
    }

    @Test func sessionsOfSeveralKeysMergeWithinTheGap() throws {
        // KStreamSessionWindowAggregateProcessorTest.shouldHandleMultipleSessionsAndMerging,
        // with a gap of 50.
        let driver = try TopologyTestDriver(Self.sessionCount(.session(gap: .milliseconds(50), grace: .seconds(1))))
        let topics = Topics(driver)
        try topics.pipe([("a", 0), ("b", 0), ("c", 0), ("d", 0), ("d", 25), ("a", 51), ("b", 51), ("a", 76), ("c", 76)])
        let output = try topics.read()
        #expect(output == [
            "[a@0/0] 1 t0", "[b@0/0] 1 t0", "[c@0/0] 1 t0", "[d@0/0] 1 t0",
            "[d@0/0] null t0", "[d@0/25] 2 t25",
            "[a@51/51] 1 t51", "[b@51/51] 1 t51",
            "[a@51/51] null t51", "[a@51/76] 2 t76",
            "[c@76/76] 1 t76",
        ])
    }

    @Test func aRecordBetweenTwoSessionsMergesThemIntoOne() throws {
        let driver = try TopologyTestDriver(Self.sessionCount(.session(gap: .milliseconds(50), grace: .seconds(1))))
        let topics = Topics(driver)
        try topics.pipe([("k", 0), ("k", 100), ("j", 300)])
        let store = try driver.sessionStore(named: "sessions", key: String.self, value: Int64.self)
        #expect(try store.sessions(of: "k").map { "\($0.window)=\($0.value)" } == ["0/0=1", "100/100=1"])
        try topics.pipe([("k", 50)])
        #expect(try topics.read() == [
            "[k@0/0] 1 t0", "[k@100/100] 1 t100", "[j@300/300] 1 t300", "[k@0/0] null t0", "[k@100/100] null t100", "[k@0/100] 3 t100",
        ])
        #expect(try store.sessions(of: "k").map { "\($0.window)=\($0.value)" } == ["0/100=3"])
        #expect(try store.findSessions("k", earliestEnd: 101, latestStart: .max).isEmpty)
        #expect(try store.sessions(of: "j").map(\.value) == [1])
    }

    @Test func aClosedSessionIsNeverReopenedAndAnOpenOneAlwaysMerges() throws {
        // Gap 10, grace 5: at stream time 100 a session closes once it ends before 85.
        let driver = try TopologyTestDriver(Self.sessionCount(.session(gap: .milliseconds(10), grace: .milliseconds(5))))
        let topics = Topics(driver)
        try topics.pipe([("k", 0), ("k", 100)])
        // 20 is late; 90 and 86 join the open session [100, 100]; 5 would join only [0, 0],
        // which is closed: late.
        try topics.pipe([("k", 20), ("k", 90), ("k", 86), ("k", 5)])
        #expect(try topics.read() == [
            "[k@0/0] 1 t0", "[k@100/100] 1 t100",
            "[k@100/100] null t100", "[k@90/100] 2 t100",
            "[k@90/100] null t100", "[k@86/100] 3 t100",
        ])
    }

    @Test func emitOnWindowCloseSendsEachSessionOnceInEndThenStartOrder() throws {
        let driver = try TopologyTestDriver(Self.sessionCount(.session(gap: .milliseconds(10), grace: .zero), emit: .onWindowClose, materialized: .as("sessions")))
        let topics = Topics(driver)
        try topics.pipe([("a", 0), ("a", 5), ("b", 3)])
        #expect(try topics.read().isEmpty)
        // Stream time 20: sessions ending before 10 are closed.
        try topics.pipe([("a", 20)])
        let closed = try topics.read()
        #expect(closed == ["[b@3/3] 1 t3", "[a@0/5] 2 t5"])
        try topics.pipe([("b", 25)])
        #expect(try topics.read().isEmpty)
        try topics.pipe([("b", 40)])
        let later = try topics.read()
        #expect(later == ["[a@20/20] 1 t20", "[b@25/25] 1 t25"])
    }

    @Test func reduceAndAggregateCombineMergedSessionsWithTheirMerger() throws {
        let builder = StreamsBuilder()
        let grouped = builder.stream("input", key: .string, value: .int64).groupByKey()
        let windows = SessionWindows.session(gap: .milliseconds(50), grace: .seconds(1))
        grouped.windowedBy(windows).reduce(materialized: Materialized.as("sums").withCachingDisabled()) { $0 + $1 }.toStream()
            .to("sums", key: .sessionWindowed(.string), value: .optional(.int64))
        grouped.windowedBy(windows)
            .aggregate(materialized: Materialized.as("spans").withCachingDisabled(), value: .string, initializer: { "" }) { _, value, aggregate in
                aggregate + "\(value);"
            } merger: { _, first, second in first + second }
            .toStream()
            .to("spans", key: .sessionWindowed(.string), value: .optional(.string))
        let driver = try TopologyTestDriver(try builder.build())
        let input = driver.createInputTopic("input", key: .string, value: .int64)
        for (value, time) in [(Int64(1), Int64(0)), (2, 100), (4, 50)] { try input.pipeInput(key: "k", value: value, timestamp: time) }
        let sums = try driver.createOutputTopic("sums", key: .sessionWindowed(.string), value: .optional(.int64)).readRecordsToList()
        #expect(sums.map { $0.value ?? -1 } == [1, 2, -1, -1, 7])
        let spans = try driver.createOutputTopic("spans", key: .sessionWindowed(.string), value: .optional(.string)).readRecordsToList()
        #expect(spans.last.map { "\($0.key) \($0.value ?? "")" } == "[k@0/100] 1;2;4;")
    }

    @Test func anAggregateItsSerdeRejectsFailsTheRecordThatMadeIt() throws {
        // Cached, so the session grows held above the record cache: the serde still judges
        // each aggregate as it is made, and the rejected record leaves the session as it was.
        let builder = StreamsBuilder()
        builder.stream("input", key: .string, value: .string)
            .groupByKey()
            .windowedBy(.session(gap: .milliseconds(50), grace: .seconds(1)))
            .aggregate(materialized: .as("spans"), value: AnySerde(WindowedAggregationDriverTests.RejectingStringSerde()), initializer: { "" }) {
                _, value, aggregate in aggregate + value + ";"
            } merger: { _, first, second in first + second }
            .toStream()
            .to("output", key: .sessionWindowed(.string), value: .optional(.string))
        let driver = try TopologyTestDriver(builder.build(), errorHandlers: ErrorHandlers(processing: .continue))
        let input = driver.createInputTopic("input", key: .string, value: .string)
        for (value, time) in [("a", Int64(0)), ("x", 5), ("b", 8)] { try input.pipeInput(key: "k", value: value, timestamp: time) }
        let output = try driver.createOutputTopic("output", key: .sessionWindowed(.string), value: .optional(.string)).readRecordsToList()
        #expect(output.map { "\($0.key) \($0.value ?? "null") t\($0.timestamp)" } == ["[k@0/0] a; t0", "[k@0/0] null t0", "[k@0/8] a;b; t8"])
        #expect(driver.skippedRecordCount == 1)
    }

    @Test func lateRecordsOfSessionsGoToTheLateRecordTopic() throws {
        let driver = try TopologyTestDriver(
            Self.sessionCount(.session(gap: .milliseconds(10), grace: .milliseconds(5)), lateRecords: .deadLetter(topic: "late-sessions")))
        let topics = Topics(driver)
        try topics.pipe([("k", 100), ("k", 20)])
        let late = try driver.createOutputTopic("late-sessions", key: .string, value: .string).readRecordsToList()
        #expect(late.map(\.timestamp) == [20])
        #expect(late.first?.headers.first { $0.key == LateRecordHeaders.lateness }?.value.map { String(decoding: $0, as: UTF8.self) } == "65")
    }

    @Test func shortRetentionFailsTheBuild() {
        let builder = StreamsBuilder()
        builder.stream("input", key: .string, value: .string).groupByKey()
            .windowedBy(.session(gap: .seconds(30), grace: .seconds(5))).count(retention: .seconds(30))
        let error = #expect(throws: StreamsError.self) { try builder.build() }
        #expect(error?.message.contains("shorter than the gap plus grace (35000 ms)") == true)
    }
}
