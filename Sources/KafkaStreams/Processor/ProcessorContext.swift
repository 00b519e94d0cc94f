import Logging

/// What a processor sees of its task, and how it emits records.
///
/// `Key` and `Value` are the types the processor forwards, which its children receive.
/// A context belongs to one processor of one task and is used on that task's stream thread.
public final class ProcessorContext<Key, Value> {
    @usableFromInline let task: TaskContext
    /// This processor's node name in the topology.
    public let nodeName: String
    // One closure calling every child, rather than an array of receivers: calling through
    // an array of generic closures costs runtime metadata lookups per record. Set while
    // the task is built, read per record: no dynamic exclusivity check.
    @exclusivity(unchecked) @usableFromInline var emit: (Record<Key, Value>) throws -> Void = { _ in }
    private var children: [(Record<Key, Value>) throws -> Void] = []
    private var childNames: [String] = []

    /// Whether this node's table updates must carry old values (``Change/oldValue``),
    /// because a node downstream asked for them. Fixed when the topology is built.
    @usableFromInline let sendsOldValues: Bool

    init(task: TaskContext, nodeName: String, sendsOldValues: Bool = false) {
        self.task = task
        self.nodeName = nodeName
        self.sendsOldValues = sendsOldValues
    }

    /// Whether any node receives what this processor forwards (nothing reads a table
    /// that is only queried).
    @usableFromInline var hasChildren: Bool { !children.isEmpty }

    func addChild(_ receive: @escaping (Record<Key, Value>) throws -> Void, named name: String) {
        children.append(receive)
        childNames.append(name)
        let all = children
        emit = all.count == 1 ? receive : { record in for child in all { try child(record) } }
    }

    /// Sends a record to every child, or only to the child node called `child`.
    /// Children run before this returns; their errors propagate to the caller.
    @inlinable
    public func forward(_ record: Record<Key, Value>, to child: String? = nil) throws {
        if let child {
            try forward(record, toChild: child)
        } else {
            try emit(record)
        }
    }

    /// Sends a record stamped with another time (``Record/withTimestamp(_:)``).
    @inlinable
    public func forward(_ record: Record<Key, Value>, timestamp: Int64, to child: String? = nil) throws {
        try forward(record.withTimestamp(timestamp), to: child)
    }

    @usableFromInline
    func forward(_ record: Record<Key, Value>, toChild child: String) throws {
        guard let index = childNames.firstIndex(of: child) else {
            throw StreamsError(.topology, "node \(nodeName) has no child named \(child) (children: \(childNames))")
        }
        try children[index](record)
    }

    /// The task running this processor (sub-topology and partition).
    public var taskID: TaskID { task.id }

    /// The application id (the consumer group, and the prefix of internal topics).
    public var applicationID: String { task.applicationID }

    /// Where the record being processed came from; `nil` inside a punctuation.
    public var recordContext: RecordContext? { task.currentRecord }

    /// The source topic of the record being processed.
    public var topic: String? { task.currentRecord?.topic }

    /// The source partition of the record being processed.
    public var partition: Int32? { task.currentRecord?.partition }

    /// The source offset of the record being processed.
    public var offset: Int64? { task.currentRecord?.offset }

    /// The headers of the record being processed, as read from the source topic.
    public var headers: [RecordHeader] { task.currentRecord?.headers ?? [] }

    /// The largest event time this task has processed (milliseconds), or -1 before its
    /// first record; it never goes back, whatever order records come in.
    public var streamTime: Int64 { task.streamTime }

    /// The wall-clock time in milliseconds since the epoch (simulated in the test driver).
    public var wallClockTime: Int64 { task.clock.now() }

    /// A logger carrying the application, thread and task ids.
    public var logger: Logger { task.logger }

    /// Calls `punctuator` every `interval` of stream time or wall-clock time, on this
    /// task's thread, with the time that triggered it. As in Kafka Streams, stream-time
    /// punctuations are due at multiples of `interval` (the first as soon as the task has
    /// a record), wall-clock ones at multiples of `interval` after the call; when time
    /// jumps past several due times (a gap in the data, a stall), the punctuation fires
    /// once and the next is the next multiple, so the schedule never drifts. Stream-time
    /// punctuations fire at most once per processed record.
    @discardableResult
    public func schedule(
        every interval: Duration, type: PunctuationType, _ punctuator: @escaping (Int64) throws -> Void
    ) -> Cancellable {
        if type == .wallClockTime { task.counters.wallClockPunctuators += 1 }
        return task.punctuations.schedule(every: interval, type: type, node: nodeName, start: task.now(for: type), punctuator)
    }

    /// The task's key-value store called `name`, as added with
    /// ``Topology/addStateStore(_:)`` (or by a DSL aggregation), with its key and value types.
    public func store<StoreKey, StoreValue>(
        named name: String, key: StoreKey.Type = StoreKey.self, value: StoreValue.Type = StoreValue.self
    ) throws -> any KeyValueStore<StoreKey, StoreValue> {
        guard let store = task.stores[name] else {
            throw StreamsError(.topology, "node \(nodeName) uses no store named \(name) (stores of task \(task.id): \(task.stores.keys.sorted()))")
        }
        guard let typed = store as? any KeyValueStore<StoreKey, StoreValue> else {
            throw StreamsError(.topology, "store \(name) does not hold (\(StoreKey.self), \(StoreValue.self)); it is \(type(of: store))")
        }
        return typed
    }

    /// Asks for a commit as soon as the current record is done, before the commit
    /// interval is up.
    public func requestCommit() {
        task.counters.commitRequested = true
    }
}
