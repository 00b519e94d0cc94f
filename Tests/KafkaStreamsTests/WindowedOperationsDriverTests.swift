import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `TimeWindowedKStreamImplTest`, `SessionWindowedKStreamImplTest` and
/// `SlidingWindowedKStreamImplTest`: count, reduce and aggregate of tumbling windows (size
/// 500) and sessions (gap 500), no grace, with the cache on and off, emitting on update and
/// on window close; and of sliding windows (difference 100, grace 1000), with their exact
/// outputs.
@Suite struct WindowedOperationsDriverTests {
    enum Operation: String, CaseIterable, Sendable { case count, reduce, aggregate }

    struct Case: CustomTestStringConvertible, Sendable {
        let operation: Operation
        let emit: EmitStrategy
        let caching: Bool
        var testDescription: String { "\(operation) \(emit == .onUpdate ? "on update" : "on close") cache \(caching ? "on" : "off")" }
    }

    static let cases: [Case] = Operation.allCases.flatMap { operation in
        [EmitStrategy.onUpdate, .onWindowClose].flatMap { emit in [true, false].map { Case(operation: operation, emit: emit, caching: $0) } }
    }

    /// The results of `input` through the operation of `testCase` over the windows `window`
    /// makes, as `[key@start/end] value tTIME` (`null`: a merged session).
    static func run(
        _ testCase: Case, input: [(String, String, Int64)], outputKey: AnySerde<Windowed<String>>,
        window: (KGroupedStream<String, String>, Materialized, Case) -> KTable<Windowed<String>, String>
    ) throws -> [String] {
        let builder = StreamsBuilder()
        var materialized = Materialized.as("windows")
        materialized.cachingEnabled = testCase.caching
        window(builder.stream("input", key: .string, value: .string).groupByKey(), materialized, testCase)
            .toStream().to("output", key: outputKey, value: .optional(.string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let topic = driver.createInputTopic("input", key: .string, value: .string)
        for (key, value, time) in input { try topic.pipeInput(key: key, value: value, timestamp: time) }
        let output = driver.createOutputTopic("output", key: outputKey, value: .optional(.string))
        return try output.readRecordsToList().map { "\($0.key) \($0.value ?? "null") t\($0.timestamp)" }
    }

    /// The values an operation gives for `values` folded in order: count, `+`-joined, or
    /// `+`-joined after "0".
    static func folded(_ operation: Operation, _ values: [String]) -> String {
        switch operation {
        case .count: String(values.count)
        case .reduce: values.joined(separator: "+")
        case .aggregate: (["0"] + values).joined(separator: "+")
        }
    }

    @Test(arguments: cases)
    func timeWindowResultsAreKafkaStreams(_ testCase: Case) throws {
        let results = try Self.run(
            testCase, input: [("1", "1", 10), ("1", "2", 15), ("1", "3", 500), ("2", "10", 550), ("2", "20", 500), ("2", "30", 1000)],
            outputKey: .timeWindowed(.string, windowSize: .milliseconds(500))
        ) { grouped, materialized, testCase in
            let windowed = grouped.windowedBy(.tumbling(size: .milliseconds(500), grace: .zero))
            return switch testCase.operation {
            case .count: windowed.count(materialized: materialized, emit: testCase.emit).mapValues { String($0) }
            case .reduce: windowed.reduce(materialized: materialized, emit: testCase.emit) { $0 + "+" + $1 }
            case .aggregate:
                windowed.aggregate(materialized: materialized, emit: testCase.emit, value: .string, initializer: { "0" }) { _, value, aggregate in
                    aggregate + "+" + value
                }
            }
        }
        let value = { Self.folded(testCase.operation, $0) }
        let expected =
            testCase.emit == .onWindowClose
            // The record at 1000 closes [500, 1000) too: no grace.
            ? ["[1@0/500] \(value(["1", "2"])) t15", "[1@500/1000] \(value(["3"])) t500", "[2@500/1000] \(value(["10", "20"])) t550"]
            : [
                "[1@0/500] \(value(["1"])) t10", "[1@0/500] \(value(["1", "2"])) t15", "[1@500/1000] \(value(["3"])) t500",
                "[2@500/1000] \(value(["10"])) t550", "[2@500/1000] \(value(["10", "20"])) t550", "[2@1000/1500] \(value(["30"])) t1000",
            ]
        #expect(results == expected)
    }

    @Test(arguments: cases)
    func sessionResultsAreKafkaStreams(_ testCase: Case) throws {
        let results = try Self.run(
            testCase, input: [("1", "1", 10), ("1", "2", 15), ("1", "3", 600), ("2", "1", 600), ("2", "2", 599)], outputKey: .sessionWindowed(.string)
        ) { grouped, materialized, testCase in
            let sessions = grouped.windowedBy(.session(gap: .milliseconds(500), grace: .zero))
            return switch testCase.operation {
            case .count: sessions.count(materialized: materialized, emit: testCase.emit).mapValues { String($0) }
            case .reduce: sessions.reduce(materialized: materialized, emit: testCase.emit) { $0 + "+" + $1 }
            case .aggregate:
                sessions.aggregate(materialized: materialized, emit: testCase.emit, value: .string, initializer: { "0" }, { _, value, aggregate in
                    aggregate + "+" + value
                }, merger: { _, first, second in first + "+" + second })
            }
        }
        // Merging sessions combines their aggregates with the merger, from a fresh "0".
        let merged = testCase.operation == .aggregate ? "0+0+1+2" : Self.folded(testCase.operation, ["1", "2"])
        let expected =
            testCase.emit == .onWindowClose
            ? ["[1@10/15] \(merged) t15"]
            : [
                "[1@10/10] \(Self.folded(testCase.operation, ["1"])) t10", "[1@10/10] null t10", "[1@10/15] \(merged) t15",
                "[1@600/600] \(Self.folded(testCase.operation, ["3"])) t600", "[2@600/600] \(Self.folded(testCase.operation, ["1"])) t600",
                "[2@600/600] null t600", "[2@599/600] \(merged) t600",
            ]
        #expect(results == expected)
    }

    @Test(arguments: Operation.allCases)
    func slidingWindowResultsAreKafkaStreams(_ operation: Operation) throws {
        let testCase = Case(operation: operation, emit: .onUpdate, caching: true)
        let results = try Self.run(
            testCase, input: [("1", "1", 100), ("1", "2", 150), ("1", "3", 500), ("2", "10", 200), ("2", "20", 150)],
            outputKey: .timeWindowed(.string, windowSize: .milliseconds(100))
        ) { grouped, materialized, testCase in
            let windowed = grouped.windowedBy(.sliding(difference: .milliseconds(100), grace: .milliseconds(1000)))
            return switch testCase.operation {
            case .count: windowed.count(materialized: materialized).mapValues { String($0) }
            case .reduce: windowed.reduce(materialized: materialized) { $0 + "+" + $1 }
            case .aggregate:
                windowed.aggregate(materialized: materialized, value: .string, initializer: { "0" }) { _, value, aggregate in aggregate + "+" + value }
            }
        }
        // Kafka Streams checks each window's last value and time.
        var last: [String: String] = [:]
        for result in results {
            let parts = result.split(separator: " ")
            last[String(parts[0])] = "\(parts[1]) \(parts[2])"
        }
        let value = { Self.folded(operation, $0) }
        #expect(last == [
            "[1@0/100]": "\(value(["1"])) t100", "[1@101/201]": "\(value(["2"])) t150", "[1@50/150]": "\(value(["1", "2"])) t150",
            "[1@400/500]": "\(value(["3"])) t500", "[2@100/200]": "\(value(["10", "20"])) t200", "[2@50/150]": "\(value(["20"])) t150",
            "[2@151/251]": "\(value(["10"])) t200",
        ])
    }
}
