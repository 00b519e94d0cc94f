import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Kafka Streams' `SessionWindowedKStreamImplTest`: count, reduce and aggregate of
/// sessions (gap 500, no grace) with the cache on and off, emitting on update and on window
/// close, with its exact outputs.
@Suite struct SessionWindowedStreamDriverTests {
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

    /// The sessions' results as `[key@start/end] value tTIME` (`null`: a merged session).
    static func run(_ testCase: Case) throws -> [String] {
        let builder = StreamsBuilder()
        let sessions = builder.stream("input", key: .string, value: .string).groupByKey()
            .windowedBy(.session(gap: .milliseconds(500), grace: .zero))
        var materialized = Materialized.as("sessions")
        materialized.cachingEnabled = testCase.caching
        let table: KTable<Windowed<String>, String> =
            switch testCase.operation {
            case .count: sessions.count(materialized: materialized, emit: testCase.emit).mapValues { String($0) }
            case .reduce: sessions.reduce(materialized: materialized, emit: testCase.emit) { $0 + "+" + $1 }
            case .aggregate:
                sessions.aggregate(materialized: materialized, emit: testCase.emit, value: .string, initializer: { "0" }, { _, value, aggregate in
                    aggregate + "+" + value
                }, merger: { _, first, second in first + "+" + second })
            }
        table.toStream().to("output", key: .sessionWindowed(.string), value: .optional(.string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let input = driver.createInputTopic("input", key: .string, value: .string)
        for (key, value, time) in [("1", "1", 10), ("1", "2", 15), ("1", "3", 600), ("2", "1", 600), ("2", "2", 599)] as [(String, String, Int64)] {
            try input.pipeInput(key: key, value: value, timestamp: time)
        }
        let output = driver.createOutputTopic("output", key: .sessionWindowed(.string), value: .optional(.string))
        return try output.readRecordsToList().map { "\($0.key) \($0.value ?? "null") t\($0.timestamp)" }
    }

    @Test(arguments: cases)
    func sessionResultsAreKafkaStreams(_ testCase: Case) throws {
        // (first session value, merged, key 1 at 600, key 2 at 600, key 2 merged)
        let values: (String, String, String, String, String) =
            switch testCase.operation {
            case .count: ("1", "2", "1", "1", "2")
            case .reduce: ("1", "1+2", "3", "1", "1+2")
            case .aggregate: ("0+1", "0+0+1+2", "0+3", "0+1", "0+0+1+2")
            }
        let expected =
            testCase.emit == .onWindowClose
            ? ["[1@10/15] \(values.1) t15"]
            : [
                "[1@10/10] \(values.0) t10", "[1@10/10] null t10", "[1@10/15] \(values.1) t15", "[1@600/600] \(values.2) t600",
                "[2@600/600] \(values.3) t600", "[2@600/600] null t600", "[2@599/600] \(values.4) t600",
            ]
        #expect(try Self.run(testCase) == expected)
    }
}
