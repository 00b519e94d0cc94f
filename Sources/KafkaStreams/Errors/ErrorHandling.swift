/// What a stream thread does with a record it cannot deserialize, process or produce.
public enum ErrorHandling: Sendable, Hashable {
    /// Stop the application with the error. Offsets are committed only up to the record
    /// before the bad one, so a restart (after a fix) reads it again.
    case fail
    /// Log the error, count the record as skipped (`kafka_streams_records_skipped_total`)
    /// and go on with the next record.
    case `continue`
    /// Write the record's original bytes to `topic`, with its headers plus
    /// ``DeadLetterHeaders`` naming the source and the error, then go on.
    case deadLetter(topic: String)
}

/// The error handling of each kind of failure. All `.fail` by default.
public struct ErrorHandlers: Sendable, Hashable {
    /// Key or value bytes a source's serde rejects.
    public var deserialization: ErrorHandling
    /// An error thrown by a processor or a DSL closure (a punctuation's errors always fail).
    public var processing: ErrorHandling
    /// An output that cannot be serialized, or that the broker refuses after the
    /// producer's retries.
    public var production: ErrorHandling

    public init(deserialization: ErrorHandling = .fail, processing: ErrorHandling = .fail, production: ErrorHandling = .fail) {
        self.deserialization = deserialization
        self.processing = processing
        self.production = production
    }
}

/// Header names on dead-letter records (the names Kafka Streams uses, KIP-1034).
public enum DeadLetterHeaders {
    public static let topic = "__streams.errors.topic"
    public static let partition = "__streams.errors.partition"
    public static let offset = "__streams.errors.offset"
    public static let exception = "__streams.errors.exception"
    public static let message = "__streams.errors.message"

    /// The headers naming where a dead letter came from and why it is one.
    static func describing(source: SourceCoordinates?, errorType: Any.Type, message: String) -> [RecordHeader] {
        var headers: [RecordHeader] = []
        if let source {
            headers.append(RecordHeader(key: topic, string: source.topic))
            headers.append(RecordHeader(key: partition, string: String(source.partition)))
            headers.append(RecordHeader(key: offset, string: String(source.offset)))
        }
        headers.append(RecordHeader(key: exception, string: String(reflecting: errorType)))
        headers.append(RecordHeader(key: Self.message, string: message))
        return headers
    }
}
