import RdKafka

/// A record header: a name and bytes (`nil` is a null value, distinct from empty).
public typealias RecordHeader = KafkaHeader

/// A record flowing through a topology: typed key and value, a timestamp and headers.
///
/// Outputs inherit the timestamp and headers of the input they were derived from unless a
/// processor sets new ones.
public struct Record<Key, Value> {
    public var key: Key
    public var value: Value
    /// Milliseconds since the epoch: the event time stream time is made of.
    public var timestamp: Int64
    public var headers: [RecordHeader]

    @inlinable
    public init(key: Key, value: Value, timestamp: Int64, headers: [RecordHeader] = []) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }

    /// The same record with another key (and key type).
    @inlinable
    public func withKey<NewKey>(_ key: NewKey) -> Record<NewKey, Value> {
        Record<NewKey, Value>(key: key, value: value, timestamp: timestamp, headers: headers)
    }

    /// The same record at another time (milliseconds since the epoch): how a processor
    /// stamps an output with the event time it stands for.
    @inlinable
    public func withTimestamp(_ timestamp: Int64) -> Record<Key, Value> {
        Record(key: key, value: value, timestamp: timestamp, headers: headers)
    }

    /// The same record with another value (and value type).
    @inlinable
    public func withValue<NewValue>(_ value: NewValue) -> Record<Key, NewValue> {
        Record<Key, NewValue>(key: key, value: value, timestamp: timestamp, headers: headers)
    }
}

extension Record: Sendable where Key: Sendable, Value: Sendable {}
extension Record: Equatable where Key: Equatable, Value: Equatable {}

/// Where the record being processed came from. Absent inside a punctuation.
public struct RecordContext: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestamp: Int64
    public var headers: [RecordHeader]

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64, headers: [RecordHeader]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.headers = headers
    }
}

extension RecordContext {
    /// The context with another time (a write held above a record cache, as it leaves).
    @inlinable
    func withTimestamp(_ time: Int64) -> RecordContext {
        var context = self
        context.timestamp = time
        return context
    }
}
