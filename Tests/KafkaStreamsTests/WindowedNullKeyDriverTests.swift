import KafkaStreams
import KafkaStreamsTesting
import Testing

/// A record with a null key in a windowed aggregation (Kafka Streams'
/// `shouldLogAndMeterWhenSkippingNullKey` of `KStreamWindowAggregateTest`,
/// `KStreamSessionWindowAggregateProcessorTest` and `KStreamSlidingWindowAggregateTest`):
/// skipped and counted, and it moves no operator's stream time. The null key comes with a
/// time far ahead, which would have closed A's windows, had it counted: A's second record
/// would then be late and dropped.
@Suite struct WindowedNullKeyDriverTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case tumbling, session, sliding
        var testDescription: String { rawValue }
    }

    /// Counts per window of `kind`, final results only (stream time decides them).
    static func countTopology(_ kind: Kind) throws -> Topology {
        let builder = StreamsBuilder()
        let grouped = builder.stream("input", key: .optional(.string), value: .string).groupByKey()
        let counts: KTable<Windowed<String?>, Int64> =
            switch kind {
            case .tumbling: grouped.windowedBy(.tumbling(size: .milliseconds(10), grace: .zero)).count(emit: .onWindowClose)
            case .session: grouped.windowedBy(.session(gap: .milliseconds(10), grace: .zero)).count(emit: .onWindowClose)
            case .sliding: grouped.windowedBy(.sliding(difference: .milliseconds(10), grace: .zero)).count(emit: .onWindowClose)
            }
        counts.toStream().map { key, count in (key.key ?? "null", "\(key.window.start)/\(key.window.end)=\(count.map(String.init) ?? "-")") }
            .to("output", key: .string, value: .string)
        return try builder.build()
    }

    /// The final windows of `records`, and how many records the driver skipped.
    static func run(_ kind: Kind, _ records: [(String?, Int64)]) throws -> (windows: [String], skipped: Int) {
        let driver = try TopologyTestDriver(countTopology(kind))
        defer { driver.close() }
        let input = driver.createInputTopic("input", key: .optional(.string), value: .string)
        for (key, time) in records { try input.pipeInput(key: key, value: "v", timestamp: time) }
        let output = driver.createOutputTopic("output", key: .string, value: .string)
        return (try output.readRecordsToList().map { "\($0.key) \($0.value) t\($0.timestamp)" }, driver.skippedRecordCount)
    }

    @Test(arguments: Kind.allCases)
    func aNullKeyIsSkippedCountedAndMovesNoStreamTime(kind: Kind) throws {
        let withNullKey = try Self.run(kind, [("A", 0), (nil, 100), ("A", 5), ("B", 50)])
        let without = try Self.run(kind, [("A", 0), ("A", 5), ("B", 50)])
        #expect(withNullKey.skipped == 1)
        #expect(without.skipped == 0)
        #expect(withNullKey.windows == without.windows, "the null key changed no window")
        // A's windows closed by B's record (time 50); B's are still open.
        let expected: [Kind: [String]] = [
            .tumbling: ["A 0/10=2 t5"],
            .session: ["A 0/5=2 t5"],
            // The window ending at A's second record, and the first record's right window.
            .sliding: ["A 0/10=2 t5", "A 1/11=1 t5"],
        ]
        #expect(withNullKey.windows == expected[kind])
        // The control: a keyed record at the same time does move stream time, and A's
        // second record is then late.
        let keyed = try Self.run(kind, [("A", 0), ("Z", 100), ("A", 5), ("B", 50)])
        #expect(!keyed.windows.contains { $0.hasPrefix("A ") && $0.contains("=2") }, "\(keyed.windows)")
    }
}
