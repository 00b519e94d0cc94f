import RdKafka

// The runtime nodes are `@usableFromInline` with `@inlinable` per-record methods, and the
// closures that call them are made in `@inlinable` topology code: a topology built by an
// application's module is then specialized for its key and value types there, instead of
// running generic code that looks up type metadata for every record.

/// A runtime node with resources to release when its task closes.
@usableFromInline
protocol ClosableNode: AnyObject {
    func close()
    /// The processor's ``Processor/finishInput()``.
    func finishInput() throws
}

/// Errors that already say where they came from and pass through enclosing nodes unchanged.
@usableFromInline protocol AttributedFailure: Error {}
extension NodeFailure: AttributedFailure {}
extension SerializationFailure: AttributedFailure {}
extension ProductionError: AttributedFailure {}
extension StreamsError: AttributedFailure {}

/// A source node of one task: deserializes input bytes, takes the record's event time and
/// forwards typed records.
@usableFromInline
final class SourceNode<Key, Value> {
    @usableFromInline let keySerde: AnySerde<Key>
    @usableFromInline let valueSerde: AnySerde<Value>
    @usableFromInline let context: ProcessorContext<Key, Value>
    @usableFromInline let extractor: ResolvedTimestampExtractor<Key, Value>

    @usableFromInline
    init(
        keySerde: AnySerde<Key>, valueSerde: AnySerde<Value>, context: ProcessorContext<Key, Value>,
        extractor: ResolvedTimestampExtractor<Key, Value>
    ) {
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.context = context
        self.extractor = extractor
    }

    /// Deserializes and takes the event time (throwing ``DeserializationError``), moves
    /// stream time, then forwards (throwing whatever the graph threw, tagged with the node).
    @inlinable
    func process(_ raw: PolledRecord) throws {
        let key = try decodeKey(raw)
        let value = try decodeValue(raw)
        let timestamp = raw.timestampExtracted ? raw.timestamp : try extractTimestamp(key, value, raw)
        context.task.observe(eventTime: timestamp)
        try context.forward(Record(key: key, value: value, timestamp: timestamp, headers: raw.headers))
    }

    /// The event time of a record about to be queued, which orders it among the task's
    /// partitions. Deserializes only for an extractor that reads the key and value.
    @inlinable
    func eventTime(of raw: PolledRecord) throws -> Int64 {
        switch extractor {
        case .recordTimestamp: try Self.checked(raw.timestamp, raw)
        case .computed: try extractTimestamp(try decodeKey(raw), try decodeValue(raw), raw)
        }
    }

    @inlinable
    func decodeKey(_ raw: PolledRecord) throws -> Key {
        do {
            return try keySerde.decode(raw.key)
        } catch {
            throw DeserializationError(part: .key, source: raw.coordinates, underlying: error)
        }
    }

    @inlinable
    func decodeValue(_ raw: PolledRecord) throws -> Value {
        do {
            return try valueSerde.decode(raw.value)
        } catch {
            throw DeserializationError(part: .value, source: raw.coordinates, underlying: error)
        }
    }

    @inlinable
    func extractTimestamp(_ key: Key, _ value: Value, _ raw: PolledRecord) throws -> Int64 {
        switch extractor {
        case .recordTimestamp:
            return try Self.checked(raw.timestamp, raw)
        case .computed(let extract):
            let timestamp: Int64
            do {
                timestamp = try extract(key, value, raw.metadata)
            } catch {
                throw DeserializationError(part: .timestamp, source: raw.coordinates, underlying: InvalidTimestampError(timestamp: nil, underlying: error))
            }
            return try Self.checked(timestamp, raw)
        }
    }

    @inlinable
    static func checked(_ timestamp: Int64, _ raw: PolledRecord) throws -> Int64 {
        guard timestamp >= 0 else {
            throw DeserializationError(part: .timestamp, source: raw.coordinates, underlying: InvalidTimestampError(timestamp: timestamp, underlying: nil))
        }
        return timestamp
    }
}

/// A source node's entry points, made in specialized code: `receive` processes a record,
/// `eventTime` reads the time that orders a queued one.
@usableFromInline
final class SourceEntry {
    let receive: (PolledRecord) throws -> Void
    let eventTime: (PolledRecord) throws -> Int64

    @usableFromInline
    init(receive: @escaping (PolledRecord) throws -> Void, eventTime: @escaping (PolledRecord) throws -> Int64) {
        self.receive = receive
        self.eventTime = eventTime
    }
}

@usableFromInline
final class ProcessorNode<P: Processor>: ClosableNode {
    @usableFromInline let name: String
    @usableFromInline let processor: P

    @usableFromInline
    init(name: String, processor: P) {
        self.name = name
        self.processor = processor
    }

    @inlinable
    func receive(_ record: Record<P.InputKey, P.InputValue>) throws {
        do {
            try processor.process(record)
        } catch let error as AttributedFailure {
            throw error
        } catch {
            throw NodeFailure(node: name, underlying: error)
        }
    }

    @usableFromInline
    func close() { processor.close() }

    @usableFromInline
    func finishInput() throws {
        do {
            try processor.finishInput()
        } catch let error as AttributedFailure {
            throw error
        } catch {
            throw NodeFailure(node: name, underlying: error)
        }
    }
}

/// Where a sink writes: one topic, or a topic chosen per record.
@usableFromInline
enum SinkTarget<Key, Value>: Sendable {
    case topic(TopicName)
    case extractor(@Sendable (Key, Value, RecordContext?) -> String)
}

@usableFromInline
final class SinkNode<Key, Value> {
    @usableFromInline let target: SinkTarget<Key, Value>
    @usableFromInline let resolvedTopic: String?
    @usableFromInline let keySerde: AnySerde<Key>
    @usableFromInline let valueSerde: AnySerde<Value>
    @usableFromInline let task: TaskContext
    /// The partition of each record, when the sink chooses it rather than the key.
    @usableFromInline let partition: (@Sendable (Key, Value) -> Int32)?
    // Keys and values are serialized one after another into this buffer, reused so that
    // serializing allocates nothing in the steady state, and emptied only once it holds
    // more than `scratchLimit` bytes: emptying an array costs more than appending a small
    // record to it. Only this node touches it, on its task's thread, one record at a time:
    // no dynamic exclusivity check.
    @exclusivity(unchecked) @usableFromInline var scratch: [UInt8] = []
    @usableFromInline static var scratchLimit: Int { 4096 }

    @usableFromInline
    init(
        target: SinkTarget<Key, Value>, keySerde: AnySerde<Key>, valueSerde: AnySerde<Value>, task: TaskContext,
        partition: (@Sendable (Key, Value) -> Int32)? = nil
    ) {
        self.partition = partition
        self.target = target
        if case .topic(let topic) = target { resolvedTopic = topic.resolved(applicationID: task.applicationID) } else { resolvedTopic = nil }
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.task = task
    }

    @inlinable
    func receive(_ record: Record<Key, Value>) throws {
        let topic: String
        switch target {
        case .topic: topic = resolvedTopic!
        case .extractor(let choose): topic = choose(record.key, record.value, task.currentRecord)
        }
        if scratch.count > Self.scratchLimit { scratch.removeAll(keepingCapacity: true) }
        let keyStart = scratch.count
        let keyIsNull: Bool
        let valueStart: Int
        let valueIsNull: Bool
        do {
            keyIsNull = try !keySerde.encode(record.key, &scratch)
            valueStart = scratch.count
            valueIsNull = try !valueSerde.encode(record.value, &scratch)
        } catch {
            throw SerializationFailure(topic: topic, underlying: error)
        }
        try scratch.withUnsafeBytes { bytes in
            try task.collector.send(
                topic: topic, partition: partition?(record.key, record.value),
                key: keyIsNull ? nil : UnsafeRawBufferPointer(rebasing: bytes[keyStart..<valueStart]),
                value: valueIsNull ? nil : UnsafeRawBufferPointer(rebasing: bytes[valueStart...]),
                headers: record.headers, timestamp: record.timestamp,
                source: { self.task.currentRecord.map { SourceCoordinates(topic: $0.topic, partition: $0.partition, offset: $0.offset) } })
        }
    }
}
