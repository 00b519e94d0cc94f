/// Folds each record into its key's session: the open sessions within `gap` of it are
/// merged with it (their aggregates combined by the merger), the merged sessions deleted
/// and the new one stored. Emits every change (``EmitStrategy/onUpdate``: a deletion of
/// each merged session, then the new one) or each session once it closes
/// (``EmitStrategy/onWindowClose``), at the session's end time.
///
/// A session closes when the operator's observed stream time passes its end plus gap plus
/// grace; a closed session is never reopened, and a record that would only make a session
/// of its own that is already closed is late.
@usableFromInline
final class SessionAggregateProcessor<Key, Value, Aggregate>: Processor {
    @usableFromInline typealias Fold = @Sendable (Key, Value, Aggregate?) throws -> Aggregate
    /// Combines the aggregate so far (`nil`: none yet) with a merged session's.
    @usableFromInline typealias Merge = @Sendable (Key, Aggregate?, Aggregate) throws -> Aggregate

    @usableFromInline let context: ProcessorContext<Windowed<Key>, Change<Aggregate>>
    @usableFromInline let store: TypedSessionStore<Key, Aggregate>
    @usableFromInline let windows: SessionWindows
    @usableFromInline let emit: EmitStrategy
    @usableFromInline let retention: Int64
    @usableFromInline let lateRecords: LateRecordHandling
    @usableFromInline let add: Fold
    @usableFromInline let merge: Merge
    @usableFromInline let forwardsOnFlush: Bool
    @usableFromInline let recordSerdes: (key: AnySerde<Key>, value: AnySerde<Value>)?
    /// Read from the store at the first record, not when the task is built: the store's
    /// restore runs in between, and a state read before it could be behind the windows (a
    /// final result sent again).
    @exclusivity(unchecked) @usableFromInline var state = WindowedOperatorState()
    @exclusivity(unchecked) @usableFromInline var stateLoaded = false

    @inlinable
    init(
        context: ProcessorContext<Windowed<Key>, Change<Aggregate>>, storeName: String, windows: SessionWindows, emit: EmitStrategy, retention: Int64,
        lateRecords: LateRecordHandling, recordSerdes: (key: AnySerde<Key>?, value: AnySerde<Value>?), add: @escaping Fold, merge: @escaping Merge
    ) throws {
        self.context = context
        let store: TypedSessionStore<Key, Aggregate> = try context.sessionStore(named: storeName)
        store.holdUpdatesAboveCache()
        self.store = store
        self.windows = windows
        self.emit = emit
        self.retention = retention
        self.lateRecords = lateRecords
        self.add = add
        self.merge = merge
        self.recordSerdes = try context.lateRecordSerdes(lateRecords, key: recordSerdes.key, value: recordSerdes.value)
        if emit == .onUpdate {
            forwardsOnFlush = store.inner.setFlushListener(isWanted: { context.hasChildren }, sendsOldValues: context.sendsOldValues) { record in
                // The operator's own state passes the cache too, and is no result. A merged
                // session's deletion is.
                guard !record.key.isOperatorState else { return }
                let key = try record.key.key.withUnsafeBytes { try store.keySerde.decode($0) }
                try context.forward(Record(
                    key: Windowed(key: key, window: Window(start: record.key.start, end: record.key.end)),
                    value: Change(newValue: try record.value.newValue.map(store.decode), oldValue: try record.value.oldValue.map(store.decode)),
                    timestamp: record.key.end, headers: record.headers))
            }
        } else {
            forwardsOnFlush = false
        }
    }

    @inlinable
    func process(_ record: Record<Key, Value>) throws {
        guard let keyBytes = try store.recordKeyBytes(record.key) else {
            context.skipNullKey(reason: "it cannot be aggregated in a session")
            return
        }
        if !stateLoaded {
            state = try store.loadOperatorState()
            stateLoaded = true
        }
        let before = state
        let time = record.timestamp
        if time > state.observedStreamTime { state.observedStreamTime = time }
        let closeTime = state.observedStreamTime - windows.gap - windows.grace
        let latestKey = StoreKeyBytes(keyBytes)
        // Nearly every record joins its key's latest session alone: held above the record
        // cache, the session grows in place (its deletion and new write are made when it
        // leaves for the cache, and forwarded from there).
        let joinedLatest = try store.foldIntoLatestSession(latestKey, time: time, earliestEnd: max(time - windows.gap, closeTime), headers: record.headers) {
            try add(record.key, record.value, try merge(record.key, nil, $0))
        }
        if !joinedLatest { try joinSessions(record, keyBytes: keyBytes, latestKey: latestKey, closeTime: closeTime) }
        if state.observedStreamTime > before.observedStreamTime {
            // Final results first: a session that closed is emitted before retention may drop it.
            if emit == .onWindowClose { try emitClosedSessions() }
            try store.expireSessions(before: state.observedStreamTime - retention)
        }
        if state != before { store.stageOperatorState(state) }
    }

    /// Merges the record with the open sessions it joins, through the record cache: it is
    /// late if they make a closed session.
    @inlinable
    func joinSessions(_ record: Record<Key, Value>, keyBytes: [UInt8], latestKey: StoreKeyBytes, closeTime: Int64) throws {
        let time = record.timestamp
        // Open sessions only: a closed one is never reopened.
        let merged = try store.sessionsJoined(
            by: time, key: keyBytes, latestKey: latestKey, gap: windows.gap, closeTime: closeTime, observedStreamTime: state.observedStreamTime)
        var window = Window(start: time, end: time)
        var aggregate: Aggregate?
        for session in merged {
            aggregate = try merge(record.key, aggregate, session.value)
            window = Window(start: min(window.start, session.window.start), end: max(window.end, session.window.end))
        }
        if window.end < closeTime {
            try context.dropLate(
                record, window: window, streamTime: state.observedStreamTime, lateness: closeTime - window.end, handling: lateRecords,
                serdes: recordSerdes)
        } else {
            let updated = try add(record.key, record.value, aggregate)
            // A record in its key's session of its own time alone rewrites that session.
            let replacesJoined = window != Window(start: time, end: time) || merged.isEmpty
            if replacesJoined {
                for session in merged {
                    try store.remove(keyBytes, session.window, headers: record.headers)
                    try forwardUpdate(record.key, session.window, Change(newValue: nil, oldValue: session.value), headers: record.headers)
                }
            }
            try store.putJoined(keyBytes, latestKey: latestKey, window, updated, headers: record.headers, replacesJoined: replacesJoined)
            try forwardUpdate(record.key, window, Change(newValue: updated, oldValue: nil), headers: record.headers)
        }
    }

    @inlinable
    func forwardUpdate(_ key: Key, _ window: Window, _ change: Change<Aggregate>, headers: [RecordHeader]) throws {
        guard emit == .onUpdate && !forwardsOnFlush else { return }
        let sent = context.sendsOldValues ? change : Change(newValue: change.newValue, oldValue: nil)
        try context.forward(Record(key: Windowed(key: key, window: window), value: sent, timestamp: window.end, headers: headers))
    }

    /// The input has ended: every session not emitted yet is closed and emitted. The
    /// operator's stream time moves just far enough for that (the latest end plus the gap
    /// and the grace), so a later record that would join one of them is late.
    @usableFromInline
    func finishInput() throws {
        guard emit == .onWindowClose else { return }
        if !stateLoaded {
            state = try store.loadOperatorState()
            stateLoaded = true
        }
        guard let latest = try store.sessions(endingFrom: state.lastEmitted + 1, through: .max).last?.window.end else { return }
        state.observedStreamTime = max(state.observedStreamTime, latest + windows.gap + windows.grace + 1)
        try emitClosedSessions()
        store.stageOperatorState(state)
    }

    /// Emits every session closed since the last one emitted, in (end, start, key) order.
    @usableFromInline
    func emitClosedSessions() throws {
        // Closed: end + gap + grace < stream time.
        let lastClosed = state.observedStreamTime - windows.gap - windows.grace - 1
        guard lastClosed > state.lastEmitted else { return }
        for session in try store.sessions(endingFrom: state.lastEmitted + 1, through: lastClosed) {
            let key = try session.key.withUnsafeBytes { try store.keySerde.decode($0) }
            try context.forward(Record(
                key: Windowed(key: key, window: session.window), value: Change(newValue: session.value, oldValue: nil), timestamp: session.window.end))
        }
        state.lastEmitted = lastClosed
    }
}
