import KafkaStreams

/// A record read from a ``TestOutputTopic``: the same type processors see.
public typealias TestRecord<Key, Value> = Record<Key, Value>

/// An input topic of a ``TopologyTestDriver``.
public struct TestInputTopic<Key, Value> {
    let driver: TopologyTestDriver
    public let name: String
    let keySerde: any Serde<Key>
    let valueSerde: any Serde<Value>

    /// Serializes and processes one record (and whatever it sends through repartition
    /// topics) before returning. Throws what the topology throws when an error handler
    /// says `.fail`.
    public func pipeInput(key: Key, value: Value, timestamp: Int64 = 0, headers: [RecordHeader] = []) throws {
        try driver.runner.pipe(topic: name, record: .init(
            key: try keySerde.serialize(key), value: try valueSerde.serialize(value), headers: headers, timestamp: timestamp))
    }

    /// Pipes raw bytes, e.g. a record no serde would produce (a poison pill).
    public func pipeRawInput(key: [UInt8]?, value: [UInt8]?, timestamp: Int64 = 0, headers: [RecordHeader] = []) throws {
        try driver.runner.pipe(topic: name, record: .init(key: key, value: value, headers: headers, timestamp: timestamp))
    }

    /// Pipes key/value pairs with consecutive timestamps starting at `startTimestamp`.
    public func pipeKeyValues(_ pairs: [(Key, Value)], startTimestamp: Int64 = 0, advance: Int64 = 0) throws {
        for (index, (key, value)) in pairs.enumerated() {
            try pipeInput(key: key, value: value, timestamp: startTimestamp + Int64(index) * advance)
        }
    }
}

extension TestInputTopic where Key: ExpressibleByNilLiteral {
    /// Pipes values with null keys.
    public func pipeValues(_ values: [Value], startTimestamp: Int64 = 0, advance: Int64 = 0) throws {
        try pipeKeyValues(values.map { (nil, $0) }, startTimestamp: startTimestamp, advance: advance)
    }
}

/// An output topic of a ``TopologyTestDriver``. Reading consumes the records.
public final class TestOutputTopic<Key, Value> {
    let driver: TopologyTestDriver
    public let name: String
    let keySerde: any Serde<Key>
    let valueSerde: any Serde<Value>
    private var buffered: [TestRecord<Key, Value>] = []

    init(driver: TopologyTestDriver, name: String, keySerde: any Serde<Key>, valueSerde: any Serde<Value>) {
        self.driver = driver
        self.name = name
        self.keySerde = keySerde
        self.valueSerde = valueSerde
    }

    /// Whether nothing is left to read.
    public var isEmpty: Bool {
        raw += driver.runner.drain(name)
        return buffered.isEmpty && raw.isEmpty
    }

    /// The records not yet read, oldest first. Throws if one does not deserialize.
    public func readRecordsToList() throws -> [TestRecord<Key, Value>] {
        try fetchTyped()
        defer { buffered = [] }
        return buffered
    }

    /// The next record. Throws ``TestTopicError/empty`` when there is none.
    public func readRecord() throws -> TestRecord<Key, Value> {
        try fetchTyped()
        guard !buffered.isEmpty else { throw TestTopicError.empty(topic: name) }
        return buffered.removeFirst()
    }

    public func readKeyValue() throws -> (key: Key, value: Value) {
        let record = try readRecord()
        return (record.key, record.value)
    }

    public func readValue() throws -> Value { try readRecord().value }

    public func readKeyValuesToList() throws -> [(key: Key, value: Value)] {
        try readRecordsToList().map { ($0.key, $0.value) }
    }

    public func readValuesToList() throws -> [Value] { try readRecordsToList().map(\.value) }

    private var raw: [InMemoryTopologyRunner.StoredRecord] = []

    private func fetchTyped() throws {
        raw += driver.runner.drain(name)
        while !raw.isEmpty {
            let next = raw[0]
            buffered.append(TestRecord(
                key: try keySerde.deserialize(next.key), value: try valueSerde.deserialize(next.value),
                timestamp: next.timestamp, headers: next.headers))
            raw.removeFirst()
        }
    }
}

/// Reading an output topic that has nothing left.
public enum TestTopicError: Error, Equatable {
    case empty(topic: String)
}
