import RdKafka

/// A failure of the application itself: configuration, topology, topics, the broker.
public struct StreamsError: Error, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A configuration value is missing or invalid.
        case configuration
        /// The topology is malformed (unknown parent, duplicate name, type mismatch, ...).
        case topology
        /// A source topic does not exist.
        case missingSourceTopic
        /// Input topics that must be co-partitioned have different partition counts.
        case partitionCountMismatch
        /// The Kafka client failed in a way the runtime cannot recover from.
        case kafka
        /// A commit could not be completed.
        case commit
    }

    public let kind: Kind
    public let message: String
    public let underlying: (any Error)?

    public init(_ kind: Kind, _ message: String, underlying: (any Error)? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        underlying.map { "\(message): \($0)" } ?? message
    }
}

/// Where an input record was read from (printed `topic[partition]@offset`).
public typealias SourceCoordinates = TopicPartitionOffset

/// A key or value that its source's serde rejected, or a record whose event time is
/// invalid (negative, or its extractor threw: ``InvalidTimestampError``).
public struct DeserializationError: Error, CustomStringConvertible {
    public enum Part: String, Sendable { case key, value, timestamp }

    public let part: Part
    public let source: SourceCoordinates
    public let underlying: any Error

    @usableFromInline
    init(part: Part, source: SourceCoordinates, underlying: any Error) {
        self.part = part
        self.source = source
        self.underlying = underlying
    }

    public var description: String {
        part == .timestamp ? "no valid timestamp for \(source): \(underlying)" : "cannot deserialize the \(part) of \(source): \(underlying)"
    }
}

/// An error thrown by a processor (or a DSL closure) while handling a record or a
/// punctuation.
public struct ProcessingError: Error, CustomStringConvertible {
    /// The node whose code threw.
    public let node: String
    /// The input record being processed; `nil` in a punctuation.
    public let source: SourceCoordinates?
    public let underlying: any Error

    public var description: String {
        "processor \(node) failed\(source.map { " on \($0)" } ?? " in a punctuation"): \(underlying)"
    }
}

/// An output that could not be serialized or delivered.
public struct ProductionError: Error, CustomStringConvertible {
    /// The topic the output was meant for.
    public let topic: String
    /// The input record it was derived from, when known.
    public let source: SourceCoordinates?
    public let underlying: any Error

    public var description: String {
        "cannot produce to \(topic)\(source.map { " (from \($0))" } ?? ""): \(underlying)"
    }
}

/// An error inside the processor graph, tagged with the node that threw it.
@usableFromInline
struct NodeFailure: Error {
    let node: String
    let underlying: any Error

    @usableFromInline
    init(node: String, underlying: any Error) {
        self.node = node
        self.underlying = underlying
    }
}

/// An output that its sink could not serialize.
@usableFromInline
struct SerializationFailure: Error {
    let topic: String
    let underlying: any Error

    @usableFromInline
    init(topic: String, underlying: any Error) {
        self.topic = topic
        self.underlying = underlying
    }
}
