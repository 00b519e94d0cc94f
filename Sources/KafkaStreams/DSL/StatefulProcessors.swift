/// Folds each record into the aggregate of its key, stores it, and forwards it as the
/// table's new value for that key. Records with a null key are skipped (they belong to
/// no group), as in Kafka Streams.
final class AggregateProcessor<Key, Value, Aggregate>: Processor {
    typealias Fold = @Sendable (Key, Value, Aggregate?) throws -> Aggregate

    private let context: ProcessorContext<Key, Aggregate?>
    private let store: any KeyValueStore<Key, Aggregate>
    private let fold: Fold
    private let forwardsOnFlush: Bool

    init(context: ProcessorContext<Key, Aggregate?>, storeName: String, fold: @escaping Fold) throws {
        self.context = context
        self.store = try context.store(named: storeName)
        self.fold = fold
        forwardsOnFlush = forwardCacheFlushes(of: store, to: context)
    }

    func process(_ record: Record<Key, Value>) throws {
        if skipsNullKey(record.key, context: context, reason: "it cannot be aggregated") { return }
        let updated = try fold(record.key, record.value, try store.get(record.key))
        try put(record.key, updated, from: record, into: store, context: context, forwardsOnFlush: forwardsOnFlush)
    }
}

/// Keeps the latest value of each key of a topic read as a table; a null value deletes.
final class TableSourceProcessor<Key, Value>: Processor {
    private let context: ProcessorContext<Key, Value?>
    private let store: any KeyValueStore<Key, Value>
    private let forwardsOnFlush: Bool

    init(context: ProcessorContext<Key, Value?>, storeName: String) throws {
        self.context = context
        self.store = try context.store(named: storeName)
        forwardsOnFlush = forwardCacheFlushes(of: store, to: context)
    }

    func process(_ record: Record<Key, Value?>) throws {
        if skipsNullKey(record.key, context: context, reason: "a table has no row for it") { return }
        try put(record.key, record.value, from: record, into: store, context: context, forwardsOnFlush: forwardsOnFlush)
    }
}

/// Makes a cached store send its coalesced updates downstream; returns whether it does
/// (false: the store has no cache, and each update is forwarded as it is stored).
private func forwardCacheFlushes<Key, Value>(of store: any KeyValueStore<Key, Value>, to context: ProcessorContext<Key, Value?>) -> Bool {
    guard let typed = store as? TypedKeyValueStore<Key, Value> else { return false }
    return typed.setFlushListener { record in try context.forward(record) }
}

/// Stores a table's new value of `key`, and forwards it now unless the store's cache will.
private func put<Key, Value, Input>(
    _ key: Key, _ value: Value?, from record: Record<Key, Input>, into store: any KeyValueStore<Key, Value>,
    context: ProcessorContext<Key, Value?>, forwardsOnFlush: Bool
) throws {
    guard forwardsOnFlush else {
        try store.put(key, value)
        try context.forward(Record(key: key, value: value, timestamp: record.timestamp, headers: record.headers))
        return
    }
    // The cache keeps the record's own time and headers for the update it forwards later.
    try context.task.withCurrentRecord(timestamp: record.timestamp, headers: record.headers) {
        try store.put(key, value)
    }
}

/// Whether `key` is null; if so, logs and counts the record as skipped.
private func skipsNullKey<Key, Value>(_ key: Key, context: ProcessorContext<Key, Value>, reason: String) -> Bool {
    guard isNil(key) else { return false }
    context.logger.warning("skipping a record with a null key: \(reason)", metadata: ["node": "\(context.nodeName)"])
    context.task.counters.skipped += 1
    return true
}

/// Whether `value` is an `Optional` holding nothing (keys are generic, and may be optional).
private func isNil<T>(_ value: T) -> Bool {
    (value as? any OptionalMarker)?.isNone ?? false
}

private protocol OptionalMarker {
    var isNone: Bool { get }
}

extension Optional: OptionalMarker {
    fileprivate var isNone: Bool { self == nil }
}
