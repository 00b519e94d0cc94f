/// A session store: each key's sessions (`[start, end]`, inclusive) with their aggregates,
/// kept until their segment of end times is older than the retention. Like the window
/// store it lies over a key-value store (of ``SessionStoreKey``s) with that store's layers,
/// restore and exactly-once rules, and keeps its operator's state beside the sessions.
@usableFromInline
final class TypedSessionStore<Key, Value>: SegmentedStore, @unchecked Sendable {
    @usableFromInline let name: String
    @usableFromInline let inner: TypedKeyValueStore<SessionStoreKey, [UInt8]>
    @usableFromInline let keySerde: AnySerde<Key>
    @usableFromInline let valueSerde: AnySerde<Value>
    @usableFromInline let segmentInterval: Int64
    @usableFromInline let retention: Int64
    @usableFromInline let liveSegments = LiveSegments()
    @exclusivity(unchecked) @usableFromInline var unwrittenOperatorState: WindowedOperatorState?
    @exclusivity(unchecked) @usableFromInline var recordKeyBuffer: [UInt8] = []
    /// Each key's latest session and its aggregate as the session processor last made
    /// them (since the store opened: a restart starts empty), so that nearly every record,
    /// one at or after its key's latest session start, finds that session here instead of
    /// scanning the store. In a cached store, their changes are held here above the cache
    /// (see ``LatestSession``, ``holdUpdatesAboveCache()``).
    ///
    /// Changed on the stream thread under the store's lock, since queries read the held
    /// sessions; read there without it (it is the only writer).
    @exclusivity(unchecked) @usableFromInline var latestSessions: [StoreKeyBytes: LatestSession<Value>] = [:]
    /// Whether the latest sessions' changes are held above the record cache.
    @exclusivity(unchecked) @usableFromInline var holdsUpdates = false
    /// The keys whose latest session was held since the held changes last left (some may
    /// have left since, alone or before their segment expired, and be listed again).
    @exclusivity(unchecked) @usableFromInline var heldKeys: [StoreKeyBytes] = []
    /// How many latest sessions are held.
    @exclusivity(unchecked) @usableFromInline var heldCount = 0
    /// The bytes charged to the thread's record cache for the held changes.
    @exclusivity(unchecked) @usableFromInline var heldCharge = 0
    /// Moves the held changes of some keys into the record cache, specialized (see
    /// ``holdUpdatesAboveCache()``).
    @exclusivity(unchecked) @usableFromInline var moveHeldSessions: ((_ keys: [StoreKeyBytes]) throws -> Void)?
    /// Checks each held session's aggregate encodes, as it is made.
    @exclusivity(unchecked) @usableFromInline var heldAggregateCheck: HeldAggregateCheck<Value>

    init(name: String, inner: TypedKeyValueStore<SessionStoreKey, [UInt8]>, keySerde: AnySerde<Key>, valueSerde: AnySerde<Value>, retention: Int64) {
        self.name = name
        self.inner = inner
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.retention = retention
        segmentInterval = Self.segmentInterval(retention: retention)
        heldAggregateCheck = HeldAggregateCheck(serde: valueSerde)
    }

    // MARK: Sessions, for the session processor

    /// A session as stored: its key's bytes, its span, its aggregate.
    @usableFromInline
    struct Session {
        @usableFromInline let key: [UInt8]
        @usableFromInline let window: Window
        @usableFromInline let value: Value

        @inlinable
        init(key: [UInt8], window: Window, value: Value) {
            self.key = key
            self.window = window
            self.value = value
        }
    }

    @inlinable
    func storeKey(_ key: [UInt8], _ window: Window) -> SessionStoreKey {
        SessionStoreKey(segment: window.end / segmentInterval, key: key, end: window.end, start: window.start)
    }

    /// `key`'s sessions that end at or after `earliestEnd` and start at or before
    /// `latestStart`, by end then start. No session ends after `latestEnd` (the operator's
    /// stream time), which bounds the segments to read.
    @usableFromInline
    func findSessions(_ key: [UInt8], earliestEnd: Int64, latestStart: Int64, latestEnd: Int64) throws -> [Session] {
        // Times are never negative; a negative bound would also sort after every key.
        let earliestEnd = max(earliestEnd, 0)
        guard earliestEnd <= latestEnd else { return [] }
        guard let segments = segments(from: earliestEnd, through: latestEnd) else { return [] }
        // Read before what is stored: a change that leaves meanwhile is found there.
        let held = try heldSession(of: key)
        var entries: [(key: SessionStoreKey, value: [UInt8])] = []
        if segments.last - segments.first < TypedWindowStore<Key, Value>.keyScopedSegments {
            // A few segments: a short scan of the key's sessions in each.
            for segment in segments.first...segments.last {
                entries += try inner.range(
                    from: SessionStoreKey(segment: segment, key: key, end: earliestEnd, start: 0),
                    to: SessionStoreKey(segment: segment, key: key, end: latestEnd, start: .max)
                ).filter { $0.key.segment == segment }
            }
        } else {
            // A wide span (a query from the epoch): one scan of what is stored.
            entries = try self.entries(of: segments)
        }
        var found: [Session] = []
        for (storeKey, value) in entries where storeKey.key == key && storeKey.end >= earliestEnd && storeKey.end <= latestEnd && storeKey.start <= latestStart {
            let window = Window(start: storeKey.start, end: storeKey.end)
            // The held change replaces the session stored for it (whichever holds it now).
            if let held, window == held.window || window == held.replaced { continue }
            found.append(Session(key: key, window: window, value: try decode(value)))
        }
        guard let held, held.window.end >= earliestEnd, held.window.end <= latestEnd, held.window.start <= latestStart else { return found }
        found.append(Session(key: key, window: held.window, value: held.value))
        return found.sorted { ($0.window.end, $0.window.start) < ($1.window.end, $1.window.start) }
    }

    /// The open sessions of `key` that a record at `time` joins: those ending at or after
    /// `max(time - gap, closeTime)` and starting at or before `time + gap`, by end then start.
    ///
    /// Open sessions of a key lie more than `gap` apart (a record within `gap` of two joins
    /// them; a closed session is never joined), so a record at or after the start of its
    /// key's latest session can join that one only, which the store remembers with its
    /// aggregate (the processor is the store's only writer). Other records, and keys not
    /// written since the store opened, scan the store.
    // The per-record path is inlinable, so the processor's specialization of it has no
    // generic type to look up at run time (the latest sessions' table type, per access).
    ///
    /// `latestKey` is `key` as the table of latest sessions finds it (made once per record,
    /// for ``putJoined(_:latestKey:_:_:headers:replacesJoined:)`` too).
    ///
    /// The key's held change (see ``foldIntoLatestSession(_:time:earliestEnd:headers:_:)``)
    /// enters the record cache first: the sessions found are changed there.
    @inlinable
    func sessionsJoined(by time: Int64, key: [UInt8], latestKey: StoreKeyBytes, gap: Int64, closeTime: Int64, observedStreamTime: Int64) throws -> [Session] {
        let earliestEnd = max(time - gap, closeTime)
        if let index = latestSessions.index(forKey: latestKey) {
            if latestSessions.values[index].held != nil { try moveHeldSessionsToCache(of: [latestKey]) }
            let latest = latestSessions.values[index]
            if time >= latest.window.start {
                return latest.window.end >= earliestEnd ? [Session(key: key, window: latest.window, value: latest.value)] : []
            }
        }
        return try findSessions(key, earliestEnd: earliestEnd, latestStart: time + gap, latestEnd: observedStreamTime)
    }

    /// Stores the session a record made (after deleting the ones it joined, found by
    /// ``sessionsJoined(by:key:latestKey:gap:closeTime:observedStreamTime:)``): it is now its key's
    /// latest, since it reaches the record's time and every session it could pass was
    /// among the joined. `replacesJoined`: the joined sessions were deleted (the session
    /// is not the one joined, of the record's time alone, rewritten).
    @inlinable
    func putJoined(_ key: [UInt8], latestKey: StoreKeyBytes, _ window: Window, _ value: Value, headers: [RecordHeader], replacesJoined: Bool) throws {
        // No stored session has this window unless it was among the joined, just deleted
        // (in the cache): any other session of the key within reach would have been joined.
        // A session rewritten in place may be stored.
        try put(key, window, value, headers: headers, unstored: replacesJoined)
        try locked { latestSessions[latestKey] = LatestSession(window: window, value: value) }
    }

    /// Drops the segments before `cutoff` (see ``SegmentedStore/expire(before:)``), and
    /// forgets the latest sessions that ended in them. A held change that ends there, or
    /// deletes a session there, enters the record cache first, which drops it with the
    /// segments as it drops its own writes. (Inlinable: unspecialized, each latest
    /// session's type is looked up at run time.)
    @inlinable
    func expireSessions(before cutoff: Int64) throws {
        guard let firstKept = firstKeptTime(expiringBefore: cutoff) else { return }
        if holdsUpdates { try writeHeldSessionsToCache(endingBefore: firstKept) }
        try expire(before: cutoff)
        try locked { latestSessions = latestSessions.filter { $0.value.window.end >= firstKept } }
    }

    /// - Parameter unstored: the caller knows no session with this window is stored below
    ///   the record cache.
    @inlinable
    func put(_ key: [UInt8], _ window: Window, _ value: Value, headers: [RecordHeader], unstored: Bool = false) throws {
        var bytes: [UInt8] = []
        guard try valueSerde.encode(value, &bytes) else { throw nullAggregate() }
        try write(storeKey(key, window), bytes, headers: headers, unstored: unstored)
    }

    @inlinable
    func remove(_ key: [UInt8], _ window: Window, headers: [RecordHeader]) throws {
        try write(storeKey(key, window), nil, headers: headers)
    }

    @inlinable
    func write(_ key: SessionStoreKey, _ bytes: [UInt8]?, headers: [RecordHeader], unstored: Bool = false) throws {
        let writeKey = key.write(into:)
        let prepared = unstored ? inner.prepareWriteOfUnstoredKey(writingKey: writeKey) : inner.prepareWrite(writingKey: writeKey)
        try inner.write(prepared, bytes, timestamp: key.end, headers: headers)
    }

    /// Every session that ends in `lower...upper`, by end, start, then key bytes. For the
    /// stream thread (final results): the held changes enter the record cache first.
    @usableFromInline
    func sessions(endingFrom lower: Int64, through upper: Int64) throws -> [Session] {
        try writeHeldUpdatesToCache()
        let lower = max(lower, 0)
        guard lower <= upper else { return [] }
        guard let segments = segments(from: lower, through: upper) else { return [] }
        var found: [Session] = []
        for (storeKey, value) in try entries(of: segments) where storeKey.end >= lower && storeKey.end <= upper {
            found.append(Session(key: storeKey.key, window: Window(start: storeKey.start, end: storeKey.end), value: try decode(value)))
        }
        return found.sorted {
            ($0.window.end, $0.window.start) != ($1.window.end, $1.window.start)
                ? ($0.window.end, $0.window.start) < ($1.window.end, $1.window.start) : $0.key.lexicographicallyPrecedes($1.key)
        }
    }

    @usableFromInline
    func decode(_ bytes: [UInt8]) throws -> Value { try bytes.withUnsafeBytes { try valueSerde.decode($0) } }
}
