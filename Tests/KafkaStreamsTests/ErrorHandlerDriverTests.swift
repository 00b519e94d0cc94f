import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Poison pills under each handler, without a broker.
@Suite struct ErrorHandlerDriverTests {
    struct Order: Codable, Equatable { var id: Int; var amount: Int64 }

    private func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("orders", key: .optional(.string), value: .json(Order.self))
            .mapValues(named: "check") { order in
                if order.amount < 0 { throw OrderError.negative(order.id) }
                return order.amount
            }
            .to("amounts", value: .int64)
        return try builder.build()
    }

    enum OrderError: Error { case negative(Int) }

    private let good = Array(#"{"id":1,"amount":5}"#.utf8)
    private let garbage: [UInt8] = Array("not json".utf8)
    private let negative = Array(#"{"id":2,"amount":-3}"#.utf8)

    @Test func failStopsAtTheBadRecordWithItsCoordinates() throws {
        let driver = try TopologyTestDriver(topology())
        let input = driver.createInputTopic("orders", key: .optional(.string), value: .json(Order.self))
        try input.pipeRawInput(key: nil, value: good)
        let error = #expect(throws: DeserializationError.self) { try input.pipeRawInput(key: nil, value: garbage) }
        #expect(error?.part == .value)
        #expect(error?.source == SourceCoordinates(topic: "orders", partition: 0, offset: 1))
        let processing = #expect(throws: ProcessingError.self) { try input.pipeRawInput(key: nil, value: negative) }
        #expect(processing?.node == "check")
        #expect(processing?.source?.offset == 2)
        #expect(try driver.createOutputTopic("amounts", key: .optional(.string), value: .int64).readValuesToList() == [Int64(5)])
    }

    @Test func continueSkipsAndCounts() throws {
        let driver = try TopologyTestDriver(topology(), errorHandlers: ErrorHandlers(deserialization: .continue, processing: .continue))
        let input = driver.createInputTopic("orders", key: .optional(.string), value: .json(Order.self))
        for value in [good, garbage, negative, good] { try input.pipeRawInput(key: nil, value: value) }
        #expect(try driver.createOutputTopic("amounts", key: .optional(.string), value: .int64).readValuesToList() == [Int64(5), 5])
        #expect(driver.skippedRecordCount == 2)
    }

    @Test func deadLetterKeepsTheOriginalBytesAndNamesTheSourceAndError() throws {
        let driver = try TopologyTestDriver(
            topology(),
            errorHandlers: ErrorHandlers(deserialization: .deadLetter(topic: "orders-dlq"), processing: .deadLetter(topic: "orders-dlq")))
        let input = driver.createInputTopic("orders", key: .optional(.string), value: .json(Order.self))
        let original = RecordHeader(key: "origin", string: "web")
        try input.pipeRawInput(key: Array("k1".utf8), value: garbage, timestamp: 77, headers: [original])
        try input.pipeRawInput(key: nil, value: negative)
        try input.pipeRawInput(key: nil, value: good)
        let letters = try driver.createOutputTopic("orders-dlq", key: .optional(.bytes), value: .bytes).readRecordsToList()
        #expect(letters.count == 2)
        let first = letters[0]
        #expect(first.key == Array("k1".utf8))
        #expect(first.value == garbage)
        #expect(first.timestamp == 77)
        func header(_ record: TestRecord<[UInt8]?, [UInt8]>, _ name: String) -> String? {
            record.headers.first { $0.key == name }?.value.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(first.headers.first == original)
        #expect(header(first, DeadLetterHeaders.topic) == "orders")
        #expect(header(first, DeadLetterHeaders.partition) == "0")
        #expect(header(first, DeadLetterHeaders.offset) == "0")
        #expect(header(first, DeadLetterHeaders.exception)?.contains("SerdeError") == true)
        #expect(header(first, DeadLetterHeaders.message)?.contains("cannot deserialize the value of orders[0]@0") == true)
        #expect(header(letters[1], DeadLetterHeaders.offset) == "1")
        #expect(header(letters[1], DeadLetterHeaders.exception)?.contains("OrderError") == true)
        #expect(header(letters[1], DeadLetterHeaders.message)?.contains("processor check failed") == true)
        #expect(try driver.createOutputTopic("amounts", key: .optional(.string), value: .int64).readValuesToList() == [Int64(5)])
    }

    @Test func aSerializationFailureGoesToTheProductionHandler() throws {
        struct Refusing: Serde {
            func serialize(_ value: String, into bytes: inout [UInt8]) throws { throw SerdeError.invalidJSON("refused") }
            func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> String { "" }
        }
        let builder = StreamsBuilder()
        builder.stream("in", key: .optional(.string), value: .string).to("out", value: AnySerde(Refusing()))
        let failing = try TopologyTestDriver(try builder.build())
        let error = #expect(throws: ProductionError.self) {
            try failing.createInputTopic("in", key: .optional(.string), value: .string).pipeInput(key: nil, value: "x")
        }
        #expect(error?.topic == "out")
        let skipping = try TopologyTestDriver(try builder.build(), errorHandlers: ErrorHandlers(production: .continue))
        try skipping.createInputTopic("in", key: .optional(.string), value: .string).pipeInput(key: nil, value: "x")
        #expect(skipping.skippedRecordCount == 1)
    }
}
