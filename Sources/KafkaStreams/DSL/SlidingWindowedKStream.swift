extension KGroupedStream {
    /// Aggregates per key and sliding window (KIP-450) from here on.
    @inlinable
    public func windowedBy(_ windows: SlidingWindows) -> SlidingWindowedKStream<Key, Value> {
        SlidingWindowedKStream(stream: stream, windows: windows)
    }
}

/// Records grouped by key, to be aggregated per sliding window into a table keyed by
/// ``Windowed`` keys whose window is `[start, start + difference]`, both ends included:
/// every distinct set of a key's records no more than `difference` apart, with no empty
/// windows. Keys on the wire: ``TimeWindowedSerde`` with a window size of `difference`.
public struct SlidingWindowedKStream<Key, Value> {
    @usableFromInline let stream: KStream<Key, Value>
    @usableFromInline let windows: SlidingWindows

    @usableFromInline
    init(stream: KStream<Key, Value>, windows: SlidingWindows) {
        self.stream = stream
        self.windows = windows
    }

    /// The number of records of each key in each window.
    @inlinable @discardableResult
    public func count(
        named: String? = nil, materialized: Materialized = Materialized(), emit: EmitStrategy = .onUpdate, retention: Duration? = nil,
        lateRecords: LateRecordHandling = .drop
    ) -> KTable<Windowed<Key>, Int64> {
        fold(named: named, materialized: materialized, emit: emit, retention: retention, lateRecords: lateRecords, aggregateSerde: .int64) {
            _, _, count in (count ?? 0) + 1
        }
    }

    /// Combines each key's records in each window with `reducer(aggregate, value)`.
    @inlinable @discardableResult
    public func reduce(
        named: String? = nil, materialized: Materialized = Materialized(), emit: EmitStrategy = .onUpdate, retention: Duration? = nil,
        lateRecords: LateRecordHandling = .drop, _ reducer: @escaping @Sendable (Value, Value) throws -> Value
    ) -> KTable<Windowed<Key>, Value> {
        fold(named: named, materialized: materialized, emit: emit, retention: retention, lateRecords: lateRecords, aggregateSerde: stream.valueSerde) {
            _, value, aggregate in try aggregate.map { try reducer($0, value) } ?? value
        }
    }

    /// Folds each key's records in each window into an aggregate starting from `initializer()`.
    @inlinable @discardableResult
    public func aggregate<Aggregate>(
        named: String? = nil, materialized: Materialized = Materialized(), emit: EmitStrategy = .onUpdate, retention: Duration? = nil,
        lateRecords: LateRecordHandling = .drop, value: AnySerde<Aggregate>? = nil,
        initializer: @escaping @Sendable () -> Aggregate, _ adder: @escaping @Sendable (Key, Value, Aggregate) throws -> Aggregate
    ) -> KTable<Windowed<Key>, Aggregate> {
        fold(named: named, materialized: materialized, emit: emit, retention: retention, lateRecords: lateRecords, aggregateSerde: value) {
            key, value, aggregate in try adder(key, value, aggregate ?? initializer())
        }
    }

    @inlinable
    func fold<Aggregate>(
        named: String?, materialized: Materialized, emit: EmitStrategy, retention: Duration?, lateRecords: LateRecordHandling,
        aggregateSerde: AnySerde<Aggregate>?, _ fold: @escaping SlidingWindowAggregateProcessor<Key, Value, Aggregate>.Fold
    ) -> KTable<Windowed<Key>, Aggregate> {
        let windows = windows
        let recordSerdes = (key: stream.keySerde, value: stream.valueSerde)
        return stream.windowedAggregation(
            kind: "sliding window aggregation", prefix: "KSTREAM-SLIDINGWINDOWAGGREGATE-", named: named, materialized: materialized,
            store: .time(size: windows.difference), problem: windows.problem, minimumRetention: windows.minimumRetention,
            needs: "twice the difference plus grace", retention: retention, aggregateSerde: aggregateSerde,
            windowedKey: stream.keySerde.map { .timeWindowed($0, windowSize: .milliseconds(windows.difference)) }
        ) { context, storeName, retention in
            try SlidingWindowAggregateProcessor<Key, Value, Aggregate>(
                context: context, storeName: storeName, windows: windows, emit: emit, retention: retention, lateRecords: lateRecords,
                recordSerdes: recordSerdes, fold: fold)
        }
    }
}
