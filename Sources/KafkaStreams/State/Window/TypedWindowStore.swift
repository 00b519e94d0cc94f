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
    @usableFromInline var unwrittenOperatorState: WindowedOperatorState?
    @exclusivity(unchecked) @usableFromInline var recordKeyBuffer: [UInt8] = []
    /// The latest window start each key was updated at since the store opened, and the
    /// latest start any window stored before it opened can have (the stream time it had
    /// then): a window past both was never written, so its update reads nothing.
    private var latestStarts: [StoreKeyBytes: Int64] = [:]
    private var latestStartBeforeOpen: Int64?

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
    }

    // MARK: Windows, for the windowed processors

    /// Reads a window's aggregate and time for a ``write(_:_:timestamp:headers:)`` that
    /// follows (the windowed processors always write what they read for update).
    @inlinable
    func readForUpdate(_ key: [UInt8], start: Int64) throws -> (key: TypedKeyValueStore<WindowStoreKey, [UInt8]>.PreparedKey, current: (value: Value, timestamp: Int64)?) {
        let segment = start / segmentInterval
        // A window never written has nothing to read, in the cache or below: opening one
        // costs no read, and the cache no lookup.
        let prepared = try inner.prepareUpdate(
            writingKey: { WindowStoreKey.write(into: &$0, segment: segment, key: key, start: start) },
            isUnwritten: start > (try noteUpdates(of: key, through: start)))
        guard let bytes = prepared.value else { return (prepared, nil) }
        let stored = try TimestampedBytes.decode(bytes, valueSerde)
        return (prepared, (stored.value, stored.timestamp))
    }

    @inlinable
    func write(_ key: TypedKeyValueStore<WindowStoreKey, [UInt8]>.PreparedKey, _ value: Value, timestamp: Int64, headers: [RecordHeader]) throws {
        guard let bytes = try TimestampedBytes.encode(value, timestamp: timestamp, valueSerde) else { throw nullAggregate() }
        try inner.write(key, bytes, timestamp: timestamp, headers: headers)
    }

    /// Folds an update into `key`'s window at `start`, read and written in one pass: `fold`
    /// gets the window's aggregate and time (`nil` for a window never written, which is
    /// not looked up when its start is past `latestWritten`, see ``noteUpdates(of:through:)``)
    /// and returns the new ones. Returns the window's aggregate before and after.
    @inlinable
    func update(
        _ key: [UInt8], start: Int64, latestWritten: Int64, headers: [RecordHeader],
        _ fold: ((value: Value, timestamp: Int64)?) throws -> (value: Value, timestamp: Int64)
    ) throws -> (previous: Value?, updated: (value: Value, timestamp: Int64)) {
        let segment = start / segmentInterval
        return try inner.update(
            writingKey: { WindowStoreKey.write(into: &$0, segment: segment, key: key, start: start) }, isUnwritten: start > latestWritten,
            headers: headers
        ) { bytes in
            let current = try bytes.map { try TimestampedBytes.decode($0, valueSerde) }
            let updated = try fold(current.map { (value: $0.value, timestamp: $0.timestamp) })
            guard let encoded = try TimestampedBytes.encode(updated.value, timestamp: updated.timestamp, valueSerde) else { throw nullAggregate() }
            return (encoded, updated.timestamp, (current?.value, updated))
        }
    }

    @usableFromInline
    func nullAggregate() -> StreamsError {
        StreamsError(.topology, "window store \(name) cannot hold a null aggregate")
    }

    /// Prepares the write of `key`'s window at `start` without reading it (the caller
    /// knows its value: a stream–stream join's index).
    @inlinable
    func prepareWrite(_ key: [UInt8], start: Int64) -> TypedKeyValueStore<WindowStoreKey, [UInt8]>.PreparedKey {
        let segment = start / segmentInterval
        return inner.prepareWrite { WindowStoreKey.write(into: &$0, segment: segment, key: key, start: start) }
    }

    /// Deletes `key`'s window at `start` (a stream–stream join's record sent without
    /// partner: no later record may find it).
    @usableFromInline
    func remove(_ key: [UInt8], start: Int64) throws {
        try inner.write(prepareWrite(key, start: start), nil, timestamp: start, headers: [])
    }

    /// Notes that `key`'s windows up to the one at `latestStart` are about to be written
    /// (a record's windows: one lookup for all of them); returns the latest start at which
    /// the key may have a window so far: the latest noted since the store opened, or any
    /// stored before. A window after it was never written.
    @usableFromInline
    func noteUpdates(of key: [UInt8], through latestStart: Int64) throws -> Int64 {
        let beforeOpen = try latestStartBeforeOpen ?? {
            // Read at the first update, before this store's first flush: the stream time of
            // the state it opened with (restored or kept), which no stored start passes.
            let time = try readOperatorState().observedStreamTime
            latestStartBeforeOpen = time
            return time
        }()
        // One lookup, updating in place.
        let noted = Self.raise(&latestStarts[StoreKeyBytes(key), default: -1], to: latestStart)
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
        guard let firstKept = try expire(before: cutoff) else { return }
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
        for (key, value) in try entries(of: segments) where key.start >= lower && key.start <= upper {
            let stored = try TimestampedBytes.decode(value, valueSerde)
            found.append((key.key, key.start, stored.value, stored.timestamp))
        }
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
            let stored = try TimestampedBytes.decode(value, valueSerde)
            found.append((storeKey.start, stored.value, stored.timestamp))
        }
        return found
    }

    /// Above this many segments, reading a key's windows scans the segments once, whole.
    static var keyScopedSegments: Int { 8 }
}
