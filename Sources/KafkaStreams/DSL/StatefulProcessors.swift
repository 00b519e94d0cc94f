// The DSL's stateful processors are `@usableFromInline` with `@inlinable` per-record
// methods, made by `@inlinable` DSL code, and hold their store as the concrete typed store
// found once per task: an aggregation built in an application's module runs specialized
// for its key, value and aggregate types, down to the store's serdes.

/// Folds each record into the aggregate of its key, stores it, and forwards it as the
/// table's new value for that key (with the aggregate it replaces, when the table sends old
/// values). Records with a null key are skipped (they belong to no group), as in Kafka
/// Streams.
@usableFromInline
final class AggregateProcessor<Key, Value, Aggregate>: Processor {
    @usableFromInline typealias Fold = @Sendable (Key, Value, Aggregate?) throws -> Aggregate

    @usableFromInline let context: ProcessorContext<Key, Change<Aggregate>>
    @usableFromInline let store: TypedKeyValueStore<Key, Aggregate>
    @usableFromInline let fold: Fold
    /// Whether the store's cache forwards the updates (on flush) rather than this processor.
    @usableFromInline let forwardsOnFlush: Bool

    @inlinable
    init(context: ProcessorContext<Key, Change<Aggregate>>, storeName: String, fold: @escaping Fold) throws {
        self.context = context
        self.store = try context.typedStore(named: storeName)
        self.fold = fold
        forwardsOnFlush = store.forwardFlushes(to: context)
    }

    @inlinable
    func process(_ record: Record<Key, Value>) throws {
        guard let key = try store.readForUpdate(record.key) else {
            context.skipNullKey(reason: "it cannot be aggregated")
            return
        }
        let updated = try fold(record.key, record.value, key.value)
        // The aggregate's time is the largest of the records in it, as in Kafka Streams.
        let time = max(key.timestamp ?? record.timestamp, record.timestamp)
        try store.write(key, updated, timestamp: time, headers: record.headers)
        if !forwardsOnFlush {
            try context.forward(Record(
                key: record.key, value: Change(newValue: updated, oldValue: context.sendsOldValues ? key.value : nil), timestamp: time,
                headers: record.headers))
        }
    }
}

/// Keeps a table's rows in its store: the latest value of each key of a topic read as a
/// table (a null value deletes), or each change of a computed table (a materialized table
/// join's). Writes the new value with its time and forwards the change, with the row it
/// replaces when the table sends old values (through the record cache's flushes, when it
/// has one). `Input` is what arrives: a topic's `Value?`, or a `Change<Value>`.
@usableFromInline
final class TableStoreProcessor<Key, Value, Input>: Processor {
    @usableFromInline let context: ProcessorContext<Key, Change<Value>>
    @usableFromInline let store: TypedKeyValueStore<Key, Value>
    @usableFromInline let forwardsOnFlush: Bool
    /// The row an input sets (`nil`: deleted).
    @usableFromInline let newValue: (Input) -> Value?

    @inlinable
    init(context: ProcessorContext<Key, Change<Value>>, storeName: String, newValue: @escaping (Input) -> Value?) throws {
        self.context = context
        self.store = try context.typedStore(named: storeName)
        self.newValue = newValue
        forwardsOnFlush = store.forwardFlushes(to: context)
    }

    @inlinable
    func process(_ record: Record<Key, Input>) throws {
        // The old value is read only when it is sent (and the cache, when there is one,
        // sends the one below it at the flush).
        let readsOldValue = context.sendsOldValues && !forwardsOnFlush
        guard let key = try readsOldValue ? store.readForUpdate(record.key) : store.prepareWrite(record.key) else {
            context.skipNullKey(reason: "a table has no row for it")
            return
        }
        let value = newValue(record.value)
        try store.write(key, value, timestamp: record.timestamp, headers: record.headers)
        if !forwardsOnFlush { try context.forward(record.withValue(Change(newValue: value, oldValue: key.value))) }
    }
}

extension TypedKeyValueStore {
    /// Has the store's record cache forward the writes it lets go to the table node
    /// `context` (with old values when it sends them); false when the store has no cache,
    /// and the processor forwards each write itself.
    @inlinable
    func forwardFlushes(to context: ProcessorContext<Key, Change<Value>>) -> Bool {
        setFlushListener(isWanted: { context.hasChildren }, sendsOldValues: context.sendsOldValues) { try context.forward($0) }
    }
}

extension ProcessorContext {
    /// The task's store `name` as the DSL's processors hold it: the concrete typed store,
    /// found once per task.
    @usableFromInline
    func typedStore<StoreKey, StoreValue>(named name: String) throws -> TypedKeyValueStore<StoreKey, StoreValue> {
        let store: any KeyValueStore<StoreKey, StoreValue> = try store(named: name)
        guard let typed = store as? TypedKeyValueStore<StoreKey, StoreValue> else {
            throw StreamsError(.topology, "store \(name) is not a key-value store the DSL can use; it is \(type(of: store))")
        }
        return typed
    }

    /// Logs and counts a record skipped for its null key.
    @usableFromInline
    func skipNullKey(reason: String) {
        logger.warning("skipping a record with a null key: \(reason)", metadata: ["node": "\(nodeName)"])
        task.counters.skipped += 1
    }
}
