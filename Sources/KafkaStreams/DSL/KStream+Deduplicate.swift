extension KStream {
    /// Drops each record whose key was seen within `within` of its time: the bounded
    /// deduplication window (a repeat an hour apart is new again), instead of a set of every
    /// key ever seen. Records with a null key are passed on.
    ///
    /// Keys are compared within a task, which they share with their repeats as long as
    /// the stream is partitioned by them (group or repartition first if it is not). The
    /// store keeps each key passed on for twice `within` of stream time; repeats dropped
    /// are counted in `kafka_streams_dropped_records_total{reason="duplicate"}`.
    ///
    /// - Parameters:
    ///   - within: how long after a key's record a repeat is dropped, in stream time.
    ///   - named: the processor's name (generated when `nil`).
    ///   - materialized: the store's name, kind, changelog and cache (a window store).
    @inlinable
    public func deduplicate(within: Duration, named: String? = nil, materialized: Materialized = Materialized()) -> KStream<Key, Value> {
        deduplicate(within: within, named: named, id: keySerde, materialized: materialized) { key, _ in key }
    }

    /// Drops each record whose id (by `id`, say an event id in the value) was seen within
    /// `within` of its time; a record whose id is `nil` is passed on. See
    /// ``deduplicate(within:named:materialized:)``: repeats must share a partition.
    ///
    /// - Parameters:
    ///   - within: how long after an id's record a repeat is dropped, in stream time.
    ///   - named: the processor's name (generated when `nil`).
    ///   - idSerde: how ids are stored (the default key serde when `nil`).
    ///   - materialized: the store's name, kind, changelog and cache (a window store).
    ///   - id: the id of a record, or `nil` to pass it on.
    @inlinable
    public func deduplicate<ID>(
        within: Duration, named: String? = nil, id idSerde: AnySerde<ID>? = nil, materialized: Materialized = Materialized(),
        by id: @escaping @Sendable (Key, Value) throws -> ID?
    ) -> KStream<Key, Value> {
        let name = builder.nodeName(named, prefix: "KSTREAM-DEDUPLICATE-")
        let storeName = materialized.storeName ?? builder.nodeName(nil, prefix: "KSTREAM-DEDUPLICATE-STATE-STORE-")
        let withinMs = Self.milliseconds(within)
        let store = WindowStoreBuilder<ID, Int64>(
            name: storeName, windows: .time(size: 1), materialized: materialized, keySerde: idSerde, valueSerde: .int64, retention: 2 * withinMs)
        let parent = node
        builder.record { topology in
            guard withinMs > 0 else { throw StreamsError(.topology, "deduplicate \(name): within must be positive, got \(within)") }
            try topology.addWindowStore(store)
            try topology.addProcessor(name, parents: [parent], stores: [storeName]) { (context: ProcessorContext<Key, Value>) in
                try DeduplicateProcessor<Key, Value, ID>(context: context, storeName: storeName, within: withinMs, selector: id)
            }
        }
        return KStream(builder: builder, node: name, keySerde: keySerde, valueSerde: valueSerde, repartitionRequired: repartitionRequired)
    }
}
