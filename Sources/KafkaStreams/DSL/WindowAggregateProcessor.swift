import RdKafka

/// Folds each record into the aggregate of its key in every time window that holds it and
/// is still open, then emits the update (``EmitStrategy/onUpdate``) or, once stream time
/// closes a window, its final value (``EmitStrategy/onWindowClose``). Results carry the
/// largest record time of their window.
///
/// A window `[start, end)` closes when the operator's observed stream time (the largest
/// record time it has seen; it never goes back) reaches `end + grace`. A record whose
/// windows are all closed is late: dropped (or sent to the late-record topic), logged and
/// counted. Windows of a hopping record that are still open take it even when others have
/// closed.
@usableFromInline
final class WindowAggregateProcessor<Key, Value, Aggregate>: Processor {
    @usableFromInline typealias Fold = @Sendable (Key, Value, Aggregate?) throws -> Aggregate

    @usableFromInline let context: ProcessorContext<Windowed<Key>, Change<Aggregate>>
    @usableFromInline let store: TypedWindowStore<Key, Aggregate>
    @usableFromInline let windows: TimeWindows
    @usableFromInline let emit: EmitStrategy
    @usableFromInline let retention: Int64
    @usableFromInline let lateRecords: LateRecordHandling
    @usableFromInline let fold: Fold
    /// Whether the store's cache forwards the updates (on flush) rather than this processor.
    @usableFromInline let forwardsOnFlush: Bool
    /// The serdes of the input records, for the late-record topic.
    @usableFromInline let recordSerdes: (key: AnySerde<Key>, value: AnySerde<Value>)?
    /// Read from the store at the first record, not when the task is built: the store's
    /// restore runs in between, and a state read before it could be behind the windows (a
    /// final result sent again).
    @exclusivity(unchecked) @usableFromInline var state = WindowedOperatorState()
    @exclusivity(unchecked) @usableFromInline var stateLoaded = false

    @inlinable
    init(
        context: ProcessorContext<Windowed<Key>, Change<Aggregate>>, storeName: String, windows: TimeWindows, emit: EmitStrategy, retention: Int64,
        lateRecords: LateRecordHandling, recordSerdes: (key: AnySerde<Key>?, value: AnySerde<Value>?), fold: @escaping Fold
    ) throws {
        self.context = context
        let store: TypedWindowStore<Key, Aggregate> = try context.windowStore(named: storeName)
        store.holdUpdatesAboveCache()
        self.store = store
        self.windows = windows
        self.emit = emit
        self.retention = retention
        self.lateRecords = lateRecords
        self.fold = fold
        self.recordSerdes = try context.lateRecordSerdes(lateRecords, key: recordSerdes.key, value: recordSerdes.value)
        forwardsOnFlush = emit == .onUpdate && Self.forwardFlushes(of: store, to: context)
    }

    /// Has the store's record cache forward each window update it writes below; returns
    /// false (the processor forwards) when the store has no cache.
    @usableFromInline
    static func forwardFlushes(of store: TypedWindowStore<Key, Aggregate>, to context: ProcessorContext<Windowed<Key>, Change<Aggregate>>) -> Bool {
        store.inner.setFlushListener(isWanted: { context.hasChildren }, sendsOldValues: context.sendsOldValues) { record in
            // The operator's own state passes through the cache too, and is no result.
            // (No window is deleted on its own: expiry drops whole segments, whose held
            // windows come here as they go.)
            guard !record.key.isOperatorState, let bytes = record.value.newValue else { return }
            let stored = try TimestampedBytes.decode(bytes, store.valueSerde)
            let old = try record.value.oldValue.map { try TimestampedBytes.decode($0, store.valueSerde).value }
            let key = try record.key.key.withUnsafeBytes { try store.keySerde.decode($0) }
            try context.forward(Record(
                key: Windowed(key: key, window: Window(start: record.key.start, end: record.key.start + store.windowSize)),
                value: Change(newValue: stored.value, oldValue: old), timestamp: stored.timestamp, headers: record.headers))
        }
    }

    @inlinable
    func process(_ record: Record<Key, Value>) throws {
        guard let keyBytes = try store.recordKeyBytes(record.key) else {
            context.skipNullKey(reason: "it cannot be aggregated in a window")
            return
        }
        if !stateLoaded {
            state = try store.loadOperatorState()
            stateLoaded = true
        }
        let before = state
        if record.timestamp > state.observedStreamTime { state.observedStreamTime = record.timestamp }
        let closeTime = state.observedStreamTime - windows.grace
        var updated = false
        var missed: Int64?
        let starts = windows.windowStarts(containing: record.timestamp)
        // The latest of the record's windows closes last: when it is closed, all are.
        let latestStart = windows.latestStart(containing: record.timestamp)
        let updates = store.updates(of: keyBytes, headers: record.headers)
        let latestWritten = latestStart + windows.size > closeTime ? try store.noteUpdates(of: updates.storeKey, through: latestStart) : latestStart
        for start in starts {
            guard start + windows.size > closeTime else {
                missed = start
                continue
            }
            let (previous, aggregate) = try store.update(updates, start: start, latestWritten: latestWritten) { current in
                (try fold(record.key, record.value, current?.value), max(current?.timestamp ?? record.timestamp, record.timestamp))
            }
            updated = true
            if emit == .onUpdate && !forwardsOnFlush {
                try context.forward(Record(
                    key: Windowed(key: record.key, window: windows.window(startingAt: start)),
                    value: Change(newValue: aggregate.value, oldValue: context.sendsOldValues ? previous : nil), timestamp: aggregate.timestamp,
                    headers: record.headers))
            }
        }
        if updated { try store.finishUpdates(updates) }
        if !updated, let missed { try dropLate(record, window: windows.window(startingAt: missed)) }
        if state.observedStreamTime > before.observedStreamTime {
            // Final results first: a window that closed is emitted before retention may drop it.
            if emit == .onWindowClose { try emitClosedWindows() }
            try store.expireWindows(before: state.observedStreamTime - retention)
        }
        if state != before { store.stageOperatorState(state) }
    }

    /// The input has ended: every window not emitted yet is closed and emitted. The
    /// operator's stream time moves just far enough for that (the latest window's end plus
    /// the grace), so a later record for one of these windows is late, and a later window
    /// opens as usual.
    @usableFromInline
    func finishInput() throws {
        guard emit == .onWindowClose else { return }
        if !stateLoaded {
            state = try store.loadOperatorState()
            stateLoaded = true
        }
        guard let latest = try store.windows(from: state.lastEmitted + 1, through: .max).last?.start else { return }
        state.observedStreamTime = max(state.observedStreamTime, latest + windows.size + windows.grace)
        try emitClosedWindows()
        store.stageOperatorState(state)
    }

    /// Emits every window closed since the last one emitted, in (start, key) order.
    @usableFromInline
    func emitClosedWindows() throws {
        let lastClosed = state.observedStreamTime - windows.grace - windows.size
        guard lastClosed > state.lastEmitted else { return }
        for window in try store.windows(from: state.lastEmitted + 1, through: lastClosed) {
            let key = try window.key.withUnsafeBytes { try store.keySerde.decode($0) }
            try context.forward(Record(
                key: Windowed(key: key, window: windows.window(startingAt: window.start)), value: Change(newValue: window.value, oldValue: nil),
                timestamp: window.timestamp))
        }
        state.lastEmitted = lastClosed
    }

    /// A record all of whose windows have closed (`window`: the latest of them).
    @usableFromInline
    func dropLate(_ record: Record<Key, Value>, window: Window) throws {
        try context.dropLate(
            record, window: window, streamTime: state.observedStreamTime, lateness: state.observedStreamTime - windows.grace - window.end,
            handling: lateRecords, serdes: recordSerdes)
    }
}

extension ProcessorContext {
    /// Logs and counts a record late for every window it belongs to (`window`: the one it
    /// missed last), and writes it to the late-record topic when there is one.
    @usableFromInline
    func dropLate<RecordKey, RecordValue>(
        _ record: Record<RecordKey, RecordValue>, window: Window, streamTime: Int64, lateness: Int64, handling: LateRecordHandling,
        serdes: (key: AnySerde<RecordKey>, value: AnySerde<RecordValue>)?
    ) throws {
        logger.warning(
            "skipping a record late for its windows",
            metadata: ["node": "\(nodeName)", "record_time": "\(record.timestamp)", "window": "\(window)", "stream_time": "\(streamTime)"])
        task.counters.droppedLate += 1
        guard case .deadLetter(let topic) = handling, let serdes else { return }
        var keyBytes: [UInt8] = []
        var valueBytes: [UInt8] = []
        let keyIsNull = try !serdes.key.encode(record.key, &keyBytes)
        let valueIsNull = try !serdes.value.encode(record.value, &valueBytes)
        let headers = record.headers + [
            RecordHeader(key: LateRecordHeaders.windowStart, string: String(window.start)),
            RecordHeader(key: LateRecordHeaders.windowEnd, string: String(window.end)),
            RecordHeader(key: LateRecordHeaders.streamTime, string: String(streamTime)),
            RecordHeader(key: LateRecordHeaders.lateness, string: String(lateness)),
            RecordHeader(key: LateRecordHeaders.node, string: nodeName),
        ]
        try keyBytes.withUnsafeBytes { key in
            try valueBytes.withUnsafeBytes { value in
                try task.collector.send(
                    topic: topic, key: keyIsNull ? nil : key, value: valueIsNull ? nil : value, headers: headers, timestamp: record.timestamp,
                    source: { [task] in task.currentRecord.map { SourceCoordinates(topic: $0.topic, partition: $0.partition, offset: $0.offset) } })
            }
        }
    }

    /// The serdes of a windowed operator's input records, resolved when late records go to
    /// a topic (`nil` otherwise).
    @usableFromInline
    func lateRecordSerdes<RecordKey, RecordValue>(
        _ handling: LateRecordHandling, key: AnySerde<RecordKey>?, value: AnySerde<RecordValue>?
    ) throws -> (key: AnySerde<RecordKey>, value: AnySerde<RecordValue>)? {
        guard case .deadLetter = handling else { return nil }
        return (try task.defaultSerdes.resolve(key, key: true, node: nodeName), try task.defaultSerdes.resolve(value, key: false, node: nodeName))
    }
}
