/// Keeps each group's aggregate of a grouped table's rows: a change's old value is
/// subtracted from the group's aggregate first, then its new value added (Kafka Streams'
/// `KTableAggregate` order), and the result is stored and forwarded as the group's new
/// value (with the aggregate it replaces, when the table sends old values). Changes with
/// a null group key are skipped and counted.
@usableFromInline
final class TableAggregateProcessor<Key, Value, Aggregate>: Processor {
    /// Adds a row's value to the group's aggregate (`nil`: the group has none yet).
    @usableFromInline typealias Add = @Sendable (Key, Value, Aggregate?) throws -> Aggregate
    /// Takes a row's value out of the group's aggregate.
    @usableFromInline typealias Subtract = @Sendable (Key, Value, Aggregate) throws -> Aggregate

    @usableFromInline let context: ProcessorContext<Key, Change<Aggregate>>
    @usableFromInline let store: TypedKeyValueStore<Key, Aggregate>
    @usableFromInline let add: Add
    @usableFromInline let subtract: Subtract
    @usableFromInline let forwardsOnFlush: Bool

    @inlinable
    init(context: ProcessorContext<Key, Change<Aggregate>>, storeName: String, add: @escaping Add, subtract: @escaping Subtract) throws {
        self.context = context
        self.store = try context.typedStore(named: storeName)
        self.add = add
        self.subtract = subtract
        forwardsOnFlush = store.forwardFlushes(to: context)
    }

    @inlinable
    func process(_ record: Record<Key, Change<Value>>) throws {
        guard let key = try store.readForUpdate(record.key) else {
            context.skipNullKey(reason: "it belongs to no group")
            return
        }
        let oldAggregate = key.value
        var aggregate = oldAggregate
        if let oldValue = record.value.oldValue, let current = aggregate { aggregate = try subtract(record.key, oldValue, current) }
        if let newValue = record.value.newValue { aggregate = try add(record.key, newValue, aggregate) }
        // The group's time is the largest of the updates it took, as in Kafka Streams.
        let time = oldAggregate == nil ? record.timestamp : max(key.timestamp ?? record.timestamp, record.timestamp)
        try store.write(key, aggregate, timestamp: time, headers: record.headers)
        if !forwardsOnFlush {
            try context.forward(Record(
                key: record.key, value: Change(newValue: aggregate, oldValue: context.sendsOldValues ? oldAggregate : nil), timestamp: time,
                headers: record.headers))
        }
    }
}
