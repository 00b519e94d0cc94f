extension KGroupedStream {
    /// Aggregates per key and session of activity from here on.
    @inlinable
    public func windowedBy(_ windows: SessionWindows) -> SessionWindowedKStream<Key, Value> {
        SessionWindowedKStream(stream: stream, windows: windows)
    }
}

/// Records grouped by key, to be aggregated per session into a table keyed by ``Windowed``
/// keys whose window is the session `[first record time, last record time]`. A record
/// within `gap` of a key's open sessions joins them, merging them into one: the old
/// sessions are deleted downstream (a `nil` value), then the merged one is sent.
public struct SessionWindowedKStream<Key, Value> {
    @usableFromInline let stream: KStream<Key, Value>
    @usableFromInline let windows: SessionWindows

    @usableFromInline
    init(stream: KStream<Key, Value>, windows: SessionWindows) {
        self.stream = stream
        self.windows = windows
    }

    /// The number of records of each session.
    @inlinable @discardableResult
    public func count(
        named: String? = nil, materialized: Materialized = Materialized(), emit: EmitStrategy = .onUpdate, retention: Duration? = nil,
        lateRecords: LateRecordHandling = .drop
    ) -> KTable<Windowed<Key>, Int64> {
        fold(
            named: named, materialized: materialized, emit: emit, retention: retention, lateRecords: lateRecords, aggregateSerde: .int64,
            add: { _, _, count in (count ?? 0) + 1 }, merge: { _, first, second in (first ?? 0) + second })
    }

    /// Combines each session's records with `reducer(aggregate, value)`; merged sessions
    /// combine with `reducer(earlier, later)`.
    @inlinable @discardableResult
    public func reduce(
        named: String? = nil, materialized: Materialized = Materialized(), emit: EmitStrategy = .onUpdate, retention: Duration? = nil,
        lateRecords: LateRecordHandling = .drop, _ reducer: @escaping @Sendable (Value, Value) throws -> Value
    ) -> KTable<Windowed<Key>, Value> {
        fold(
            named: named, materialized: materialized, emit: emit, retention: retention, lateRecords: lateRecords, aggregateSerde: stream.valueSerde,
            add: { _, value, aggregate in try aggregate.map { try reducer($0, value) } ?? value },
            merge: { _, first, second in try first.map { try reducer($0, second) } ?? second })
    }

    /// Folds each session's records into an aggregate starting from `initializer()`; when a
    /// record merges sessions, their aggregates are combined with `merger` first, starting
    /// from `initializer()`, as in Kafka Streams.
    @inlinable @discardableResult
    public func aggregate<Aggregate>(
        named: String? = nil, materialized: Materialized = Materialized(), emit: EmitStrategy = .onUpdate, retention: Duration? = nil,
        lateRecords: LateRecordHandling = .drop, value: AnySerde<Aggregate>? = nil,
        initializer: @escaping @Sendable () -> Aggregate, _ adder: @escaping @Sendable (Key, Value, Aggregate) throws -> Aggregate,
        merger: @escaping @Sendable (Key, Aggregate, Aggregate) throws -> Aggregate
    ) -> KTable<Windowed<Key>, Aggregate> {
        fold(
            named: named, materialized: materialized, emit: emit, retention: retention, lateRecords: lateRecords, aggregateSerde: value,
            add: { key, value, aggregate in try adder(key, value, aggregate ?? initializer()) },
            merge: { key, first, second in try merger(key, first ?? initializer(), second) })
    }

    @inlinable
    func fold<Aggregate>(
        named: String?, materialized: Materialized, emit: EmitStrategy, retention: Duration?, lateRecords: LateRecordHandling,
        aggregateSerde: AnySerde<Aggregate>?, add: @escaping SessionAggregateProcessor<Key, Value, Aggregate>.Fold,
        merge: @escaping SessionAggregateProcessor<Key, Value, Aggregate>.Merge
    ) -> KTable<Windowed<Key>, Aggregate> {
        let builder = stream.builder
        let name = builder.nodeName(named, prefix: "KSTREAM-SESSIONWINDOWED-AGGREGATE-")
        let storeName = materialized.storeName ?? builder.nodeName(nil, prefix: "KSTREAM-AGGREGATE-STATE-STORE-")
        let windows = windows
        let retentionMs = retention.map(TimeWindowedKStream<Key, Value>.milliseconds) ?? windows.minimumRetention
        let store = WindowStoreBuilder<Key, Aggregate>(
            name: storeName, windows: .sessions, materialized: materialized, keySerde: stream.keySerde, valueSerde: aggregateSerde, retention: retentionMs)
        let parent = stream.node
        let recordSerdes = (key: stream.keySerde, value: stream.valueSerde)
        builder.record { topology in
            if let problem = windows.problem { throw StreamsError(.topology, "session aggregation \(name): \(problem)") }
            guard retentionMs >= windows.minimumRetention else {
                throw StreamsError(
                    .topology, "session aggregation \(name): retention \(retentionMs) ms is shorter than the gap plus grace (\(windows.minimumRetention) ms)")
            }
            try topology.addWindowStore(store)
            try topology.addProcessor(name, parents: [parent], stores: [storeName]) { (context: ProcessorContext<Windowed<Key>, Aggregate?>) in
                try SessionAggregateProcessor<Key, Value, Aggregate>(
                    context: context, storeName: storeName, windows: windows, emit: emit, retention: retentionMs, lateRecords: lateRecords,
                    recordSerdes: recordSerdes, add: add, merge: merge)
            }
        }
        let keySerde = stream.keySerde.map { AnySerde<Windowed<Key>>.sessionWindowed($0) }
        return KTable(builder: builder, node: name, storeName: storeName, keySerde: keySerde, valueSerde: aggregateSerde)
    }
}
