import KafkaStreams
import RdKafka

/// A record as a simulated partition keeps it.
public struct SimulatedRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch.
    public var timestamp: Int64
    /// The transactional id of the producer that wrote it inside a transaction, if any.
    public var transactionalID: String?
    /// What became of its transaction (`.committed` for records written outside one).
    public var outcome: TransactionOutcome

    /// The fate of a transaction.
    public enum TransactionOutcome: Sendable, Hashable {
        case open, committed, aborted
    }
}

/// Which records a read returns, as Kafka's `isolation.level`.
public enum IsolationLevel: Sendable, Hashable {
    /// Records of committed transactions and records written outside transactions, up to
    /// the first record of a transaction still open.
    case readCommitted
    /// Every record, aborted ones included.
    case readUncommitted
}
