/// A node of a topology that receives records one at a time on its task's stream thread.
///
/// A processor is created by the factory given to ``Topology/addProcessor(_:parents:stores:_:)``
/// (or ``KStream/process(named:_:)``), once per task, with the ``ProcessorContext`` it
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
}

extension Processor {
    public func close() {}
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
