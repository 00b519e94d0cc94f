extension KTable {
    /// Joins this table with `other` by key (an inner join): the result has a row for each
    /// key both tables have, `joiner(value, otherValue)`, updated whenever either row
    /// changes and deleted when either is, stamped with the later of the two rows' times.
    /// Both tables must be co-partitioned and looked up by key (read from a topic, an
    /// aggregation, or computed from one). With `materialized`, the joined rows are kept in
    /// a store of their own (with a changelog), which interactive queries read by its name;
    /// `value` serializes them there.
    @inlinable
    public func join<OtherValue, Output>(
        _ other: KTable<Key, OtherValue>, named: String? = nil, materialized: Materialized? = nil, value: AnySerde<Output>? = nil,
        _ joiner: @escaping @Sendable (Value, OtherValue) throws -> Output
    ) -> KTable<Key, Output> {
        joinTable(other, named: named, outer: (false, false), materialized: materialized, value: value) { _, value, otherValue in try joiner(value!, otherValue!) }
    }

    /// Joins this table with `other` by key, keeping every row of this table (a left join):
    /// `joiner(value, nil)` while `other` has no row for the key. See
    /// ``join(_:named:materialized:value:_:)``.
    @inlinable
    public func leftJoin<OtherValue, Output>(
        _ other: KTable<Key, OtherValue>, named: String? = nil, materialized: Materialized? = nil, value: AnySerde<Output>? = nil,
        _ joiner: @escaping @Sendable (Value, OtherValue?) throws -> Output
    ) -> KTable<Key, Output> {
        joinTable(other, named: named, outer: (true, false), materialized: materialized, value: value) { _, value, otherValue in try joiner(value!, otherValue) }
    }

    /// Joins this table with `other` by key, keeping every row of both (an outer join):
    /// `joiner(value, nil)` or `joiner(nil, otherValue)` while one has no row for the key.
    /// See ``join(_:named:materialized:value:_:)``.
    @inlinable
    public func outerJoin<OtherValue, Output>(
        _ other: KTable<Key, OtherValue>, named: String? = nil, materialized: Materialized? = nil, value: AnySerde<Output>? = nil,
        _ joiner: @escaping @Sendable (Value?, OtherValue?) throws -> Output
    ) -> KTable<Key, Output> {
        joinTable(other, named: named, outer: (true, true), materialized: materialized, value: value) { _, value, otherValue in try joiner(value, otherValue) }
    }

    /// Adds both sides of a table–table join, each looking the other table up, and the node
    /// merging their changes: the joined table.
    @inlinable
    func joinTable<OtherValue, Output>(
        _ other: KTable<Key, OtherValue>, named: String?, outer: (this: Bool, other: Bool), materialized: Materialized?, value: AnySerde<Output>?,
        _ joiner: @escaping @Sendable (Key, Value?, OtherValue?) throws -> Output
    ) -> KTable<Key, Output> {
        let kind = outer.this ? (outer.other ? "OUTER" : "LEFT") : ""
        let thisName = named.map { "\($0)-join-this" } ?? builder.nodeName(nil, prefix: "KTABLE-\(kind)JOINTHIS-")
        let otherName = named.map { "\($0)-join-other" } ?? builder.nodeName(nil, prefix: "KTABLE-\(kind)JOINOTHER-")
        let mergeName = named ?? builder.nodeName(nil, prefix: "KTABLE-MERGE-")
        let (thisGetter, otherGetter) = (valueGetter, other.valueGetter)
        let (thisParent, otherParent) = (node, other.node)
        // An outer side's deletion shows in the join only with the row it deletes (as in
        // Kafka Streams, which has outer sides' tables send old values).
        if outer.this { builder.sendOldValues(from: thisParent) }
        if outer.other { builder.sendOldValues(from: otherParent) }
        builder.record { topology in
            if let reason = thisGetter.unavailable ?? otherGetter.unavailable { throw StreamsError(.topology, "table join \(mergeName): \(reason)") }
            try topology.addProcessor(thisName, parents: [thisParent], stores: otherGetter.storeNames) { (context: ProcessorContext<Key, Change<Output>>) in
                try TableTableJoinProcessor<Key, Value, OtherValue, Output>(context: context, other: otherGetter, outer: outer, joiner: joiner)
            }
            try topology.addProcessor(otherName, parents: [otherParent], stores: thisGetter.storeNames) { (context: ProcessorContext<Key, Change<Output>>) in
                try TableTableJoinProcessor<Key, OtherValue, Value, Output>(context: context, other: thisGetter, outer: (outer.other, outer.this)) {
                    key, otherValue, value in try joiner(key, value, otherValue)
                }
            }
        }
        let merged = KStream<Key, Change<Output>>(builder: builder, node: thisName, keySerde: keySerde, valueSerde: nil)
            .merge(KStream(builder: builder, node: otherName, keySerde: keySerde, valueSerde: nil), named: mergeName)
        builder.noteDerivedTable(merged.node, from: thisName, otherName)
        builder.noteDerivedTable(thisName, from: thisParent)
        builder.noteDerivedTable(otherName, from: otherParent)
        let joined = KTable<Key, Output>(
            builder: builder, node: merged.node, storeName: nil, keySerde: keySerde, valueSerde: value,
            valueGetter: .joined(thisGetter, otherGetter, outer: outer, joiner: joiner))
        return materialized.map { joined.materialize($0, named: named.map { "\($0)-materialize" }) } ?? joined
    }
}

extension TableValueGetter {
    /// The lookups of the join of the tables `this` and `other` looks up (see
    /// ``TableTableJoinProcessor``): the joined row, stamped with the later of the two rows'
    /// times.
    @usableFromInline
    static func joined<This, Other>(
        _ this: TableValueGetter<Key, This>, _ other: TableValueGetter<Key, Other>, outer: (this: Bool, other: Bool),
        joiner: @escaping @Sendable (Key, This?, Other?) throws -> Value
    ) -> TableValueGetter {
        TableValueGetter(storeNames: this.storeNames + other.storeNames, unavailable: this.unavailable ?? other.unavailable) { task in
            let (lookThis, lookOther) = (try this.make(task), try other.make(task))
            return { key in
                guard case .found(let thisValue, let thisTime) = try lookThis(key), case .found(let otherValue, let otherTime) = try lookOther(key)
                else { return .nullKey }
                guard joinedRowExists(this: thisValue != nil, other: otherValue != nil, outer: outer) else { return .found(nil, timestamp: -1) }
                return .found(try joiner(key, thisValue, otherValue), timestamp: max(thisTime, otherTime))
            }
        }
    }
}

extension KTable {
    /// This table's rows kept in a store of their own (`materialized`): a node after this
    /// one writes each change there and passes it on, and the table is then looked up and
    /// queried in that store.
    @inlinable
    func materialize(_ materialized: Materialized, named: String?) -> KTable<Key, Value> {
        let name = builder.nodeName(named, prefix: "KTABLE-MATERIALIZE-")
        let storeName = materialized.storeName ?? builder.nodeName(nil, prefix: "KTABLE-STATE-STORE-")
        let store = materialized.builder(named: storeName, key: keySerde, value: valueSerde, timestamped: true)
        let parent = node
        builder.record { topology in
            try topology.addStateStore(store)
            try topology.addProcessor(name, parents: [parent], stores: [storeName]) { (context: ProcessorContext<Key, Change<Value>>) in
                try TableStoreProcessor<Key, Value, Change<Value>>(context: context, storeName: storeName) { $0.newValue }
            }
        }
        return KTable(builder: builder, node: name, storeName: storeName, keySerde: keySerde, valueSerde: valueSerde)
    }
}
