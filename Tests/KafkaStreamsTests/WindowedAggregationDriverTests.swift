import Foundation
@testable import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Time-windowed aggregations through the test driver, with Kafka Streams' own scenarios
/// (`KStreamWindowAggregateTest`) and exact outputs: keys, windows, values and times.
@Suite struct WindowedAggregationDriverTests {
    /// Concatenates each window's values after "0", as Kafka Streams' test does.
    static func concatenation(
        _ windows: TimeWindows, emit: EmitStrategy = .onUpdate, materialized: Materialized = Materialized.as("windows").withCachingDisabled(),
        lateRecords: LateRecordHandling = .drop
    ) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("input", key: .string, value: .string)
            .groupByKey()
            .windowedBy(windows)
            .aggregate(materialized: materialized, emit: emit, lateRecords: lateRecords, value: .string, initializer: { "0" }) { _, value, aggregate in
                aggregate + "+" + value
            }
            .toStream()
            .to("output", key: .timeWindowed(.string, windowSize: .milliseconds(windows.size)), value: .optional(.string))
        return try builder.build()
    }

    struct Topics {
        let input: TestInputTopic<String, String>
        let output: TestOutputTopic<Windowed<String>, String?>

        init(_ driver: TopologyTestDriver, windowSize: Int64) {
            input = driver.createInputTopic("input", key: .string, value: .string)
            output = driver.createOutputTopic("output", key: .timeWindowed(.string, windowSize: .milliseconds(windowSize)), value: .optional(.string))
        }

        func pipe(_ records: [(String, String, Int64)]) throws {
            for (key, value, time) in records { try input.pipeInput(key: key, value: value, timestamp: time) }
        }

        /// `[key@start/end] value tTIME`, in output order.
        func read() throws -> [String] {
            try output.readRecordsToList().map { "\($0.key) \($0.value ?? "null") t\($0.timestamp)" }
        }
    }

    static let basicInput: [(String, String, Int64)] = [
        ("A", "1", 0), ("B", "2", 1), ("C", "3", 2), ("D", "4", 3), ("A", "1", 4),
        ("A", "1", 5), ("B", "2", 6), ("D", "4", 7), ("B", "2", 8), ("C", "3", 9),
        ("A", "1", 10), ("B", "2", 11), ("D", "4", 12), ("B", "2", 13), ("C", "3", 14),
    ]

    static let basicOutput = [
        "[A@0/10] 0+1 t0", "[B@0/10] 0+2 t1", "[C@0/10] 0+3 t2", "[D@0/10] 0+4 t3", "[A@0/10] 0+1+1 t4",
        "[A@0/10] 0+1+1+1 t5", "[A@5/15] 0+1 t5", "[B@0/10] 0+2+2 t6", "[B@5/15] 0+2 t6", "[D@0/10] 0+4+4 t7", "[D@5/15] 0+4 t7",
        "[B@0/10] 0+2+2+2 t8", "[B@5/15] 0+2+2 t8", "[C@0/10] 0+3+3 t9", "[C@5/15] 0+3 t9",
        "[A@5/15] 0+1+1 t10", "[A@10/20] 0+1 t10", "[B@5/15] 0+2+2+2 t11", "[B@10/20] 0+2 t11", "[D@5/15] 0+4+4 t12", "[D@10/20] 0+4 t12",
        "[B@5/15] 0+2+2+2+2 t13", "[B@10/20] 0+2+2 t13", "[C@5/15] 0+3+3 t14", "[C@10/20] 0+3 t14",
    ]

    /// testAggBasic's last records, out of order within the grace: B's earlier windows take
    /// them, keeping the largest record time they have seen.
    static let outOfOrderTail: [(String, String, Int64)] = [("B", "1", 3), ("B", "2", 2), ("B", "3", 9)]
    static let outOfOrderTailOutput = [
        "[B@0/10] 0+2+2+2+1 t8", "[B@0/10] 0+2+2+2+1+2 t8", "[B@0/10] 0+2+2+2+1+2+3 t9", "[B@5/15] 0+2+2+2+2+3 t13",
    ]

    @Test func hoppingWindowsAggregateEveryUpdate() throws {
        // KStreamWindowAggregateTest.testAggBasic: size 10, advance 5, grace 100.
        let windows = TimeWindows.hopping(size: .milliseconds(10), advance: .milliseconds(5), grace: .milliseconds(100))
        let driver = try TopologyTestDriver(Self.concatenation(windows))
        let topics = Topics(driver, windowSize: 10)
        try topics.pipe(Self.basicInput + Self.outOfOrderTail)
        #expect(try topics.read() == Self.basicOutput + Self.outOfOrderTailOutput)
    }

    @Test func theRecordCacheChangesNothingWhenTheDriverCommitsAfterEveryRecord() throws {
        let windows = TimeWindows.hopping(size: .milliseconds(10), advance: .milliseconds(5), grace: .milliseconds(100))
        let driver = try TopologyTestDriver(Self.concatenation(windows, materialized: .as("windows")))
        let topics = Topics(driver, windowSize: 10)
        try topics.pipe(Self.basicInput + Self.outOfOrderTail)
        #expect(try topics.read() == Self.basicOutput + Self.outOfOrderTailOutput)
    }

    /// Writes aggregates as UTF-8, but rejects one holding "x".
    struct RejectingStringSerde: Serde {
        struct Rejected: Error {}

        func serialize(_ value: String, into bytes: inout [UInt8]) throws {
            guard !value.contains("x") else { throw Rejected() }
            bytes += Array(value.utf8)
        }

        func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> String { String(decoding: bytes, as: UTF8.self) }
    }

    @Test func anAggregateItsSerdeRejectsFailsTheRecordThatMadeItInEveryWindow() throws {
        // Cached, so the updates are held above the record cache as aggregates: the serde
        // still judges each as it is made, and the record's windows are all left as they were.
        let builder = StreamsBuilder()
        builder.stream("input", key: .string, value: .string)
            .groupByKey()
            .windowedBy(.hopping(size: .milliseconds(10), advance: .milliseconds(5), grace: .milliseconds(100)))
            .aggregate(materialized: .as("windows"), value: AnySerde(RejectingStringSerde()), initializer: { "0" }) { _, value, aggregate in aggregate + "+" + value }
            .toStream()
            .to("output", key: .timeWindowed(.string, windowSize: .milliseconds(10)), value: .optional(.string))
        let driver = try TopologyTestDriver(builder.build(), errorHandlers: ErrorHandlers(processing: .continue))
        let topics = Topics(driver, windowSize: 10)
        try topics.pipe([("k", "a", 1), ("k", "x", 7), ("k", "b", 8)])
        #expect(try topics.read() == ["[k@0/10] 0+a t1", "[k@0/10] 0+a+b t8", "[k@5/15] 0+b t8"])
        #expect(driver.skippedRecordCount == 1)
    }

    @Test func aRecordLateForSomeHoppingWindowsStillUpdatesTheOthers() throws {
        // KStreamWindowAggregateTest.shouldLogAndMeterWhenSkippingExpiredWindow: size 10,
        // advance 5, grace 90; after time 100, windows ending at 10 or before are closed.
        let windows = TimeWindows.hopping(size: .milliseconds(10), advance: .milliseconds(5), grace: .milliseconds(90))
        let driver = try TopologyTestDriver(Self.concatenation(windows))
        let topics = Topics(driver, windowSize: 10)
        try topics.pipe([("k", "100", 100), ("k", "0", 0), ("k", "1", 1), ("k", "2", 2), ("k", "3", 3), ("k", "4", 4), ("k", "5", 5), ("k", "6", 6)])
        #expect(try topics.read() == ["[k@95/105] 0+100 t100", "[k@100/110] 0+100 t100", "[k@5/15] 0+5 t5", "[k@5/15] 0+5+6 t6"])
    }

    @Test func tumblingWindowsCloseExactlyAtEndPlusGrace() throws {
        let windows = TimeWindows.tumbling(size: .milliseconds(10), grace: .milliseconds(5))
        let driver = try TopologyTestDriver(Self.concatenation(windows))
        let topics = Topics(driver, windowSize: 10)
        // Stream time 14: [0,10) closes at 15, so a record at 9 still counts.
        try topics.pipe([("k", "a", 1), ("k", "b", 14), ("k", "c", 9)])
        // Stream time 15: now [0,10) is closed; a record at 9 is late, one at 10 is not.
        try topics.pipe([("k", "d", 15), ("k", "e", 9), ("k", "f", 10)])
        #expect(try topics.read() == [
            "[k@0/10] 0+a t1", "[k@10/20] 0+b t14", "[k@0/10] 0+a+c t9", "[k@10/20] 0+b+d t15", "[k@10/20] 0+b+d+f t15",
        ])
    }

    @Test func emitOnWindowCloseSendsEachWindowOnceInStartThenKeyOrder() throws {
        let windows = TimeWindows.tumbling(size: .milliseconds(10), grace: .milliseconds(5))
        let driver = try TopologyTestDriver(Self.concatenation(windows, emit: .onWindowClose, materialized: .as("windows")))
        let topics = Topics(driver, windowSize: 10)
        try topics.pipe([("B", "1", 4), ("A", "2", 1), ("A", "3", 3), ("A", "4", 12), ("A", "5", 14)])
        #expect(try topics.read().isEmpty, "no window has closed: stream time 14 < 10 + 5")
        try topics.pipe([("C", "6", 15)])
        #expect(try topics.read() == ["[A@0/10] 0+2+3 t3", "[B@0/10] 0+1 t4"])
        // Late for [0,10): dropped, and nothing is emitted twice.
        try topics.pipe([("B", "7", 9), ("C", "8", 16)])
        #expect(try topics.read().isEmpty)
        // A jump of stream time closes several windows at once, none skipped.
        try topics.pipe([("D", "9", 100)])
        #expect(try topics.read() == ["[A@10/20] 0+4+5 t14", "[C@10/20] 0+6+8 t16"])
    }

    @Test func lateRecordsGoToTheLateRecordTopicWithWhyInHeaders() throws {
        let windows = TimeWindows.tumbling(size: .milliseconds(10), grace: .milliseconds(5))
        let driver = try TopologyTestDriver(Self.concatenation(windows, lateRecords: .deadLetter(topic: "late")))
        let topics = Topics(driver, windowSize: 10)
        try topics.pipe([("k", "a", 30), ("k", "late", 12)])
        let late = try driver.createOutputTopic("late", key: .string, value: .string).readRecordsToList()
        #expect(late.map(\.value) == ["late"])
        #expect(late.first?.key == "k")
        #expect(late.first?.timestamp == 12)
        func header(_ name: String) -> String? {
            late.first?.headers.first { $0.key == name }?.value.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(header(LateRecordHeaders.windowStart) == "10")
        #expect(header(LateRecordHeaders.windowEnd) == "20")
        #expect(header(LateRecordHeaders.streamTime) == "30")
        #expect(header(LateRecordHeaders.lateness) == "5")
        #expect(try topics.read() == ["[k@30/40] 0+a t30"])
    }

    @Test func countAndReduceKeyTheirTablesByWindow() throws {
        let builder = StreamsBuilder()
        let grouped = builder.stream("input", key: .string, value: .int64).groupByKey()
        let windows = TimeWindows.tumbling(size: .seconds(60), grace: .seconds(10))
        grouped.windowedBy(windows).count(materialized: .as("counts")).toStream()
            .to("counts", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
        grouped.windowedBy(windows).reduce(materialized: .as("sums")) { $0 + $1 }.toStream()
            .to("sums", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build())
        let input = driver.createInputTopic("input", key: .string, value: .int64)
        for (value, time) in [(Int64(5), Int64(1_000)), (7, 59_999), (1, 60_000)] { try input.pipeInput(key: "tea", value: value, timestamp: time) }
        let counts = driver.createOutputTopic("counts", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
        #expect(try counts.readRecordsToList().map { "\($0.key)=\($0.value ?? -1)" } == ["[tea@0/60000]=1", "[tea@0/60000]=2", "[tea@60000/120000]=1"])
        let sums = driver.createOutputTopic("sums", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
        #expect(try sums.readRecordsToList().map { $0.value ?? -1 } == [5, 12, 1])
    }

    @Test func theWindowStoreAnswersQueriesByKeyAndTimeRange() throws {
        let windows = TimeWindows.hopping(size: .milliseconds(10), advance: .milliseconds(5), grace: .milliseconds(100))
        let driver = try TopologyTestDriver(Self.concatenation(windows))
        try Topics(driver, windowSize: 10).pipe(Self.basicInput)
        let store = try driver.windowStore(named: "windows", key: String.self, value: String.self)
        #expect(try store.fetch("A", windowStart: 5) == "0+1+1")
        #expect(try store.fetch("A", windowStart: 7) == nil)
        #expect(try store.fetch("B", from: 0, to: 10).map { "\($0.window)=\($0.value)" } == ["0/10=0+2+2+2", "5/15=0+2+2+2+2", "10/20=0+2+2"])
        #expect(try store.fetch("B", from: 1, to: 9).map(\.window) == [Window(start: 5, end: 15)])
        #expect(try store.fetch("B", from: -100, to: 0).map(\.window) == [Window(start: 0, end: 10)])
        #expect(try store.fetchAll(from: 10, to: 10).map { "\($0.key)=\($0.value)" } == [
            "[A@10/20]=0+1", "[B@10/20]=0+2+2", "[C@10/20]=0+3", "[D@10/20]=0+4",
        ])
        #expect(throws: TestDriverError.self) { _ = try driver.windowStore(named: "windows", key: String.self, value: Int64.self) }
    }

    @Test func expiredSegmentsLeaveTheStoreWholeWithoutChangelogRecords() throws {
        // Segments of a minute (the shortest); a window expires with its whole segment.
        let windows = TimeWindows.tumbling(size: .milliseconds(10), grace: .zero)
        for materialized in [Materialized.as("windows").withCachingDisabled(), Materialized.as("windows"), Materialized.as("windows", kind: .inMemory)] {
            let driver = try TopologyTestDriver(Self.concatenation(windows, materialized: materialized), applicationID: "expiry")
            let topics = Topics(driver, windowSize: 10)
            try topics.pipe([("k", "old", 1), ("j", "old", 30_000), ("k", "new", 200_000)])
            let store = try driver.windowStore(named: "windows", key: String.self, value: String.self)
            // The first segment ([0, 60 s)) went when stream time passed 60 s + retention.
            #expect(try store.fetchAll(from: 0, to: 300_000).map { "\($0.key.key)@\($0.key.window.start)=\($0.value)" } == ["k@200000=0+new"])
            // The changelog holds each window's writes and no deletion: its topic's
            // retention drops the records of expired segments.
            let changelog = try driver.createOutputTopic("expiry-windows-changelog", key: .bytes, value: .optional(.bytes)).readRecordsToList()
            #expect(!changelog.isEmpty && changelog.allSatisfy { $0.value != nil })
            let oldWindow: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0] + Array("k".utf8) + [0, 0, 0, 0, 0, 0, 0, 0]
            #expect(changelog.contains { $0.key == oldWindow })
            driver.close()
        }
    }

    @Test func windowedChangelogsAreKeptByTimeADayLongerThanTheStore() throws {
        let builder = StreamsBuilder()
        builder.stream("input", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(5))).count(materialized: .as("counts"), retention: .seconds(600))
        builder.stream("other", key: .string, value: .string).groupByKey()
            .windowedBy(.session(gap: .seconds(30), grace: .zero))
            .count(materialized: Materialized(storeName: "sessions", changelogConfig: ["retention.ms": "1"]))
        let stores = try builder.build().stores
        let counts = try #require(stores["counts"]?.changelogConfig)
        #expect(counts["cleanup.policy"] == "compact,delete")
        #expect(counts["retention.ms"] == String(600_000 + 86_400_000))
        // The user's settings win.
        #expect(stores["sessions"]?.changelogConfig["retention.ms"] == "1")
        #expect(stores["sessions"]?.changelogConfig["cleanup.policy"] == "compact,delete")
    }

    @Test func invalidWindowsAndShortRetentionFailTheBuild() {
        let builder = StreamsBuilder()
        builder.stream("input", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(10), grace: .seconds(5))).count(retention: .seconds(14))
        let error = #expect(throws: StreamsError.self) { try builder.build() }
        #expect(error?.kind == .topology)
        #expect(error?.message.contains("shorter than the windows' size plus grace (15000 ms)") == true)
        let invalid = StreamsBuilder()
        invalid.stream("input", key: .string, value: .string).groupByKey()
            .windowedBy(.hopping(size: .seconds(10), advance: .seconds(20), grace: .zero)).count()
        #expect(throws: StreamsError.self) { try invalid.build() }
    }
}
