/// A table: the latest value of each key, as a changelog stream of updates. Downstream
/// table operators receive every update as a ``Change`` (the new value, `nil` when the key
/// was deleted or, after ``filter(named:materialized:_:)``, no longer matches; and the old value when
/// one of them asked for it); ``toStream(named:)`` gives the new values as a stream.
public struct KTable<Key, Value> {
    @usableFromInline let builder: StreamsBuilder
    @usableFromInline let node: String
    /// The store holding the table, when it is materialized.
    public let storeName: String?
    @usableFromInline let keySerde: AnySerde<Key>?
    @usableFromInline let valueSerde: AnySerde<Value>?
    /// How other nodes look up the table's current values (a windowed table's getter says
    /// why they cannot).
    @usableFromInline let valueGetter: TableValueGetter<Key, Value>

    /// A table whose values other nodes look up in its key-value store `storeName`, unless
    /// `valueGetter` says otherwise; one of them there must be.
    @usableFromInline
    init(
        builder: StreamsBuilder, node: String, storeName: String?, keySerde: AnySerde<Key>?, valueSerde: AnySerde<Value>?,
        valueGetter: TableValueGetter<Key, Value>? = nil
    ) {
        self.builder = builder
        self.node = node
        self.storeName = storeName
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        guard let getter = valueGetter ?? storeName.map({ TableValueGetter.materialized($0) }) else {
            preconditionFailure("table \(node) has neither a store nor a way to look it up")
        }
        self.valueGetter = getter
    }

    /// The updates as a stream of `(key, value?)` records (`nil`: deleted).
    public func toStream(named: String? = nil) -> KStream<Key, Value?> {
        updates.stateless(
            prefix: "KTABLE-TOSTREAM-", named: named,
            valueSerde: valueSerde.map { AnySerde<Value?>.optional($0) }
        ) { record, context in
            try context.forward(record.withValue(record.value.newValue))
        }
    }

    /// Keeps the keys whose value satisfies `predicate`; an update that does not sends a
    /// deletion downstream (and none when the key did not match before either, if the
    /// table sends old values: nothing downstream held it). With `materialized`, the
    /// kept rows are also stored (with a changelog) and queryable by the store's name.
    public func filter(
        named: String? = nil, materialized: Materialized? = nil, _ predicate: @escaping @Sendable (Key, Value) throws -> Bool
    ) -> KTable<Key, Value> {
        let filtered = derived(updates.stateless(prefix: "KTABLE-FILTER-", named: named) { (record, context: ProcessorContext<Key, Change<Value>>) in
            let matching = { (value: Value?) throws -> Value? in try value.flatMap { try predicate(record.key, $0) ? $0 : nil } }
            let newValue = try matching(record.value.newValue)
            let oldValue = context.sendsOldValues ? try matching(record.value.oldValue) : nil
            if context.sendsOldValues && newValue == nil && oldValue == nil { return }
            try context.forward(record.withValue(Change(newValue: newValue, oldValue: oldValue)))
        }, valueSerde: valueSerde, valueGetter: valueGetter.map { key, value in try predicate(key, value) ? value : nil })
        return materialized.map { filtered.materialize($0, named: named.map { "\($0)-materialize" }) } ?? filtered
    }

    /// Keeps the keys whose value does not satisfy `predicate` (see ``filter(named:materialized:_:)``).
    public func filterNot(
        named: String? = nil, materialized: Materialized? = nil, _ predicate: @escaping @Sendable (Key, Value) throws -> Bool
    ) -> KTable<Key, Value> {
        filter(named: named, materialized: materialized) { key, value in try !predicate(key, value) }
    }

    /// Transforms each value; deletions stay deletions. With `materialized`, the new rows
    /// are also stored (serialized with `value`) and queryable by the store's name.
    public func mapValues<NewValue>(
        named: String? = nil, materialized: Materialized? = nil, value: AnySerde<NewValue>? = nil,
        _ transform: @escaping @Sendable (Value) throws -> NewValue
    ) -> KTable<Key, NewValue> {
        let mapped = derived(updates.stateless(prefix: "KTABLE-MAPVALUES-", named: named) { (record, context: ProcessorContext<Key, Change<NewValue>>) in
            let oldValue = context.sendsOldValues ? try record.value.oldValue.map(transform) : nil
            try context.forward(record.withValue(Change(newValue: try record.value.newValue.map(transform), oldValue: oldValue)))
        }, valueSerde: value ?? (valueSerde as? AnySerde<NewValue>), valueGetter: valueGetter.map { _, value in try transform(value) })
        return materialized.map { mapped.materialize($0, named: named.map { "\($0)-materialize" }) } ?? mapped
    }

    /// This table's node as a stream of changes (what its children receive).
    @usableFromInline var updates: KStream<Key, Change<Value>> {
        KStream(builder: builder, node: node, keySerde: keySerde, valueSerde: nil)
    }

    /// A table computed from this one record by record (not materialized): old values it is
    /// asked for come from this table's.
    private func derived<NewValue>(
        _ stream: KStream<Key, Change<NewValue>>, valueSerde: AnySerde<NewValue>?, valueGetter: TableValueGetter<Key, NewValue>
    ) -> KTable<Key, NewValue> {
        builder.noteDerivedTable(stream.node, from: node)
        return KTable<Key, NewValue>(
            builder: builder, node: stream.node, storeName: nil, keySerde: keySerde, valueSerde: valueSerde, valueGetter: valueGetter)
    }
}

extension StreamsBuilder {
    /// A table of the latest value per key of `topic` (a null value deletes its key). The
    /// topic is the table's changelog: its store is rebuilt from it, so the topic should
    /// be compacted. `timestamp` gives each update its event time (a tombstone's value is
    /// `nil`).
    @inlinable @discardableResult
    public func table<Key, Value>(
        _ topic: String, named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil,
        materialized: Materialized = Materialized(), timestamp: TimestampExtractor<Key, Value?> = .configured
    ) -> KTable<Key, Value> {
        let sourceName = nodeName(named.map { "\($0)-source" }, prefix: "KSTREAM-SOURCE-")
        let name = nodeName(named, prefix: "KTABLE-SOURCE-")
        let storeName = materialized.storeName ?? nodeName(nil, prefix: "\(topic)-STATE-STORE-")
        // Timestamped: a table join's result carries the later of its two rows' times.
        let store = materialized.builder(named: storeName, key: key, value: value, timestamped: true)
        let optionalValue = value.map { AnySerde<Value?>.optional($0) }
        record { topology in
            try topology.addSource(sourceName, topics: [.external(topic)], key: key, value: optionalValue, timestamp: timestamp)
            try topology.addTableStore(store, topic: topic)
            try topology.addProcessor(name, parents: [sourceName], stores: [storeName]) { (context: ProcessorContext<Key, Change<Value>>) in
                try TableStoreProcessor<Key, Value, Value?>(context: context, storeName: storeName) { $0 }
            }
        }
        return KTable(builder: self, node: name, storeName: storeName, keySerde: key, valueSerde: value)
    }
}
