import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Sliding-window aggregations through the test driver, against Kafka Streams'
/// `KStreamSlidingWindowAggregateTest`.
@Suite struct SlidingWindowDriverTests {
    static func concatenation(_ windows: SlidingWindows, emit: EmitStrategy = .onUpdate, lateRecords: LateRecordHandling = .drop) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("input", key: .string, value: .string)
            .groupByKey()
            .windowedBy(windows)
            .aggregate(materialized: Materialized.as("sliding").withCachingDisabled(), emit: emit, lateRecords: lateRecords, value: .string, initializer: { "0" }) {
                _, value, aggregate in aggregate + "+" + value
            }
            .toStream()
            .to("output", key: .timeWindowed(.string, windowSize: .milliseconds(windows.difference)), value: .optional(.string))
        return try builder.build()
    }

    func run(_ windows: SlidingWindows, _ records: [(String, String, Int64)], emit: EmitStrategy = .onUpdate) throws -> (
        outputs: [String], final: [Int64: String], late: [String]
    ) {
        let driver = try TopologyTestDriver(Self.concatenation(windows, emit: emit, lateRecords: .deadLetter(topic: "late")))
        let input = driver.createInputTopic("input", key: .string, value: .string)
        for (key, value, time) in records { try input.pipeInput(key: key, value: value, timestamp: time) }
        let output = driver.createOutputTopic("output", key: .timeWindowed(.string, windowSize: .milliseconds(windows.difference)), value: .optional(.string))
        let records = try output.readRecordsToList()
        var final: [Int64: String] = [:]
        for record in records { final[record.key.window.start] = "\(record.value ?? "null") t\(record.timestamp)" }
        let late = try driver.createOutputTopic("late", key: .string, value: .string).readValuesToList()
        return (records.map { "\($0.key) \($0.value ?? "null") t\($0.timestamp)" }, final, late)
    }

    @Test func aSmallInputMakesKafkaStreamsWindows() throws {
        // KStreamSlidingWindowAggregateTest.testAggregateSmallInput: difference 10, grace 50.
        let (outputs, final, _) = try run(
            .sliding(difference: .milliseconds(10), grace: .milliseconds(50)),
            [("A", "1", 10), ("A", "2", 15), ("A", "3", 20), ("A", "4", 22), ("A", "5", 30)])
        #expect(final == [
            0: "0+1 t10", 5: "0+1+2 t15", 10: "0+1+2+3 t20", 11: "0+2+3 t20", 12: "0+2+3+4 t22", 16: "0+3+4 t22", 20: "0+3+4+5 t30",
            21: "0+4+5 t30", 23: "0+5 t30",
        ])
        #expect(outputs.first == "[A@0/10] 0+1 t10")
    }

    @Test func recordsOutOfOrderLandInTheSameWindowsAsInOrder() throws {
        // KStreamSlidingWindowAggregateTest.testAggregateLargeInput's idea: the windows do not
        // depend on arrival order within grace.
        let windows = SlidingWindows.sliding(difference: .milliseconds(10), grace: .milliseconds(100))
        let ordered: [(String, String, Int64)] = [("A", "1", 10), ("A", "2", 15), ("A", "3", 20), ("A", "4", 22), ("A", "5", 30)]
        let shuffled = [ordered[2], ordered[0], ordered[4], ordered[1], ordered[3]]
        let inOrder = try run(windows, ordered).final.mapValues { $0.split(separator: " ")[0].split(separator: "+").sorted() }
        let outOfOrder = try run(windows, shuffled).final.mapValues { $0.split(separator: " ")[0].split(separator: "+").sorted() }
        #expect(inOrder == outOfOrder)
    }

    @Test func earlyRecordsShareTheFirstWindow() throws {
        // Records before the difference: windows start at 0, not before (testEarlyRecords).
        let (_, final, _) = try run(.sliding(difference: .milliseconds(10), grace: .milliseconds(50)), [("A", "1", 0), ("A", "2", 5), ("A", "3", 13)])
        // {1, 2} in [0, 10]; 1's right window {2}; 3's left window {2, 3}; 2's right window {3}.
        #expect(final == [0: "0+1+2 t5", 1: "0+2 t5", 3: "0+2+3 t13", 6: "0+3 t13"])
    }

    @Test func aWindowClosesWhenStreamTimePassesItsEndPlusGrace() throws {
        // Difference 10, grace 5. At stream time 30 a window ending at 25 is still open
        // (25 + 5 is not before 30; Kafka Streams closes it a millisecond earlier).
        let windows = SlidingWindows.sliding(difference: .milliseconds(10), grace: .milliseconds(5))
        let (outputs, _, late) = try run(windows, [("A", "v", 20), ("A", "x", 30), ("A", "w", 25)])
        #expect(outputs == [
            "[A@10/20] 0+v t20",
            "[A@21/31] 0+x t30", "[A@20/30] 0+v+x t30",
            "[A@20/30] 0+v+x+w t30", "[A@21/31] 0+x+w t30", "[A@15/25] 0+v+w t25", "[A@26/36] 0+x t30",
        ])
        #expect(late.isEmpty)
        // At 15 no window holding the record is open any more (its left window [5, 15] and
        // [10, 20] are closed); at 14 even its own windows end by 24.
        let (_, _, lateOnes) = try run(windows, [("A", "v", 20), ("A", "x", 30), ("A", "y", 15), ("A", "z", 14)])
        #expect(lateOnes == ["y", "z"])
    }

    @Test func emitOnWindowCloseSendsEachSlidingWindowOnce() throws {
        let (outputs, _, _) = try run(
            .sliding(difference: .milliseconds(10), grace: .zero), [("A", "1", 10), ("A", "2", 15), ("A", "3", 40)], emit: .onWindowClose)
        #expect(outputs == ["[A@0/10] 0+1 t10", "[A@5/15] 0+1+2 t15", "[A@11/21] 0+2 t15"])
    }
}
