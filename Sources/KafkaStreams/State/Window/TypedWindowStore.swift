/// A window store: each key's aggregate per window start, kept until its segment of time
/// is older than the retention. It lies over a key-value store of ``WindowStoreKey``s, so
/// it has that store's layers (record cache, changelog, RocksDB or memory), restore and
/// exactly-once rules; expired windows are deleted there (tombstones in the changelog, so a
/// restore agrees), a segment at a time.
///
/// Beside the windows it keeps its operator's state (observed stream time, the last window
/// emitted as final), written with them, so a restart resumes exactly where the state is.
@usableFromInline
final class TypedWindowStore<Key, Value>: SegmentedStore, @unchecked Sendable {
    @usableFromInline let name: String
    @usableFromInline let inner: TypedKeyValueStore<WindowStoreKey, [UInt8]>
    @usableFromInline let keySerde: AnySerde<Key>
    @usableFromInline let valueSerde: AnySerde<Value>
    /// The span of window starts one segment holds, in milliseconds.
    @usableFromInline let segmentInterval: Int64
    /// How long a window is kept after its start, at least (whole segments go at once).
    @usableFromInline let retention: Int64
    /// The windows' length, which gives a window its end.
    @usableFromInline let windowSize: Int64
    @usableFromInline let liveSegments = LiveSegments()
    @exclusivity(unchecked) @usableFromInline var unwrittenOperatorState: WindowedOperatorState?
    @exclusivity(unchecked) @usableFromInline var recordKeyBuffer: [UInt8] = []
    /// The windows' latest updates above the record cache (`nil`: the store has none, and
    /// every update goes down as it is made).
    @exclusivity(unchecked) @usableFromInline var held: HeldWindowUpdates<Value>?
    /// Checks each held update's aggregate encodes, as it is made.
    @exclusivity(unchecked) @usableFromInline var heldAggregateCheck: HeldAggregateCheck<Value>
    /// The held updates before a time as the record cache's entries, in write order
    /// (when `making`), and removed (when `removing`): made where the store's types are
    /// known (see ``holdUpdatesAboveCache()``), since the commit reaches the store without them.
    @exclusivity(unchecked) @usableFromInline var heldEntries: ((_ before: Int64, _ making: Bool, _ removing: Bool) throws -> [CachingBytesStore.Entry])?
    /// The latest window start each key was updated at since the store opened, and the
    /// latest start any window stored before it opened can have (the stream time it had
    /// then): a window past both was never written, so its update reads nothing.
    @exclusivity(unchecked) private var latestStarts: [StoreKeyBytes: Int64] = [:]
    @exclusivity(unchecked) private var latestStartBeforeOpen: Int64?

    init(
        name: String, inner: TypedKeyValueStore<WindowStoreKey, [UInt8]>, keySerde: AnySerde<Key>, valueSerde: AnySerde<Value>, retention: Int64,
        windowSize: Int64
    ) {
        self.windowSize = windowSize
        self.name = name
        self.inner = inner
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.retention = retention
        segmentInterval = Self.segmentInterval(retention: retention)
        heldAggregateCheck = HeldAggregateCheck(serde: valueSerde)
    }

    // MARK: Windows, for the windowed processors

    /// Reads a window's aggregate and time for a ``write(_:_:timestamp:headers:)`` that
    /// follows (the windowed processors always write what they read for update).
    @inlinable
    func readForUpdate(_ key: [UInt8], start: Int64) throws -> (key: TypedKeyValueStore<WindowStoreKey, [UInt8]>.PreparedKey, current: (value: Value, timestamp: Int64)?) {
        try writeHeldUpdatesUnlessEmpty()
        let segment = start / segmentInterval
        // A window never written has nothing to read, in the cache or below: opening one
        // costs no read, and the cache no lookup.
        let prepared = try inner.prepareUpdate(
            writingKey: { WindowStoreKey.write(into: &$0, segment: segment, key: key, start: start) },
            isUnwritten: start > (try noteUpdates(of: StoreKeyBytes(key), through: start)))
        guard let bytes = prepared.value else { return (prepared, nil) }
        let stored = try TimestampedBytes.decode(bytes, valueSerde)
        return (prepared, (stored.value, stored.timestamp))
    }

    @inlinable
    func write(_ key: TypedKeyValueStore<WindowStoreKey, [UInt8]>.PreparedKey, _ value: Value, timestamp: Int64, headers: [RecordHeader]) throws {
        guard let bytes = try TimestampedBytes.encode(value, timestamp: timestamp, valueSerde) else { throw nullAggregate() }
        try inner.write(key, bytes, timestamp: timestamp, headers: headers)
    }

    /// A record's updates of its key's windows, made with ``update(_:start:latestWritten:_:)``.
    @usableFromInline
    struct RecordUpdates {
        @usableFromInline let key: [UInt8]
        @usableFromInline let headers: [RecordHeader]
        /// The key as the store's tables find it (hashed once per record).
        @usableFromInline let storeKey: StoreKeyBytes
        /// The key's windows among the held ones as the record started (`nil`: none).
        @usableFromInline let held: HeldWindowUpdates<Value>.KeyWindows?

        @inlinable
        init(key: [UInt8], headers: [RecordHeader], storeKey: StoreKeyBytes, held: HeldWindowUpdates<Value>.KeyWindows?) {
            self.key = key
            self.headers = headers
            self.storeKey = storeKey
            self.held = held
        }
    }

    /// Starts a record's updates of the windows of the key serialized as `key` (see
    /// ``noteUpdates(of:through:)``); end them with ``finishUpdates(_:)``.
    @inlinable
    func updates(of key: [UInt8], headers: [RecordHeader]) -> RecordUpdates {
        let storeKey = StoreKeyBytes(key)
        guard let held else { return RecordUpdates(key: key, headers: headers, storeKey: storeKey, held: nil) }
        // What a record that failed halfway left.
        if !held.pending.isEmpty { held.pending.removeAll(keepingCapacity: true) }
        return RecordUpdates(key: key, headers: headers, storeKey: storeKey, held: held.windows(of: storeKey))
    }

    /// Folds a record's update into its key's window at `start`: `fold` gets the window's
    /// aggregate and time (`nil` for a window never written, which is not looked up when
    /// its start is past `latestWritten`, see ``noteUpdates(of:through:)``) and returns the
    /// new ones. Returns the window's aggregate before and after.
    ///
    /// With a record cache, the update is held above it (``HeldWindowUpdates``) once the
    /// record has made all of its updates (``finishUpdates(_:)``); without one, it goes
    /// down at once.
    @inlinable
    func update(
        _ updates: RecordUpdates, start: Int64, latestWritten: Int64,
        _ fold: ((value: Value, timestamp: Int64)?) throws -> (value: Value, timestamp: Int64)
    ) throws -> (previous: Value?, updated: (value: Value, timestamp: Int64)) {
        guard let held, let cache = inner.cache else {
            return try updateBelow(updates.key, start: start, latestWritten: latestWritten, headers: updates.headers, fold)
        }
        var current: (value: Value, timestamp: Int64)?
        var cacheHit: Bool?
        // Read without the lock: this thread is the only writer.
        let index = updates.held?.index(of: start)
        if let keyWindows = updates.held, let index {
            current = (keyWindows.windows[index].value, keyWindows.windows[index].timestamp)
            cacheHit = true
        } else if start <= latestWritten {
            let segment = start / segmentInterval
            let stored = try inner.lookUp(writingKey: { WindowStoreKey.write(into: &$0, segment: segment, key: updates.key, start: start) }, in: cache)
            cacheHit = stored.held
            current = try stored.value.map { bytes in
                let decoded = try TimestampedBytes.decode(bytes, valueSerde)
                return (decoded.value, decoded.timestamp)
            }
        }
        let updated = try fold(current)
        try checkEncodes(updated.value)
        held.pending.append(.init(index: index, start: start, value: updated.value, timestamp: updated.timestamp))
        inner.metrics?.countUpdate(cacheHit: cacheHit)
        return (current?.value, updated)
    }

    /// Throws what encoding `value` would, or that it encodes as null.
    @inlinable
    func checkEncodes(_ value: Value) throws {
        guard try heldAggregateCheck.encodes(value) else { throw nullAggregate() }
    }

    /// Ends a record's updates: they are held, under one hold of the store's lock, and
    /// go down when the thread's record caches passed their budget.
    @inlinable
    func finishUpdates(_ updates: RecordUpdates) throws {
        guard let held, !held.pending.isEmpty, let cache = inner.cache else { return }
        let context = cache.recordContext(timestamp: 0, headers: updates.headers)
        let charged = try inner.locked { held.holdPending(of: updates.storeKey, in: updates.held, context: context, sequence: cache.takeSequences) }
        cache.charge(heldAbove: charged)
        if cache.isOverBudget { try evict() }
    }

    /// An update of a store without a record cache: read and written below at once.
    @inlinable
    func updateBelow(
        _ key: [UInt8], start: Int64, latestWritten: Int64, headers: [RecordHeader],
        _ fold: ((value: Value, timestamp: Int64)?) throws -> (value: Value, timestamp: Int64)
    ) throws -> (previous: Value?, updated: (value: Value, timestamp: Int64)) {
        let segment = start / segmentInterval
        let prepared = try inner.prepareUpdate(
            writingKey: { WindowStoreKey.write(into: &$0, segment: segment, key: key, start: start) }, isUnwritten: start > latestWritten)
        let current = try prepared.value.map { try TimestampedBytes.decode($0, valueSerde) }
        let updated = try fold(current.map { (value: $0.value, timestamp: $0.timestamp) })
        try write(prepared, updated.value, timestamp: updated.timestamp, headers: headers)
        return (current?.value, updated)
    }

    @usableFromInline
    func nullAggregate() -> StreamsError {
        StreamsError(.topology, "window store \(name) cannot hold a null aggregate")
    }

    /// Prepares the write of `key`'s window at `start` without reading it (the caller
    /// knows its value: a stream–stream join's index).
    @inlinable
    func prepareWrite(_ key: [UInt8], start: Int64) throws -> TypedKeyValueStore<WindowStoreKey, [UInt8]>.PreparedKey {
        try writeHeldUpdatesUnlessEmpty()
        let segment = start / segmentInterval
        return inner.prepareWrite { WindowStoreKey.write(into: &$0, segment: segment, key: key, start: start) }
    }

    /// Deletes `key`'s window at `start` (a stream–stream join's record sent without
    /// partner: no later record may find it).
    @usableFromInline
    func remove(_ key: [UInt8], start: Int64) throws {
        try inner.write(try prepareWrite(key, start: start), nil, timestamp: start, headers: [])
    }

    // MARK: Updates held above the record cache

    /// Holds the windowed aggregation's updates above the record cache, as aggregates
    /// (``HeldWindowUpdates``), when the store has a cache: called by the aggregation when
    /// it is made, where the store's types are known.
    @inlinable
    func holdUpdatesAboveCache() {
        guard held == nil, let cache = inner.cache, cache.holdsUpdatesAbove, inner.valuesAreStoredBytes, inner.expiry == nil else { return }
        let held = HeldWindowUpdates<Value>()
        self.held = held
        heldEntries = { [unowned self] before, making, removing in
            var entries: [CachingBytesStore.Entry] = []
            if making {
                let leaving = held.windows(before: before)
                entries.reserveCapacity(leaving.count)
                for (key, window) in leaving {
                    guard let bytes = try TimestampedBytes.encode(window.value, timestamp: window.timestamp, valueSerde) else { throw nullAggregate() }
                    entries.append(.init(heldAbove: storeKeyBytes(key, start: window.start), value: bytes, context: held.context(of: window), sequence: window.sequence))
                }
            }
            if removing {
                let charged = held.chargedBytes
                held.removeWindows(before: before)
                cache.charge(heldAbove: held.chargedBytes - charged)
            }
            entries.sort { $0.sequence < $1.sequence }
            return entries
        }
    }

    /// Writes the held updates into the record cache first, if there are any: for the
    /// writes that do not go through ``update(_:start:latestWritten:_:)``, which would
    /// otherwise pass them.
    @inlinable
    func writeHeldUpdatesUnlessEmpty() throws {
        if let held, !held.isEmpty { try writeHeldUpdatesToCache() }
    }

    /// Moves the held updates into the record cache, each at its place in the write order.
    /// They are in the cache before they leave here, so a query between the two finds
    /// them in one or the other.
    @usableFromInline
    func writeHeldUpdatesToCache() throws {
        guard let held, !held.isEmpty, let cache = inner.cache, let heldEntries else { return }
        try cache.put(heldAbove: try heldEntries(.max, true, false))
        let charged = held.chargedBytes
        try inner.locked { held.removeAll() }
        cache.charge(heldAbove: -charged)
    }

    /// Drops the held updates with the record cache's writes (the task closes without
    /// commit: its input is read again).
    @usableFromInline
    func close(_ closeLayers: () -> Void) {
        inner.close {
            if let held, let cache = inner.cache {
                cache.charge(heldAbove: -held.chargedBytes)
                held.removeAll()
            }
            closeLayers()
        }
    }

    /// The bytes of the store key of `key`'s window at `start`.
    @usableFromInline
    func storeKeyBytes(_ key: [UInt8], start: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        WindowStoreKey.write(into: &bytes, segment: start / segmentInterval, key: key, start: start)
        return bytes
    }

    /// Notes that `key`'s windows up to the one at `latestStart` are about to be written
    /// (a record's windows: one lookup for all of them); returns the latest start at which
    /// the key may have a window so far: the latest noted since the store opened, or any
    /// stored before. A window after it was never written.
    @usableFromInline
    func noteUpdates(of key: StoreKeyBytes, through latestStart: Int64) throws -> Int64 {
        let beforeOpen = try latestStartBeforeOpen ?? {
            // Read at the first update, before this store's first flush: the stream time of
            // the state it opened with (restored or kept), which no stored start passes.
            let time = try readOperatorState().observedStreamTime
            latestStartBeforeOpen = time
            return time
        }()
        // One lookup, updating in place.
        let noted = Self.raise(&latestStarts[key, default: -1], to: latestStart)
        return max(beforeOpen, noted)
    }

    /// Raises `value` to `newValue` if lower; returns it as it was.
    private static func raise(_ value: inout Int64, to newValue: Int64) -> Int64 {
        defer { value = max(value, newValue) }
        return value
    }

    /// Drops the segments before `cutoff` (see ``SegmentedStore/expire(before:)``), and
    /// forgets the keys updated only in them since the store opened: any window of theirs
    /// from now on is open, so starts later.
    @usableFromInline
    func expireWindows(before cutoff: Int64) throws {
        guard let firstKept = try expire(before: cutoff, droppingHeld: { try heldEntries?($0, $1, true) ?? [] }) else { return }
        latestStarts = latestStarts.filter { $0.value >= firstKept }
    }

    /// Every window with a start in `lower...upper`, in (start, key) order.
    @usableFromInline
    func windows(from lower: Int64, through upper: Int64) throws -> [(key: [UInt8], start: Int64, value: Value, timestamp: Int64)] {
        // Times are never negative; a negative bound would also sort after every key.
        let lower = max(lower, 0)
        guard lower <= upper else { return [] }
        var found: [(key: [UInt8], start: Int64, value: Value, timestamp: Int64)] = []
        guard let segments = segments(from: lower, through: upper) else { return [] }
        // Read before what is stored: an update that leaves meanwhile is found there.
        let heldWindows = try locked { held?.windows(from: lower, through: upper) ?? [] }
        let heldIDs = Set(heldWindows.map { HeldWindowID(key: $0.key, start: $0.window.start) })
        for (key, value) in try entries(of: segments) where key.start >= lower && key.start <= upper {
            guard !heldIDs.contains(HeldWindowID(key: key.key, start: key.start)) else { continue }
            let stored = try TimestampedBytes.decode(value, valueSerde)
            found.append((key.key, key.start, stored.value, stored.timestamp))
        }
        for (key, window) in heldWindows { found.append((key, window.start, window.value, window.timestamp)) }
        return found.sorted { $0.start != $1.start ? $0.start < $1.start : $0.key.lexicographicallyPrecedes($1.key) }
    }

    /// `key`'s windows with a start in `lower...upper`, in start order.
    @usableFromInline
    func fetch(_ key: Key, from lower: Int64, through upper: Int64) throws -> [(window: Int64, value: Value, timestamp: Int64)] {
        guard let keyBytes = try keyBytes(key) else { return [] }
        return try fetch(keyBytes: keyBytes, from: lower, through: upper)
    }

    /// The windows of the key serialized as `keyBytes` with a start in `lower...upper`, in
    /// start order: for an operator that holds its record's key bytes already.
    @usableFromInline
    func fetch(keyBytes: [UInt8], from lower: Int64, through upper: Int64) throws -> [(window: Int64, value: Value, timestamp: Int64)] {
        let lower = max(lower, 0)
        guard lower <= upper else { return [] }
        guard let segments = segments(from: lower, through: upper) else { return [] }
        // Read before what is stored: an update that leaves meanwhile is found there.
        let heldWindows = try locked { held?.windows(of: keyBytes, from: lower, through: upper) ?? [] }
        var entries: [(key: WindowStoreKey, value: [UInt8])] = []
        if segments.last - segments.first < Self.keyScopedSegments {
            // A few segments: a short scan of the key's windows in each.
            for segment in segments.first...segments.last {
                entries += try inner.range(
                    from: WindowStoreKey(segment: segment, key: keyBytes, start: lower), to: WindowStoreKey(segment: segment, key: keyBytes, start: upper))
                    .filter { $0.key.segment == segment }
            }
        } else {
            // A wide span (a query from the epoch): one scan of what is stored, rather than
            // a scan per (mostly empty) segment.
            entries = try self.entries(of: segments)
        }
        var found: [(window: Int64, value: Value, timestamp: Int64)] = []
        for (storeKey, value) in entries where storeKey.key == keyBytes && storeKey.start >= lower && storeKey.start <= upper {
            guard !heldWindows.contains(where: { $0.start == storeKey.start }) else { continue }
            let stored = try TimestampedBytes.decode(value, valueSerde)
            found.append((storeKey.start, stored.value, stored.timestamp))
        }
        guard !heldWindows.isEmpty else { return found }
        found += heldWindows.map { ($0.start, $0.value, $0.timestamp) }
        return found.sorted { $0.window < $1.window }
    }

    /// Above this many segments, reading a key's windows scans the segments once, whole.
    static var keyScopedSegments: Int { 8 }
}

/// A window of a key, as the held updates and the stored windows are matched.
struct HeldWindowID: Hashable {
    let key: [UInt8]
    let start: Int64
}
