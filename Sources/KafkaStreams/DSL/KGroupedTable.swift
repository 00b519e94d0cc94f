extension KTable {
    /// Groups the table's rows by a new key (and value) chosen per row, for a table
    /// aggregation. Every update goes through the repartition topic
    /// `<applicationId>-<name>-repartition` as a change: the row's old pair leaves its group
    /// (the aggregation subtracts it) and its new pair joins one (it adds it), so a row
    /// whose key moves to another group is taken out of the group it left. When the old and
    /// new pairs have the same key, one record carries both, as in Kafka Streams.
    ///
    /// The table sends old values from then on (see ``Change``).
    @inlinable
    public func groupBy<NewKey: Equatable & SendableMetatype, NewValue>(
        named: String? = nil, key: AnySerde<NewKey>? = nil, value: AnySerde<NewValue>? = nil,
        _ selector: @escaping @Sendable (Key, Value) throws -> (key: NewKey, value: NewValue)
    ) -> KGroupedTable<NewKey, NewValue> {
        builder.sendOldValues(from: node)
        let selected = updates.stateless(prefix: "KTABLE-SELECT-", named: named.map { "\($0)-select" }, changesKey: true) {
            (record, context: ProcessorContext<NewKey, Change<NewValue>>) in
            let old = try record.value.oldValue.map { try selector(record.key, $0) }
            let new = try record.value.newValue.map { try selector(record.key, $0) }
            // The old pair first: a group gives the row up before another takes it.
            if let old, let new, old.key == new.key {
                try context.forward(record.withKey(new.key).withValue(Change(newValue: new.value, oldValue: old.value)))
                return
            }
            if let old { try context.forward(record.withKey(old.key).withValue(Change(newValue: nil, oldValue: old.value))) }
            if let new { try context.forward(record.withKey(new.key).withValue(Change(newValue: new.value, oldValue: nil))) }
        }
        let repartitioned = selected.repartition(named: named, key: key, value: value.map { AnySerde.change($0) })
        return KGroupedTable(changes: repartitioned, valueSerde: value)
    }
}

/// A table's rows grouped by a new key (``KTable/groupBy(named:key:value:_:)``), ready to
/// be aggregated into a ``KTable``. Each aggregation adds a row's value to its group and
/// subtracts it when the row changes or is deleted, so it stays the aggregate of the rows
/// in the group now; its state is a store (see ``Materialized``) with a changelog.
public struct KGroupedTable<Key, Value> {
    /// The rows' changes, keyed by group, as the aggregations receive them.
    @usableFromInline let changes: KStream<Key, Change<Value>>
    @usableFromInline let valueSerde: AnySerde<Value>?

    @usableFromInline
    init(changes: KStream<Key, Change<Value>>, valueSerde: AnySerde<Value>?) {
        self.changes = changes
        self.valueSerde = valueSerde
    }

    /// The number of rows in each group. A group whose rows all left keeps a count of 0.
    @inlinable @discardableResult
    public func count(named: String? = nil, materialized: Materialized = Materialized()) -> KTable<Key, Int64> {
        fold(named: named, materialized: materialized, aggregateSerde: .int64, add: { _, _, count in (count ?? 0) + 1 }, subtract: { _, _, count in count - 1 })
    }

    /// Combines the rows of each group with `adder(aggregate, value)` (the first row is the
    /// first aggregate), and takes a row's value out with `subtractor(aggregate, value)`.
    @inlinable @discardableResult
    public func reduce(
        named: String? = nil, materialized: Materialized = Materialized(),
        adder: @escaping @Sendable (Value, Value) throws -> Value, subtractor: @escaping @Sendable (Value, Value) throws -> Value
    ) -> KTable<Key, Value> {
        fold(
            named: named, materialized: materialized, aggregateSerde: valueSerde,
            add: { _, value, aggregate in try aggregate.map { try adder($0, value) } ?? value },
            subtract: { _, value, aggregate in try subtractor(aggregate, value) })
    }

    /// Folds the rows of each group into an aggregate, starting from `initializer()`:
    /// `adder` adds a row's value, `subtractor` takes one out. `value` serializes the
    /// aggregate (default: the configuration's default value serde).
    @inlinable @discardableResult
    public func aggregate<Aggregate>(
        named: String? = nil, materialized: Materialized = Materialized(), value: AnySerde<Aggregate>? = nil,
        initializer: @escaping @Sendable () -> Aggregate,
        adder: @escaping @Sendable (Key, Value, Aggregate) throws -> Aggregate,
        subtractor: @escaping @Sendable (Key, Value, Aggregate) throws -> Aggregate
    ) -> KTable<Key, Aggregate> {
        fold(
            named: named, materialized: materialized, aggregateSerde: value,
            add: { key, value, aggregate in try adder(key, value, aggregate ?? initializer()) }, subtract: subtractor)
    }

    @inlinable
    func fold<Aggregate>(
        named: String?, materialized: Materialized, aggregateSerde: AnySerde<Aggregate>?,
        add: @escaping TableAggregateProcessor<Key, Value, Aggregate>.Add, subtract: @escaping TableAggregateProcessor<Key, Value, Aggregate>.Subtract
    ) -> KTable<Key, Aggregate> {
        changes.builder.aggregation(
            named: named, prefix: "KTABLE-AGGREGATE-", parent: changes.node, materialized: materialized, keySerde: changes.keySerde,
            aggregateSerde: aggregateSerde
        ) { context, storeName in try TableAggregateProcessor<Key, Value, Aggregate>(context: context, storeName: storeName, add: add, subtract: subtract) }
    }
}
