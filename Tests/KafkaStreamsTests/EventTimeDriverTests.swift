import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Event time without a broker: which record a task reading two topics processes next,
/// stream time, idling, timestamp extractors and invalid timestamps.
@Suite struct EventTimeDriverTests {
    /// Tags each value with the task's stream time when it was processed.
    final class TagWithStreamTime: Processor {
        let context: ProcessorContext<String?, String>
        init(context: ProcessorContext<String?, String>) { self.context = context }
        func process(_ record: Record<String?, String>) throws {
            try context.forward(record.withValue("\(record.value)@\(context.streamTime)"))
        }
    }

    /// "left" and "right" merged (two sources, one task), tagged with stream time.
    static func merge() throws -> Topology {
        let builder = StreamsBuilder()
        let left = builder.stream("left", key: .optional(.string), value: .string)
        let right = builder.stream("right", key: .optional(.string), value: .string)
        left.merge(right).process { TagWithStreamTime(context: $0) }.to("merged", key: .optional(.string), value: .string)
        return try builder.build()
    }

    struct Topics {
        let left: TestInputTopic<String?, String>
        let right: TestInputTopic<String?, String>
        let merged: TestOutputTopic<String?, String>

        init(_ driver: TopologyTestDriver) {
            left = driver.createInputTopic("left", key: .optional(.string), value: .string)
            right = driver.createInputTopic("right", key: .optional(.string), value: .string)
            merged = driver.createOutputTopic("merged", key: .optional(.string), value: .string)
        }

        func pipe(_ topic: TestInputTopic<String?, String>, _ value: String, at timestamp: Int64) throws {
            try topic.pipeInput(key: nil, value: value, timestamp: timestamp)
        }

        /// Values with their output timestamps.
        func read() throws -> [String] { try merged.readRecordsToList().map { "\($0.value) t=\($0.timestamp)" } }
    }

    @Test func recordsOfTwoTopicsAreProcessedInEventTimeOrderOnceBothHaveData() throws {
        let driver = try TopologyTestDriver(Self.merge(), maxTaskIdle: .seconds(60))
        let topics = Topics(driver)
        // Out of order within "left" (offset order is kept) and across the topics.
        try topics.pipe(topics.left, "a", at: 10)
        try topics.pipe(topics.left, "b", at: 30)
        try topics.pipe(topics.left, "c", at: 20)
        #expect(try topics.read().isEmpty, "\"right\" has nothing yet: the task waits")
        #expect(driver.queuedRecordCount == 3)
        try topics.pipe(topics.right, "x", at: 25)
        // Heads 10 (left) and 25 (right): a; then 30 vs 25: x; then "right" is empty again.
        #expect(try topics.read() == ["a@10 t=10", "x@25 t=25"])
        try topics.pipe(topics.right, "y", at: 40)
        // 30 vs 40: b; then c (20, the next in left's offset order), late behind stream time 30.
        #expect(try topics.read() == ["b@30 t=30", "c@30 t=20"])
        #expect(driver.queuedRecordCount == 1)
        try topics.pipe(topics.left, "d", at: 40)
        // A tie goes to the first input (left), in the order the sources were merged.
        #expect(try topics.read() == ["d@40 t=40"])
        try topics.pipe(topics.left, "e", at: 50)
        #expect(try topics.read() == ["y@40 t=40"])
    }

    @Test func anEmptyInputIsWaitedForUpToMaxTaskIdleThenProcessingIsEnforced() throws {
        let driver = try TopologyTestDriver(Self.merge(), maxTaskIdle: .seconds(5))
        let topics = Topics(driver)
        try topics.pipe(topics.left, "a", at: 100)
        try topics.pipe(topics.left, "b", at: 200)
        try driver.advanceWallClockTime(by: .milliseconds(4_999))
        #expect(try topics.read().isEmpty)
        try driver.advanceWallClockTime(by: .milliseconds(1))
        #expect(try topics.read() == ["a@100 t=100", "b@200 t=200"])
        // "right" had its wait and brought nothing since: it holds nothing back any more.
        try topics.pipe(topics.left, "c", at: 300)
        #expect(try topics.read() == ["c@300 t=300"])
        // Now "left" is the empty one, and its own wait starts.
        try topics.pipe(topics.right, "x", at: 150)
        #expect(try topics.read().isEmpty)
        #expect(driver.queuedRecordCount == 1)
        try driver.advanceWallClockTime(by: .seconds(5))
        #expect(try topics.read() == ["x@300 t=150"])
    }

    @Test func withNoIdleTimeEachRecordIsProcessedAsPiped() throws {
        // Kafka Streams' default (max.task.idle.ms 0): everything piped counts as fetched.
        let driver = try TopologyTestDriver(Self.merge())
        let topics = Topics(driver)
        try topics.pipe(topics.left, "a", at: 50)
        try topics.pipe(topics.right, "x", at: 10)
        try topics.pipe(topics.left, "b", at: 30)
        #expect(try topics.read() == ["a@50 t=50", "x@50 t=10", "b@50 t=30"])
    }

    @Test func streamTimeOfASingleInputNeverGoesBack() throws {
        let builder = StreamsBuilder()
        builder.stream("left", key: .optional(.string), value: .string).process { TagWithStreamTime(context: $0) }.to("merged", key: .optional(.string), value: .string)
        let driver = try TopologyTestDriver(try builder.build())
        let topics = Topics(driver)
        for (value, time) in [("a", 5), ("b", 3), ("c", 9), ("d", 0)] { try topics.pipe(topics.left, value, at: Int64(time)) }
        #expect(try topics.read() == ["a@5 t=5", "b@5 t=3", "c@9 t=9", "d@9 t=0"])
    }

    // MARK: Timestamp extractors

    struct Order: Codable { var id: Int; var placedAt: Int64 }

    @Test func anExtractorReadsTheEventTimeFromAJSONField() throws {
        let builder = StreamsBuilder()
        builder.stream("orders", key: .optional(.string), value: .json(Order.self), timestamp: .field { _, order, _ in order.placedAt })
            .mapValues { "order \($0.id)" }
            .to("placed", value: .string)
        let driver = try TopologyTestDriver(try builder.build())
        let input = driver.createInputTopic("orders", key: .optional(.string), value: .json(Order.self))
        try input.pipeInput(key: "k", value: Order(id: 1, placedAt: 1_700_000_000_123), timestamp: 5)
        try input.pipeInput(key: "k", value: Order(id: 2, placedAt: 1_700_000_000_001), timestamp: 6)
        let output = try driver.createOutputTopic("placed", key: .optional(.string), value: .string).readRecordsToList()
        #expect(output.map(\.timestamp) == [1_700_000_000_123, 1_700_000_000_001])
        #expect(output.map(\.value) == ["order 1", "order 2"])
    }

    @Test func aTableTakesItsUpdatesTimesFromItsExtractor() throws {
        let builder = StreamsBuilder()
        builder.table("prices", key: .string, value: .int64, timestamp: .field { _, price, record in price.map { $0 * 10 } ?? record.timestamp })
            .toStream()
            .to("changes", value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build())
        let prices = driver.createInputTopic("prices", key: .string, value: .optional(.int64))
        try prices.pipeInput(key: "tea", value: 3, timestamp: 1)
        try prices.pipeInput(key: "tea", value: nil, timestamp: 2)
        let changes = try driver.createOutputTopic("changes", key: .string, value: .optional(.int64)).readRecordsToList()
        #expect(changes.map(\.timestamp) == [30, 2])
    }

    @Test func theConfiguredDefaultAppliesToSourcesThatNameNone() throws {
        let builder = StreamsBuilder()
        builder.stream("in", key: .optional(.string), value: .string).to("out")
        builder.stream("own", key: .optional(.string), value: .string, timestamp: .recordTimestamp).to("own-out")
        let fromHeader = DefaultTimestampExtractor.metadata { record in
            guard let header = record.headers.first(where: { $0.key == "event-time" })?.value, let time = Int64(String(decoding: header, as: UTF8.self))
            else { return record.timestamp }
            return time
        }
        let driver = try TopologyTestDriver(try builder.build(), defaultTimestampExtractor: fromHeader)
        let header = RecordHeader(key: "event-time", string: "4242")
        try driver.createInputTopic("in", key: .optional(.string), value: .string).pipeInput(key: nil, value: "a", timestamp: 1, headers: [header])
        try driver.createInputTopic("own", key: .optional(.string), value: .string).pipeInput(key: nil, value: "b", timestamp: 1, headers: [header])
        #expect(try driver.createOutputTopic("out", key: .optional(.string), value: .string).readRecordsToList().map(\.timestamp) == [4242])
        #expect(try driver.createOutputTopic("own-out", key: .optional(.string), value: .string).readRecordsToList().map(\.timestamp) == [1])
    }

    @Test func wallClockTimeStampsRecordsWithTheDriversClock() throws {
        let builder = StreamsBuilder()
        builder.stream("in", key: .optional(.string), value: .string, timestamp: .wallClockTime).to("out")
        let driver = try TopologyTestDriver(try builder.build(), wallClockStart: 1_000_000)
        try driver.advanceWallClockTime(by: .seconds(2))
        try driver.createInputTopic("in", key: .optional(.string), value: .string).pipeInput(key: nil, value: "a", timestamp: 7)
        #expect(try driver.createOutputTopic("out", key: .optional(.string), value: .string).readRecordsToList().map(\.timestamp) == [1_002_000])
    }

    // MARK: Invalid timestamps

    struct ExtractorFailure: Error {}

    /// A negative record time (-1: a producer that set none), and an extractor that throws.
    static func invalidTimestamps() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("in", key: .optional(.string), value: .string).to("out")
        builder.stream("parsed", key: .optional(.string), value: .string, timestamp: .field { _, value, _ in
            guard let time = Int64(value) else { throw ExtractorFailure() }
            return time
        }).to("out")
        return try builder.build()
    }

    @Test func anInvalidTimestampStopsTheAppUnderFailNamingTheRecord() throws {
        let driver = try TopologyTestDriver(Self.invalidTimestamps())
        let input = driver.createInputTopic("in", key: .optional(.string), value: .string)
        try input.pipeInput(key: nil, value: "ok", timestamp: 0)
        let negative = #expect(throws: DeserializationError.self) { try input.pipeInput(key: nil, value: "no time", timestamp: -1) }
        #expect(negative?.part == .timestamp)
        #expect(negative?.source == SourceCoordinates(topic: "in", partition: 0, offset: 1))
        #expect((negative?.underlying as? InvalidTimestampError)?.timestamp == -1)
        #expect(negative?.description.contains("no valid timestamp for in[0]@1") == true)
        let parsed = driver.createInputTopic("parsed", key: .optional(.string), value: .string)
        let thrown = #expect(throws: DeserializationError.self) { try parsed.pipeInput(key: nil, value: "soon", timestamp: 5) }
        #expect((thrown?.underlying as? InvalidTimestampError)?.underlying is ExtractorFailure)
        let negativeField = #expect(throws: DeserializationError.self) { try parsed.pipeInput(key: nil, value: "-20", timestamp: 5) }
        #expect((negativeField?.underlying as? InvalidTimestampError)?.timestamp == -20)
        #expect(try driver.createOutputTopic("out", key: .optional(.string), value: .string).readValuesToList() == ["ok"])
    }

    @Test func invalidTimestampsAreSkippedAndCountedUnderContinue() throws {
        let driver = try TopologyTestDriver(Self.invalidTimestamps(), errorHandlers: ErrorHandlers(deserialization: .continue))
        try driver.createInputTopic("in", key: .optional(.string), value: .string).pipeInput(key: nil, value: "no time", timestamp: -1)
        let parsed = driver.createInputTopic("parsed", key: .optional(.string), value: .string)
        try parsed.pipeInput(key: nil, value: "soon", timestamp: 5)
        try parsed.pipeInput(key: nil, value: "77", timestamp: 5)
        #expect(try driver.createOutputTopic("out", key: .optional(.string), value: .string).readRecordsToList().map(\.timestamp) == [77])
        #expect(driver.skippedRecordCount == 2)
    }

    @Test func invalidTimestampsGoToTheDeadLetterTopicWithTheirOriginalBytes() throws {
        let driver = try TopologyTestDriver(
            Self.invalidTimestamps(), errorHandlers: ErrorHandlers(deserialization: .deadLetter(topic: "bad-times")))
        try driver.createInputTopic("in", key: .optional(.string), value: .string).pipeInput(key: "k", value: "no time", timestamp: -1)
        try driver.createInputTopic("parsed", key: .optional(.string), value: .string).pipeInput(key: nil, value: "soon", timestamp: 5)
        let letters = try driver.createOutputTopic("bad-times", key: .optional(.string), value: .string).readRecordsToList()
        #expect(letters.map(\.value) == ["no time", "soon"])
        #expect(letters.first?.key == "k")
        let messages = letters.map { $0.headers.first { $0.key == DeadLetterHeaders.message }?.value.map { String(decoding: $0, as: UTF8.self) } ?? "" }
        #expect(messages[0].contains("negative timestamp -1"))
        #expect(messages[1].contains("the timestamp extractor threw"))
        #expect(driver.skippedRecordCount == 2)
    }

    @Test func anInvalidTimestampInAQueuedTaskMeetsTheHandlerInOffsetOrder() throws {
        // The merge task extracts when it queues; the record still reaches the handler.
        let builder = StreamsBuilder()
        let left = builder.stream("left", key: .optional(.string), value: .string)
        let right = builder.stream("right", key: .optional(.string), value: .string, timestamp: .field { _, value, _ in
            guard let time = Int64(value) else { throw ExtractorFailure() }
            return time
        })
        left.merge(right).to("merged")
        let driver = try TopologyTestDriver(try builder.build(), errorHandlers: ErrorHandlers(deserialization: .continue), maxTaskIdle: .seconds(1))
        let topics = Topics(driver)
        try topics.pipe(topics.left, "a", at: 10)
        try topics.pipe(topics.right, "bad", at: 1)
        try topics.pipe(topics.right, "20", at: 1)
        try topics.pipe(topics.left, "b", at: 30)
        #expect(try topics.read() == ["a t=10", "20 t=20"])
        #expect(driver.skippedRecordCount == 1)
    }

    // MARK: Stamping outputs

    final class Stamp: Processor {
        let context: ProcessorContext<String?, String>
        init(context: ProcessorContext<String?, String>) { self.context = context }
        func process(_ record: Record<String?, String>) throws {
            try context.forward(record, timestamp: record.timestamp + 1_000)
            try context.forward(record.withTimestamp(7).withValue(record.value + "!"))
        }
    }

    @Test func aProcessorStampsItsOutputsWithNewTimes() throws {
        let builder = StreamsBuilder()
        builder.stream("left", key: .optional(.string), value: .string).process { Stamp(context: $0) }.to("merged", key: .optional(.string), value: .string)
        let driver = try TopologyTestDriver(try builder.build())
        let topics = Topics(driver)
        try topics.pipe(topics.left, "a", at: 5)
        #expect(try topics.read() == ["a t=1005", "a! t=7"])
    }
}
