import KafkaStreams

/// How often a simulated cluster makes an application instance crash, or fail a
/// transaction, at a client call. Decisions come from the cluster's seeded generator:
/// the same seed and the same calls give the same crashes.
public struct CrashInjection: Sendable {
    /// The chance that an instance dies at any one step (poll, send, flush, offset
    /// commit, each transactional call, each store checkpoint), before or after the
    /// step takes effect.
    public var crashProbability: Double
    /// The chance that a send, an offset send or a transaction commit fails with an
    /// abortable error (the runtime must abort and rewind).
    public var abortableErrorProbability: Double
    /// At most this many crashes per cluster; then instances run on unharmed, so that a
    /// simulation ends.
    public var maxCrashes: Int

    public init(crashProbability: Double = 0, abortableErrorProbability: Double = 0, maxCrashes: Int = .max) {
        self.crashProbability = crashProbability
        self.abortableErrorProbability = abortableErrorProbability
        self.maxCrashes = maxCrashes
    }

    /// No crash and no injected error.
    public static let none = CrashInjection()
}

/// Thrown by every client of an instance that the simulated cluster made crash: the
/// process is gone, nothing it would still do reaches the cluster.
public struct SimulatedCrash: Error, CustomStringConvertible, ProcessCrash {
    /// The step the instance died at.
    public let step: SimulatedStep

    public var description: String { "simulated crash at \(step)" }
}

/// The steps of a client call where a simulated cluster can crash an instance or hold it.
public enum SimulatedStep: String, Sendable, Hashable, CustomStringConvertible {
    case poll, send, flush, commitOffsets, initTransactions, beginTransaction, sendOffsets, commitTransaction, abortTransaction
    case checkpoint, other

    public var description: String { rawValue }
}
