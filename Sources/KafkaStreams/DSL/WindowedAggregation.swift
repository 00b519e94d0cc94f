extension KStream {
    /// Adds a windowed aggregation of this grouped stream: its window or session store and
    /// its processor, after checking the windows and the retention. Shared by the time,
    /// sliding and session windowed streams.
    ///
    /// - Parameters:
    ///   - kind: how errors name the operation ("windowed aggregation", ...).
    ///   - problem: what is wrong with the windows, if anything.
    ///   - minimumRetention: what the windows need kept, and `needs` says why (for errors).
    ///   - processor: makes the processor of a task, given its store's name and retention.
    @inlinable
    func windowedAggregation<Aggregate, P: Processor>(
        kind: String, prefix: String, named: String?, materialized: Materialized, store windows: WindowStoreBuilder<Key, Aggregate>.Windows,
        problem: String?, minimumRetention: Int64, needs: String, retention: Duration?, aggregateSerde: AnySerde<Aggregate>?,
        windowedKey: AnySerde<Windowed<Key>>?,
        processor: @escaping @Sendable (ProcessorContext<Windowed<Key>, Change<Aggregate>>, _ storeName: String, _ retention: Int64) throws -> P
    ) -> KTable<Windowed<Key>, Aggregate> where P.InputKey == Key, P.InputValue == Value {
        let name = builder.nodeName(named, prefix: prefix)
        let storeName = materialized.storeName ?? builder.nodeName(nil, prefix: "KSTREAM-AGGREGATE-STATE-STORE-")
        let retentionMs = retention.map(Self.milliseconds) ?? minimumRetention
        let store = WindowStoreBuilder<Key, Aggregate>(
            name: storeName, windows: windows, materialized: materialized, keySerde: keySerde, valueSerde: aggregateSerde, retention: retentionMs)
        let parent = node
        builder.record { topology in
            if let problem { throw StreamsError(.topology, "\(kind) \(name): \(problem)") }
            guard retentionMs >= minimumRetention else {
                throw StreamsError(.topology, "\(kind) \(name): retention \(retentionMs) ms is shorter than \(needs) (\(minimumRetention) ms)")
            }
            try topology.addWindowStore(store)
            try topology.addProcessor(name, parents: [parent], stores: [storeName]) { (context: ProcessorContext<Windowed<Key>, Change<Aggregate>>) in
                try processor(context, storeName, retentionMs)
            }
        }
        // A window store: no key-value lookups for joins.
        return KTable(
            builder: builder, node: name, storeName: storeName, keySerde: windowedKey, valueSerde: aggregateSerde,
            valueGetter: TableValueGetter.notLookedUp(store: storeName))
    }

    @usableFromInline
    static func milliseconds(_ duration: Duration) -> Int64 { duration.wholeMilliseconds }
}
