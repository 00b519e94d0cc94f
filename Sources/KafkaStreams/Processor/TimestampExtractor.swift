/// Where a source takes each record's event time from: what windows, joins and stream
/// time are made of.
///
/// ```swift
/// builder.stream("orders", key: .string, value: .json(Order.self),
///                timestamp: .field { _, order, _ in order.placedAtMilliseconds })
/// ```
///
/// A negative time, or an extractor that throws, is a bad record: it goes to the
/// deserialization error handler (``ErrorHandlers/deserialization``: stop, skip and count,
/// or dead-letter) with an error naming the record, as Kafka Streams'
/// `FailOnInvalidTimestamp` does by default.
public struct TimestampExtractor<Key, Value>: Sendable {
    @usableFromInline
    enum Kind: Sendable {
        /// The configuration's ``StreamsConfiguration/defaultTimestampExtractor``.
        case configured
        case recordTimestamp
        case wallClockTime
        case metadata(@Sendable (RecordContext) throws -> Int64)
        case field(@Sendable (Key, Value, RecordContext) throws -> Int64)
    }

    @usableFromInline let kind: Kind

    @usableFromInline init(_ kind: Kind) { self.kind = kind }

    /// The configuration's ``StreamsConfiguration/defaultTimestampExtractor``.
    public static var configured: Self { Self(.configured) }

    /// The time the record was written with (its producer's create time, or the broker's
    /// append time when the topic says so): Kafka Streams' default.
    public static var recordTimestamp: Self { Self(.recordTimestamp) }

    /// The wall-clock time when the record is read: processing time, not event time. A
    /// replay then gives other answers than the live run did.
    public static var wallClockTime: Self { Self(.wallClockTime) }

    /// A time taken from the record's metadata (a header, say); `RecordContext.timestamp`
    /// is the time the record was written with.
    public static func metadata(_ extract: @escaping @Sendable (RecordContext) throws -> Int64) -> Self { Self(.metadata(extract)) }

    /// A time taken from the deserialized key and value (an event-time field of a JSON
    /// body, say); `RecordContext.timestamp` is the time the record was written with.
    public static func field(_ extract: @escaping @Sendable (Key, Value, RecordContext) throws -> Int64) -> Self { Self(.field(extract)) }
}

/// The extractor of sources that do not name one: ``StreamsConfiguration/defaultTimestampExtractor``.
/// Not generic, so it cannot read keys or values; a source that needs them names its own
/// ``TimestampExtractor``.
public enum DefaultTimestampExtractor: Sendable {
    /// The time the record was written with (the default).
    case recordTimestamp
    /// The wall-clock time when the record is read.
    case wallClockTime
    /// A time taken from the record's metadata (a header, say).
    case metadata(@Sendable (RecordContext) throws -> Int64)
}

/// A negative event time (or, in ``underlying``, the error an extractor threw): the record
/// has no usable time, so it cannot take part in windows or stream time.
public struct InvalidTimestampError: Error, CustomStringConvertible {
    /// The negative time, when the extractor returned one.
    public let timestamp: Int64?
    /// What the extractor threw, when it threw.
    public let underlying: (any Error)?

    @usableFromInline
    init(timestamp: Int64?, underlying: (any Error)?) {
        self.timestamp = timestamp
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "the timestamp extractor threw: \(underlying)" }
        return "negative timestamp \(timestamp ?? -1) (event times are milliseconds since the epoch, 0 or more)"
    }
}

extension TimestampExtractor {
    /// The extractor resolved against the configuration's default, with `clock` for wall
    /// time: a closure of the source node, called once per record.
    @usableFromInline
    func resolved(default configured: DefaultTimestampExtractor, clock: WallClock) -> ResolvedTimestampExtractor<Key, Value> {
        switch kind {
        case .configured:
            switch configured {
            case .recordTimestamp: .recordTimestamp
            case .wallClockTime: .computed { _, _, _ in clock.now() }
            case .metadata(let extract): .computed { _, _, context in try extract(context) }
            }
        case .recordTimestamp: .recordTimestamp
        case .wallClockTime: .computed { _, _, _ in clock.now() }
        case .metadata(let extract): .computed { _, _, context in try extract(context) }
        case .field(let extract): .computed(extract)
        }
    }
}

/// A source node's extractor: the record's own time (nothing to call), or a closure.
@usableFromInline
enum ResolvedTimestampExtractor<Key, Value> {
    case recordTimestamp
    case computed((Key, Value, RecordContext) throws -> Int64)
}
