extension KStream {
    /// Groups records by their current key, for an aggregation. When an earlier operation
    /// may have changed keys (`map`, `selectKey`, `flatMap`, `process`), the records first
    /// go through a repartition topic so each key's records meet in one task.
    @inlinable
    public func groupByKey(named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil) -> KGroupedStream<Key, Value> {
        let keySerde = key ?? self.keySerde
        let valueSerde = value ?? self.valueSerde
        guard repartitionRequired else {
            return KGroupedStream(stream: KStream(builder: builder, node: node, keySerde: keySerde, valueSerde: valueSerde))
        }
        return KGroupedStream(stream: repartition(named: named, key: keySerde, value: valueSerde))
    }

    /// Groups records by a new key chosen per record; they go through the repartition
    /// topic `<applicationId>-<name>-repartition` so each key's records meet in one task.
    @inlinable
    public func groupBy<NewKey>(
        named: String? = nil, key: AnySerde<NewKey>? = nil, value: AnySerde<Value>? = nil,
        _ selector: @escaping @Sendable (Key, Value) throws -> NewKey
    ) -> KGroupedStream<NewKey, Value> {
        selectKey(selector).groupByKey(named: named, key: key, value: value)
    }
}

/// Records grouped by key, ready to be aggregated into a ``KTable``. Each aggregation keeps
/// its state in a store (see ``Materialized``) with a changelog it is rebuilt from.
///
/// The aggregations are `@inlinable`, as the stream operations are: their processors and
/// stores run specialized for your key, value and aggregate types.
public struct KGroupedStream<Key, Value> {
    @usableFromInline let stream: KStream<Key, Value>

    @usableFromInline
    init(stream: KStream<Key, Value>) {
        self.stream = stream
    }

    /// The number of records of each key.
    @inlinable @discardableResult
    public func count(named: String? = nil, materialized: Materialized = Materialized()) -> KTable<Key, Int64> {
        fold(named: named, materialized: materialized, aggregateSerde: .int64) { _, _, count in (count ?? 0) + 1 }
    }

    /// Combines the records of each key with `reducer(aggregate, value)`; the first record
    /// of a key is its first aggregate.
    @inlinable @discardableResult
    public func reduce(
        named: String? = nil, materialized: Materialized = Materialized(),
        _ reducer: @escaping @Sendable (Value, Value) throws -> Value
    ) -> KTable<Key, Value> {
        fold(named: named, materialized: materialized, aggregateSerde: stream.valueSerde) { _, value, aggregate in
            try aggregate.map { try reducer($0, value) } ?? value
        }
    }

    /// Folds the records of each key into an aggregate, starting from `initializer()`.
    /// `value` serializes the aggregate (default: the configuration's default value serde).
    @inlinable @discardableResult
    public func aggregate<Aggregate>(
        named: String? = nil, materialized: Materialized = Materialized(), value: AnySerde<Aggregate>? = nil,
        initializer: @escaping @Sendable () -> Aggregate,
        _ adder: @escaping @Sendable (Key, Value, Aggregate) throws -> Aggregate
    ) -> KTable<Key, Aggregate> {
        fold(named: named, materialized: materialized, aggregateSerde: value) { key, value, aggregate in
            try adder(key, value, aggregate ?? initializer())
        }
    }

    @inlinable
    func fold<Aggregate>(
        named: String?, materialized: Materialized, aggregateSerde: AnySerde<Aggregate>?,
        _ fold: @escaping AggregateProcessor<Key, Value, Aggregate>.Fold
    ) -> KTable<Key, Aggregate> {
        stream.builder.aggregation(
            named: named, prefix: "KSTREAM-AGGREGATE-", parent: stream.node, materialized: materialized, keySerde: stream.keySerde,
            aggregateSerde: aggregateSerde
        ) { context, storeName in try AggregateProcessor<Key, Value, Aggregate>(context: context, storeName: storeName, fold: fold) }
    }
}

extension StreamsBuilder {
    /// Adds an aggregation after `parent`: its timestamped key-value store (named by the
    /// `Materialized`, else generated) and the processor `makeProcessor` makes, which
    /// forwards the aggregate's changes; returns the aggregate table.
    @inlinable
    func aggregation<Key, Aggregate, P: Processor>(
        named: String?, prefix: String, parent: String, materialized: Materialized, keySerde: AnySerde<Key>?, aggregateSerde: AnySerde<Aggregate>?,
        makeProcessor: @escaping @Sendable (ProcessorContext<Key, Change<Aggregate>>, _ storeName: String) throws -> P
    ) -> KTable<Key, Aggregate> {
        let name = nodeName(named, prefix: prefix)
        let storeName = materialized.storeName ?? nodeName(nil, prefix: "\(prefix)STATE-STORE-")
        let store = materialized.builder(named: storeName, key: keySerde, value: aggregateSerde, timestamped: true)
        record { topology in
            try topology.addStateStore(store)
            try topology.addProcessor(name, parents: [parent], stores: [storeName]) { (context: ProcessorContext<Key, Change<Aggregate>>) in
                try makeProcessor(context, storeName)
            }
        }
        return KTable(builder: self, node: name, storeName: storeName, keySerde: keySerde, valueSerde: aggregateSerde)
    }
}
