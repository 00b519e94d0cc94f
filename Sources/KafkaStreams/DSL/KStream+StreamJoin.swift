extension KStream {
    /// Joins this stream with `other` by key within `windows` (an inner join): each pair of
    /// records with equal keys whose times are within the windows gives
    /// `joiner(value, otherValue)`, once, stamped with the later of the two times, whichever
    /// arrives second. Both sides are kept in window stores (with changelogs) for as long
    /// as a partner may still arrive.
    ///
    /// The streams must be co-partitioned; a stream whose keys changed upstream is
    /// repartitioned first. `key`, `value` and `otherValue` serialize the stores' records
    /// (default: the streams' serdes, else the configuration's defaults). See
    /// ``JoinWindows`` for records that arrive after their window closed.
    @inlinable
    public func join<OtherValue, Output>(
        _ other: KStream<Key, OtherValue>, windows: JoinWindows, named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil,
        otherValue: AnySerde<OtherValue>? = nil, materialized: Materialized = Materialized(),
        _ joiner: @escaping @Sendable (Value, OtherValue) throws -> Output
    ) -> KStream<Key, Output> {
        joinStream(
            other, windows: windows, named: named, outer: (false, false), serdes: (key, value, otherValue), materialized: materialized
        ) { _, value, otherValue in try joiner(value!, otherValue!) }
    }

    /// Joins this stream with `other` by key within `windows`, keeping every record of this
    /// stream (a left join): a record that finds no partner gives `joiner(value, nil)`,
    /// once its window has closed and never before a partner could still arrive. See
    /// ``join(_:windows:named:key:value:otherValue:materialized:_:)``.
    @inlinable
    public func leftJoin<OtherValue, Output>(
        _ other: KStream<Key, OtherValue>, windows: JoinWindows, named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil,
        otherValue: AnySerde<OtherValue>? = nil, materialized: Materialized = Materialized(),
        _ joiner: @escaping @Sendable (Value, OtherValue?) throws -> Output
    ) -> KStream<Key, Output> {
        joinStream(
            other, windows: windows, named: named, outer: (true, false), serdes: (key, value, otherValue), materialized: materialized
        ) { _, value, otherValue in try joiner(value!, otherValue) }
    }

    /// Joins this stream with `other` by key within `windows`, keeping every record of both
    /// (an outer join): a record of either side without a partner gives `joiner(value, nil)`
    /// or `joiner(nil, otherValue)` once its window has closed. See
    /// ``join(_:windows:named:key:value:otherValue:materialized:_:)``.
    @inlinable
    public func outerJoin<OtherValue, Output>(
        _ other: KStream<Key, OtherValue>, windows: JoinWindows, named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil,
        otherValue: AnySerde<OtherValue>? = nil, materialized: Materialized = Materialized(),
        _ joiner: @escaping @Sendable (Value?, OtherValue?) throws -> Output
    ) -> KStream<Key, Output> {
        joinStream(
            other, windows: windows, named: named, outer: (true, true), serdes: (key, value, otherValue), materialized: materialized
        ) { _, value, otherValue in try joiner(value, otherValue) }
    }

    /// Adds both sides of a stream–stream join, their window stores, the store of records
    /// waiting for a partner (when a side is outer) and the node merging both sides' results.
    @inlinable
    func joinStream<OtherValue, Output>(
        _ other: KStream<Key, OtherValue>, windows: JoinWindows, named: String?, outer: (this: Bool, other: Bool),
        serdes: (key: AnySerde<Key>?, value: AnySerde<Value>?, otherValue: AnySerde<OtherValue>?), materialized: Materialized,
        _ joiner: @escaping @Sendable (Key, Value?, OtherValue?) throws -> Output
    ) -> KStream<Key, Output> {
        let keySerde = serdes.key ?? self.keySerde ?? other.keySerde
        let valueSerde = serdes.value ?? self.valueSerde
        let otherValueSerde = serdes.otherValue ?? other.valueSerde
        let left = repartitionRequired ? repartition(named: named.map { "\($0)-left" }, key: keySerde, value: valueSerde) : self
        let right = other.repartitionRequired ? other.repartition(named: named.map { "\($0)-right" }, key: keySerde, value: otherValueSerde) : other
        let kind = outer.this ? "OUTER" : "JOIN"
        let thisName = named.map { "\($0)-this-join" } ?? builder.nodeName(nil, prefix: "KSTREAM-\(kind)THIS-")
        let otherName = named.map { "\($0)-other-join" } ?? builder.nodeName(nil, prefix: "KSTREAM-\(outer.other ? "OUTER" : "JOIN")OTHER-")
        let mergeName = named.map { "\($0)-merge" } ?? builder.nodeName(nil, prefix: "KSTREAM-MERGE-")
        let stores = (
            this: "\(thisName)-store", other: "\(otherName)-store",
            held: outer.this ? named.map { "\($0)-outer-shared-join-store" } ?? "\(thisName)-outer-shared-join-store" : nil)
        // Records meet their partners through the join's in-memory index, not the stores: a
        // store's record cache (unlike Kafka Streams' join stores, which have none) only
        // holds its writes until the commit, and a record that expires before then never
        // reaches the changelog.
        let joinMaterialized = materialized
        let thisStore = WindowStoreBuilder<Key, JoinRecords<Value>>(
            name: stores.this, windows: .time(size: 1), materialized: joinMaterialized, keySerde: keySerde,
            valueSerde: valueSerde.map { AnySerde(JoinRecordsSerde($0)) }, retention: windows.retention)
        let otherStore = WindowStoreBuilder<Key, JoinRecords<OtherValue>>(
            name: stores.other, windows: .time(size: 1), materialized: joinMaterialized, keySerde: keySerde,
            valueSerde: otherValueSerde.map { AnySerde(JoinRecordsSerde($0)) }, retention: windows.retention)
        let heldStore = stores.held.map { joinMaterialized.builder(named: $0, key: AnySerde(BytesSerde()), value: AnySerde(BytesSerde())) }
        let joinName = thisName
        let (leftNode, rightNode) = (left.node, right.node)
        let storeNames = [stores.this, stores.other] + (stores.held.map { [$0] } ?? [])
        builder.record { topology in
            if let problem = windows.problem { throw StreamsError(.topology, "join \(thisName): \(problem)") }
            try topology.addWindowStore(thisStore)
            try topology.addWindowStore(otherStore)
            if let heldStore { try topology.addStateStore(heldStore) }
            try topology.addProcessor(thisName, parents: [leftNode], stores: storeNames) { (context: ProcessorContext<Key, Output>) in
                try StreamStreamJoinProcessor<Key, Value, OtherValue, Output>(
                    context: context, name: joinName, side: .left, windows: windows, stores: stores, outer: outer, joiner: joiner)
            }
            try topology.addProcessor(otherName, parents: [rightNode], stores: storeNames) { (context: ProcessorContext<Key, Output>) in
                try StreamStreamJoinProcessor<Key, OtherValue, Value, Output>(
                    context: context, name: joinName, side: .right, windows: windows, stores: (stores.other, stores.this, stores.held),
                    outer: (outer.other, outer.this)
                ) { key, otherValue, value in try joiner(key, value, otherValue) }
            }
        }
        return KStream<Key, Output>(builder: builder, node: thisName, keySerde: keySerde, valueSerde: nil)
            .merge(KStream<Key, Output>(builder: builder, node: otherName, keySerde: keySerde, valueSerde: nil), named: mergeName)
    }
}
