/// When a windowed aggregation sends its results downstream.
public enum EmitStrategy: Sendable, Hashable {
    /// Every update of a window, coalesced by the record cache like any aggregation's.
    case onUpdate
    /// Each window once, with its final value, when stream time passes its end plus grace.
    /// Driven by stream time alone, so the same input always gives the same output; the
    /// last emitted window is stored with the state, so a restart neither repeats nor skips
    /// one.
    case onWindowClose
}

/// What becomes of a record that arrives after every window it belongs to has closed.
public enum LateRecordHandling: Sendable, Hashable {
    /// Dropped, with a log line and `kafka_streams_dropped_records_total{reason="late"}`.
    case drop
    /// Also written, key and value as they were read, to `topic`, with headers naming the
    /// window it missed, the operator's stream time and the lateness.
    case deadLetter(topic: String)
}

/// Headers of a late record sent to its late-record topic.
public enum LateRecordHeaders {
    public static let windowStart = "__streams.late.window_start"
    public static let windowEnd = "__streams.late.window_end"
    public static let streamTime = "__streams.late.stream_time"
    public static let lateness = "__streams.late.lateness_ms"
    public static let node = "__streams.late.node"
}

extension KGroupedStream {
    /// Aggregates per key and time window (tumbling or hopping) from here on.
    @inlinable
    public func windowedBy(_ windows: TimeWindows) -> TimeWindowedKStream<Key, Value> {
        TimeWindowedKStream(stream: stream, windows: windows)
    }
}

/// Records grouped by key, to be aggregated per time window into a table keyed by
/// ``Windowed`` keys. Each aggregation keeps its windows in a window store (see
/// ``Materialized``) with a changelog, kept for `retention` (at least the windows' size
/// plus grace, the default).
public struct TimeWindowedKStream<Key, Value> {
    @usableFromInline let stream: KStream<Key, Value>
    @usableFromInline let windows: TimeWindows

    @usableFromInline
    init(stream: KStream<Key, Value>, windows: TimeWindows) {
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
        aggregateSerde: AnySerde<Aggregate>?, _ fold: @escaping WindowAggregateProcessor<Key, Value, Aggregate>.Fold
    ) -> KTable<Windowed<Key>, Aggregate> {
        let windows = windows
        let recordSerdes = (key: stream.keySerde, value: stream.valueSerde)
        return stream.windowedAggregation(
            kind: "windowed aggregation", prefix: "KSTREAM-AGGREGATE-", named: named, materialized: materialized, store: .time(size: windows.size),
            problem: windows.problem, minimumRetention: windows.minimumRetention, needs: "the windows' size plus grace", retention: retention,
            aggregateSerde: aggregateSerde, windowedKey: stream.keySerde.map { .timeWindowed($0, windowSize: .milliseconds(windows.size)) }
        ) { context, storeName, retention in
            try WindowAggregateProcessor<Key, Value, Aggregate>(
                context: context, storeName: storeName, windows: windows, emit: emit, retention: retention, lateRecords: lateRecords,
                recordSerdes: recordSerdes, fold: fold)
        }
    }
}
