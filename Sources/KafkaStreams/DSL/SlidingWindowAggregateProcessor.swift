/// Folds each record into the sliding windows (KIP-450) of its key: windows `[s, s + d]`
/// (both ends included) that exist only where records are, each record making its left
/// window `[t − d, t]` and, when a later record falls within `d` after it, its right window
/// `[t + 1, t + 1 + d]`, and updating every existing window that holds it. Kafka Streams'
/// `KStreamSlidingWindowAggregate`, with one difference the semantics decide: a window
/// closes when stream time passes its end plus grace (Kafka Streams closes it a
/// millisecond earlier), the same rule as emit-on-close.
@usableFromInline
final class SlidingWindowAggregateProcessor<Key, Value, Aggregate>: Processor {
    @usableFromInline typealias Fold = WindowAggregateProcessor<Key, Value, Aggregate>.Fold

    @usableFromInline let context: ProcessorContext<Windowed<Key>, Change<Aggregate>>
    @usableFromInline let store: TypedWindowStore<Key, Aggregate>
    @usableFromInline let windows: SlidingWindows
    @usableFromInline let emit: EmitStrategy
    @usableFromInline let retention: Int64
    @usableFromInline let lateRecords: LateRecordHandling
    @usableFromInline let fold: Fold
    @usableFromInline let forwardsOnFlush: Bool
    @usableFromInline let recordSerdes: (key: AnySerde<Key>, value: AnySerde<Value>)?
    /// Read from the store at the first record, not when the task is built: the store's
    /// restore runs in between, and a state read before it could be behind the windows (a
    /// final result sent again).
    @exclusivity(unchecked) @usableFromInline var state = WindowedOperatorState()
    @exclusivity(unchecked) @usableFromInline var stateLoaded = false

    @inlinable
    init(
        context: ProcessorContext<Windowed<Key>, Change<Aggregate>>, storeName: String, windows: SlidingWindows, emit: EmitStrategy, retention: Int64,
        lateRecords: LateRecordHandling, recordSerdes: (key: AnySerde<Key>?, value: AnySerde<Value>?), fold: @escaping Fold
    ) throws {
        self.context = context
        let store: TypedWindowStore<Key, Aggregate> = try context.windowStore(named: storeName)
        self.store = store
        self.windows = windows
        self.emit = emit
        self.retention = retention
        self.lateRecords = lateRecords
        self.fold = fold
        self.recordSerdes = try context.lateRecordSerdes(lateRecords, key: recordSerdes.key, value: recordSerdes.value)
        forwardsOnFlush = emit == .onUpdate && WindowAggregateProcessor<Key, Value, Aggregate>.forwardFlushes(of: store, to: context)
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
        let time = record.timestamp
        let difference = windows.difference
        if time > state.observedStreamTime { state.observedStreamTime = time }
        // Open: end + grace ≥ stream time.
        let closeTime = state.observedStreamTime - windows.grace
        if time + difference < closeTime {
            try context.dropLate(
                record, window: Window(start: time, end: time + difference), streamTime: state.observedStreamTime,
                lateness: closeTime - (time + difference), handling: lateRecords, serdes: recordSerdes)
        } else if try !aggregate(record, keyBytes: keyBytes, closeTime: closeTime) {
            // Every window that would hold it has closed, though its own right window has not.
            try context.dropLate(
                record, window: Window(start: time - difference, end: time), streamTime: state.observedStreamTime,
                lateness: closeTime - time, handling: lateRecords, serdes: recordSerdes)
        }
        if state.observedStreamTime > before.observedStreamTime {
            if emit == .onWindowClose { try emitClosedWindows() }
            try store.expireWindows(before: state.observedStreamTime - retention)
        }
        if state != before { store.stageOperatorState(state) }
    }

    /// The windows a record at `t` touches: existing ones that hold it, its left window, the
    /// right window of the record before it, and its own right window. Returns whether some
    /// open window took the record.
    @inlinable
    func aggregate(_ record: Record<Key, Value>, keyBytes: [UInt8], closeTime: Int64) throws -> Bool {
        let time = record.timestamp
        let difference = windows.difference
        var starts: Set<Int64> = []
        var leftAggregate: (value: Aggregate, timestamp: Int64)?
        var rightAggregate: (value: Aggregate, timestamp: Int64)?
        var leftExists = false
        var rightExists = false
        var previousRecordTime: Int64?
        // Early records (before `difference`) share the window [0, difference].
        let early = time < difference
        var combined: (value: Aggregate, timestamp: Int64)?
        var took = false
        for existing in try store.fetch(keyBytes: keyBytes, from: early ? 0 : time - 2 * difference, through: time + 1) {
            let start = existing.window
            let end = start + difference
            starts.insert(start)
            let stored = (value: existing.value, timestamp: existing.timestamp)
            if early && start == 0 {
                combined = stored
                if stored.timestamp < time { previousRecordTime = stored.timestamp }
            } else if !early && end < time {
                leftAggregate = stored
                previousRecordTime = stored.timestamp
            } else if !early && end == time {
                leftExists = true
                if stored.timestamp < time { previousRecordTime = stored.timestamp }
                took = try update(record, keyBytes: keyBytes, start: start, current: stored, closeTime: closeTime) || took
            } else if start <= time {
                rightAggregate = stored
                took = try update(record, keyBytes: keyBytes, start: start, current: stored, closeTime: closeTime) || took
            } else {
                // start == time + 1: the record's right window exists already.
                rightExists = true
            }
        }
        if early {
            if rightAggregate == nil, let combined, combined.timestamp > time { rightAggregate = combined }
            if !rightExists, let rightAggregate, rightAggregate.timestamp > time { try createRightWindow(of: record, from: rightAggregate, keyBytes: keyBytes) }
            if let previous = previousRecordTime, !starts.contains(previous + 1) {
                took = try update(record, keyBytes: keyBytes, start: previous + 1, current: nil, closeTime: closeTime) || took
            }
            return try update(record, keyBytes: keyBytes, start: 0, current: combined, closeTime: closeTime) || took
        }
        // The right window of the record before this one, if this record falls in it.
        if let previous = previousRecordTime, !starts.contains(previous + 1), previous + 1 + difference >= time {
            took = try update(record, keyBytes: keyBytes, start: previous + 1, current: nil, closeTime: closeTime) || took
        }
        if !leftExists {
            // The left window holds what the previous record's left window held within reach.
            let carried = previousRecordTime.map { time - difference <= $0 } == true ? leftAggregate.map { (value: $0.value, timestamp: time) } : nil
            took = try update(record, keyBytes: keyBytes, start: time - difference, current: carried, closeTime: closeTime) || took
        }
        if !rightExists, let rightAggregate, rightAggregate.timestamp > time {
            try createRightWindow(of: record, from: rightAggregate, keyBytes: keyBytes)
        }
        return took
    }

    /// Folds the record into the window starting at `start` (holding `current`), if it is
    /// still open; returns whether it was.
    @inlinable
    func update(
        _ record: Record<Key, Value>, keyBytes: [UInt8], start: Int64, current: (value: Aggregate, timestamp: Int64)?, closeTime: Int64
    ) throws -> Bool {
        let window = Window(start: start, end: start + windows.difference)
        guard window.end >= closeTime else { return false }
        let (key, _) = try store.readForUpdate(keyBytes, start: start)
        let aggregate = try fold(record.key, record.value, current?.value)
        let time = max(current?.timestamp ?? record.timestamp, record.timestamp)
        try store.write(key, aggregate, timestamp: time, headers: record.headers)
        if emit == .onUpdate && !forwardsOnFlush {
            try context.forward(Record(
                key: Windowed(key: record.key, window: window), value: Change(newValue: aggregate, oldValue: context.sendsOldValues ? current?.value : nil),
                timestamp: time, headers: record.headers))
        }
        return true
    }

    /// The record's right window `[t + 1, t + 1 + d]`: the records after it within `d`,
    /// which the window found holding them already aggregates (without this record).
    @inlinable
    func createRightWindow(of record: Record<Key, Value>, from aggregate: (value: Aggregate, timestamp: Int64), keyBytes: [UInt8]) throws {
        let start = record.timestamp + 1
        let (key, existing) = try store.readForUpdate(keyBytes, start: start)
        try store.write(key, aggregate.value, timestamp: aggregate.timestamp, headers: record.headers)
        if emit == .onUpdate && !forwardsOnFlush {
            try context.forward(Record(
                key: Windowed(key: record.key, window: Window(start: start, end: start + windows.difference)),
                value: Change(newValue: aggregate.value, oldValue: context.sendsOldValues ? existing?.value : nil), timestamp: aggregate.timestamp,
                headers: record.headers))
        }
    }

    /// The input has ended: every window not emitted yet is closed and emitted, the
    /// operator's stream time moving just far enough for that.
    @usableFromInline
    func finishInput() throws {
        guard emit == .onWindowClose else { return }
        if !stateLoaded {
            state = try store.loadOperatorState()
            stateLoaded = true
        }
        guard let latest = try store.windows(from: state.lastEmitted + 1, through: .max).last?.start else { return }
        state.observedStreamTime = max(state.observedStreamTime, latest + windows.difference + windows.grace + 1)
        try emitClosedWindows()
        store.stageOperatorState(state)
    }

    /// Emits every window closed since the last one emitted (end + grace < stream time), in
    /// (start, key) order.
    @usableFromInline
    func emitClosedWindows() throws {
        let lastClosed = state.observedStreamTime - windows.grace - windows.difference - 1
        guard lastClosed > state.lastEmitted else { return }
        for window in try store.windows(from: state.lastEmitted + 1, through: lastClosed) {
            let key = try window.key.withUnsafeBytes { try store.keySerde.decode($0) }
            try context.forward(Record(
                key: Windowed(key: key, window: Window(start: window.start, end: window.start + windows.difference)),
                value: Change(newValue: window.value, oldValue: nil), timestamp: window.timestamp))
        }
        state.lastEmitted = lastClosed
    }
}
