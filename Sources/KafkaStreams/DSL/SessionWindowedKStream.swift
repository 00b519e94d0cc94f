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
        let windows = windows
        let recordSerdes = (key: stream.keySerde, value: stream.valueSerde)
        return stream.windowedAggregation(
            kind: "session aggregation", prefix: "KSTREAM-SESSIONWINDOWED-AGGREGATE-", named: named, materialized: materialized, store: .sessions,
            problem: windows.problem, minimumRetention: windows.minimumRetention, needs: "the gap plus grace", retention: retention,
            aggregateSerde: aggregateSerde, windowedKey: stream.keySerde.map { .sessionWindowed($0) }
        ) { context, storeName, retention in
            try SessionAggregateProcessor<Key, Value, Aggregate>(
                context: context, storeName: storeName, windows: windows, emit: emit, retention: retention, lateRecords: lateRecords,
                recordSerdes: recordSerdes, add: add, merge: merge)
        }
    }
}
