/// Folds each record into the aggregate of its key, stores it, and forwards it as the
/// table's new value for that key. Records with a null key are skipped (they belong to
/// no group), as in Kafka Streams.
final class AggregateProcessor<Key, Value, Aggregate>: Processor {
    typealias Fold = @Sendable (Key, Value, Aggregate?) throws -> Aggregate

    private let context: ProcessorContext<Key, Aggregate?>
    private let store: any KeyValueStore<Key, Aggregate>
    private let fold: Fold

    init(context: ProcessorContext<Key, Aggregate?>, storeName: String, fold: @escaping Fold) throws {
        self.context = context
        self.store = try context.store(named: storeName)
        self.fold = fold
    }

    func process(_ record: Record<Key, Value>) throws {
        if skipsNullKey(record.key, context: context, reason: "it cannot be aggregated") { return }
        let updated = try fold(record.key, record.value, try store.get(record.key))
        try store.put(record.key, updated)
        try context.forward(record.withValue(Optional(updated)))
    }
}

/// Keeps the latest value of each key of a topic read as a table; a null value deletes.
final class TableSourceProcessor<Key, Value>: Processor {
    private let context: ProcessorContext<Key, Value?>
    private let store: any KeyValueStore<Key, Value>

    init(context: ProcessorContext<Key, Value?>, storeName: String) throws {
        self.context = context
        self.store = try context.store(named: storeName)
    }

    func process(_ record: Record<Key, Value?>) throws {
        if skipsNullKey(record.key, context: context, reason: "a table has no row for it") { return }
        try store.put(record.key, record.value)
        try context.forward(record)
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
