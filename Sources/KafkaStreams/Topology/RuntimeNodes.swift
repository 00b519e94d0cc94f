import RdKafka

// The runtime nodes are `@usableFromInline` with `@inlinable` per-record methods, and the
// closures that call them are made in `@inlinable` topology code: a topology built by an
// application's module is then specialized for its key and value types there, instead of
// running generic code that looks up type metadata for every record.

/// A runtime node with resources to release when its task closes.
@usableFromInline
protocol ClosableNode: AnyObject {
    func close()
}

/// Errors that already say where they came from and pass through enclosing nodes unchanged.
@usableFromInline protocol AttributedFailure: Error {}
extension NodeFailure: AttributedFailure {}
extension SerializationFailure: AttributedFailure {}
extension ProductionError: AttributedFailure {}
extension StreamsError: AttributedFailure {}

/// A source node of one task: deserializes input bytes and forwards typed records.
@usableFromInline
final class SourceNode<Key, Value> {
    @usableFromInline let keySerde: AnySerde<Key>
    @usableFromInline let valueSerde: AnySerde<Value>
    @usableFromInline let context: ProcessorContext<Key, Value>

    @usableFromInline
    init(keySerde: AnySerde<Key>, valueSerde: AnySerde<Value>, context: ProcessorContext<Key, Value>) {
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.context = context
    }

    /// Deserializes (throwing ``DeserializationError``) then forwards (throwing whatever the
    /// graph threw, tagged with the node).
    @inlinable
    func process(_ raw: SourceRecordView) throws {
        let key: Key
        let value: Value
        do {
            key = try keySerde.decode(raw.key)
        } catch {
            throw DeserializationError(part: .key, source: raw.coordinates, underlying: error)
        }
        do {
            value = try valueSerde.decode(raw.value)
        } catch {
            throw DeserializationError(part: .value, source: raw.coordinates, underlying: error)
        }
        try context.forward(Record(key: key, value: value, timestamp: raw.timestamp, headers: raw.headers))
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
    // Reused between records so serializing allocates nothing in the steady state. Only
    // this node touches them, on its task's thread, one record at a time: no dynamic
    // exclusivity check.
    @exclusivity(unchecked) @usableFromInline var keyBytes: [UInt8] = []
    @exclusivity(unchecked) @usableFromInline var valueBytes: [UInt8] = []

    @usableFromInline
    init(target: SinkTarget<Key, Value>, keySerde: AnySerde<Key>, valueSerde: AnySerde<Value>, task: TaskContext) {
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
        let source = task.currentRecord.map { SourceCoordinates(topic: $0.topic, partition: $0.partition, offset: $0.offset) }
        let keyIsNull: Bool
        let valueIsNull: Bool
        do {
            keyBytes.removeAll(keepingCapacity: true)
            valueBytes.removeAll(keepingCapacity: true)
            keyIsNull = try !keySerde.encode(record.key, &keyBytes)
            valueIsNull = try !valueSerde.encode(record.value, &valueBytes)
        } catch {
            throw SerializationFailure(topic: topic, underlying: error)
        }
        try keyBytes.withUnsafeBytes { key in
            try valueBytes.withUnsafeBytes { value in
                try task.collector.send(
                    topic: topic, key: keyIsNull ? nil : key, value: valueIsNull ? nil : value,
                    headers: record.headers, timestamp: record.timestamp, source: source)
            }
        }
    }
}
