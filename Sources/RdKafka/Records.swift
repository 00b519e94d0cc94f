/// A Kafka record header. A `nil` value is a null header value, distinct from empty.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }
}

/// A record to produce.
public struct ProducerRecord: Sendable, Hashable {
    public var topic: String
    /// The target partition; `nil` lets the configured partitioner choose (by key).
    public var partition: Int32?
    public var key: [UInt8]?
    /// The payload; `nil` produces a tombstone.
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch (CreateTime); `nil` means now.
    public var timestamp: Int64?

    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// Where a produced record was written.
public struct RecordMetadata: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch, when known.
    public var timestamp: Int64?

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }
}

/// How a consumed record's timestamp was set.
public enum TimestampType: Sendable, Hashable {
    case notAvailable
    /// Set by the producer.
    case createTime
    /// Set by the broker when it appended the record.
    case logAppendTime
}

/// A record read by a ``Consumer``.
public struct ConsumerRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch (meaningless when `timestampType` is `.notAvailable`).
    public var timestamp: Int64
    public var timestampType: TimestampType
    public var key: [UInt8]?
    /// The payload; `nil` is a tombstone.
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        timestamp: Int64,
        timestampType: TimestampType = .createTime,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.key = key
        self.value = value
        self.headers = headers
    }
}
