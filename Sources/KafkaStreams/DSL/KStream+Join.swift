extension KStream {
    /// Joins each record with the current value of its key in `table` (an inner join):
    /// records whose key has no row are not sent on. Only this stream's records trigger a
    /// result; table updates only change what later records find. The result keeps the
    /// record's key, time and headers.
    ///
    /// The stream and the table must be co-partitioned (same partition count, keys placed
    /// alike); the application checks the partition counts at start. A stream whose keys
    /// changed upstream is repartitioned first.
    @inlinable
    public func join<TableValue, Output>(
        _ table: KTable<Key, TableValue>, named: String? = nil, _ joiner: @escaping @Sendable (Value, TableValue) throws -> Output
    ) -> KStream<Key, Output> {
        joinTable(table, named: named, leftJoin: false) { _, value, tableValue in try joiner(value, tableValue!) }
    }

    /// Joins each record with the current value of its key in `table`, or with `nil` when
    /// the table has no row for it (a left join). See ``join(_:named:_:)``.
    @inlinable
    public func leftJoin<TableValue, Output>(
        _ table: KTable<Key, TableValue>, named: String? = nil, _ joiner: @escaping @Sendable (Value, TableValue?) throws -> Output
    ) -> KStream<Key, Output> {
        joinTable(table, named: named, leftJoin: true) { _, value, tableValue in try joiner(value, tableValue) }
    }

    @inlinable
    func joinTable<TableValue, Output>(
        _ table: KTable<Key, TableValue>, named: String?, leftJoin: Bool,
        _ joiner: @escaping StreamTableJoinProcessor<Key, Value, TableValue, Output>.Joiner
    ) -> KStream<Key, Output> {
        // Each record must reach the task holding its key's table partition.
        let stream = repartitionRequired ? repartition(named: named) : self
        let name = builder.nodeName(named, prefix: leftJoin ? "KSTREAM-LEFTJOIN-" : "KSTREAM-JOIN-")
        let parent = stream.node
        let getter = table.valueGetter
        builder.record { topology in
            if let reason = getter.unavailable { throw StreamsError(.topology, "join \(name): \(reason)") }
            try topology.addProcessor(name, parents: [parent], stores: getter.storeNames) { (context: ProcessorContext<Key, Output>) in
                try StreamTableJoinProcessor<Key, Value, TableValue, Output>(context: context, table: getter, leftJoin: leftJoin, joiner: joiner)
            }
        }
        return KStream<Key, Output>(builder: builder, node: name, keySerde: stream.keySerde, valueSerde: nil)
    }
}
