/// A table every application instance holds whole: all partitions of its topic, restored
/// to the topic's end before any task processes a record, then kept up to date as updates
/// arrive (Kafka Streams' `GlobalKTable`). A stream joins it by a key it maps each record
/// to (``KStream/join(_:named:key:_:)``), with no co-partitioning and no repartition; it is
/// queryable by its store name on every instance.
public struct GlobalKTable<Key, Value> {
    /// The store holding the table, which ``StreamsApp/store(named:key:value:)`` reads.
    public let storeName: String
    @usableFromInline let valueGetter: TableValueGetter<Key, Value>
}

extension StreamsBuilder {
    /// A global table of the latest value per key of `topic` (a null value deletes its key):
    /// every instance reads all of the topic into its store (`materialized`; no changelog,
    /// as the topic is one, so it should be compacted). A global table is rebuilt from the
    /// topic's start at each start of the application.
    public func globalTable<Key, Value>(
        _ topic: String, named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil,
        materialized: Materialized = Materialized()
    ) -> GlobalKTable<Key, Value> {
        let sourceName = nodeName(named.map { "\($0)-source" }, prefix: "KSTREAM-SOURCE-")
        let processorName = nodeName(named, prefix: "KTABLE-SOURCE-")
        let storeName = materialized.storeName ?? nodeName(nil, prefix: "\(topic)-STATE-STORE-")
        let store = materialized.builder(named: storeName, key: key, value: value)
        record { topology in
            try topology.addGlobalStore(store, topic: topic, sourceName: sourceName, processorName: processorName, key: key, value: value)
        }
        return GlobalKTable(storeName: storeName, valueGetter: .materialized(storeName))
    }
}

extension KStream {
    /// Joins each record with the row of the global table `table` whose key `key(key,
    /// value)` names (an inner join): records whose mapped key has no row, or is `nil`, are
    /// not sent on. Only this stream's records trigger; the table's updates only change what
    /// later records find. The result keeps the record's key, time and headers, and needs
    /// no repartition: every instance holds the whole table.
    public func join<TableKey, TableValue, Output>(
        _ table: GlobalKTable<TableKey, TableValue>, named: String? = nil, key: @escaping @Sendable (Key, Value) throws -> TableKey?,
        _ joiner: @escaping @Sendable (Value, TableValue) throws -> Output
    ) -> KStream<Key, Output> {
        joinGlobal(table, named: named, leftJoin: false, key: key) { value, tableValue in try joiner(value, tableValue!) }
    }

    /// Joins each record with the row of the global table `table` whose key `key(key,
    /// value)` names, or with `nil` when there is none (a left join). See
    /// ``join(_:named:key:_:)``.
    public func leftJoin<TableKey, TableValue, Output>(
        _ table: GlobalKTable<TableKey, TableValue>, named: String? = nil, key: @escaping @Sendable (Key, Value) throws -> TableKey?,
        _ joiner: @escaping @Sendable (Value, TableValue?) throws -> Output
    ) -> KStream<Key, Output> {
        joinGlobal(table, named: named, leftJoin: true, key: key, joiner)
    }

    private func joinGlobal<TableKey, TableValue, Output>(
        _ table: GlobalKTable<TableKey, TableValue>, named: String?, leftJoin: Bool, key: @escaping @Sendable (Key, Value) throws -> TableKey?,
        _ joiner: @escaping @Sendable (Value, TableValue?) throws -> Output
    ) -> KStream<Key, Output> {
        let name = builder.nodeName(named, prefix: leftJoin ? "KSTREAM-LEFTJOIN-" : "KSTREAM-JOIN-")
        let parent = node
        let getter = table.valueGetter
        builder.record { topology in
            try topology.addProcessor(name, parents: [parent], stores: getter.storeNames) { (context: ProcessorContext<Key, Output>) in
                try GlobalTableJoinProcessor<Key, Value, TableKey, TableValue, Output>(
                    context: context, table: getter, leftJoin: leftJoin, tableKey: key, joiner: joiner)
            }
        }
        return KStream<Key, Output>(builder: builder, node: name, keySerde: keySerde, valueSerde: nil, repartitionRequired: repartitionRequired)
    }
}

/// Joins each stream record with the global table's row for the key it maps to (Kafka
/// Streams' `KStreamGlobalKTableJoin`). A null value is skipped and counted; so is a record
/// whose mapped key is `nil` (or serializes to null) in an inner join, while a left join
/// joins it with `nil`.
final class GlobalTableJoinProcessor<Key, Value, TableKey, TableValue, Output>: Processor {
    let context: ProcessorContext<Key, Output>
    let lookup: (TableKey) throws -> TableLookup<TableValue>
    let leftJoin: Bool
    let tableKey: @Sendable (Key, Value) throws -> TableKey?
    let joiner: @Sendable (Value, TableValue?) throws -> Output
    let nullValues = NullValueCheck<Value>()

    init(
        context: ProcessorContext<Key, Output>, table: TableValueGetter<TableKey, TableValue>, leftJoin: Bool,
        tableKey: @escaping @Sendable (Key, Value) throws -> TableKey?, joiner: @escaping @Sendable (Value, TableValue?) throws -> Output
    ) throws {
        self.context = context
        lookup = try table.make(context.task)
        self.leftJoin = leftJoin
        self.tableKey = tableKey
        self.joiner = joiner
    }

    func process(_ record: Record<Key, Value>) throws {
        if nullValues.isNull(record.value) {
            context.skipUnjoinable(reason: "a null value has nothing to join")
            return
        }
        var tableValue: TableValue?
        if let mapped = try tableKey(record.key, record.value), case .found(let value, _) = try lookup(mapped) {
            tableValue = value
        } else if !leftJoin {
            context.skipUnjoinable(reason: "the record maps to no global table key")
            return
        }
        guard leftJoin || tableValue != nil else { return }
        try context.forward(record.withValue(try joiner(record.value, tableValue)))
    }
}
