/// A node of a topology that receives records one at a time on its task's stream thread.
///
/// A processor is created by the factory given to ``Topology/addProcessor(_:parents:stores:_:)``
/// (or ``KStream/process(named:stores:_:)``), once per task, with the ``ProcessorContext`` it
/// forwards results through; keep the context. It is used from one thread only, so it may
/// keep plain mutable state.
///
/// ```swift
/// final class Shout: Processor {
///     let context: ProcessorContext<String, String>
///     init(context: ProcessorContext<String, String>) { self.context = context }
///     func process(_ record: Record<String, String>) throws {
///         try context.forward(record.withValue(record.value.uppercased()))
///     }
/// }
/// ```
public protocol Processor<InputKey, InputValue>: AnyObject, SendableMetatype {
    associatedtype InputKey
    associatedtype InputValue

    /// Handles one record. A thrown error goes to the processing error handler.
    func process(_ record: Record<InputKey, InputValue>) throws

    /// Called once when the task closes (rebalance, shutdown); release resources here.
    func close()

    /// Called when the input has ended: in a bounded run that closes its windows at the end
    /// (``BoundedRun/closesWindowsAtEnd``), after the task's last record, and by
    /// `TopologyTestDriver`'s `finishInput()`. Forward here what waits for time to pass
    /// (a window's final result, a record held for a partner that can no longer come).
    /// Processors upstream in the task have finished first, and tasks upstream (across
    /// repartition topics) before this one. The default does nothing.
    func finishInput() throws
}

extension Processor {
    public func close() {}
    public func finishInput() throws {}
}

/// What a punctuation's schedule follows.
public enum PunctuationType: Sendable, Hashable {
    /// The largest record timestamp the task has seen: advances only with input.
    case streamTime
    /// The system clock (the test driver's simulated clock in tests).
    case wallClockTime
}

/// A scheduled punctuation; ``cancel()`` stops it.
public final class Cancellable {
    var isCancelled = false

    init() {}

    public func cancel() { isCancelled = true }
}
