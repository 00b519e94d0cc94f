import Synchronization

/// A key of a segmented store: it starts with its segment, so a segment's entries (and a run
/// of segments) are one contiguous range, and one key, in a segment that never expires,
/// holds the store's operator state.
@usableFromInline
protocol SegmentedStoreKey: Hashable, Sendable {
    var segment: Int64 { get }
    /// The smallest key of `segment`: every key of it sorts at or after this one, and every
    /// key of the segments before it sorts before.
    static func first(ofSegment segment: Int64) -> Self
    /// Where the store keeps its operator's state.
    static var operatorState: Self { get }
    /// Overwrites `bytes` with the key's bytes (its serde's layout), reusing the buffer.
    func write(into bytes: inout [UInt8])
}

extension SegmentedStoreKey {
    /// Appends the key's bytes, as a serde does.
    @inlinable
    func append(to bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return write(into: &bytes) }
        var own: [UInt8] = []
        write(into: &own)
        bytes += own
    }
}

extension WindowStoreKey: SegmentedStoreKey {
    @usableFromInline
    static func first(ofSegment segment: Int64) -> WindowStoreKey { WindowStoreKey(segment: segment, key: [], start: 0) }
}

extension SessionStoreKey: SegmentedStoreKey {
    @usableFromInline
    static func first(ofSegment segment: Int64) -> SessionStoreKey { SessionStoreKey(segment: segment, key: [], end: 0, start: 0) }
}

/// Which segments of a store are known to be empty. Written by the stream thread, read by
/// queries too.
@usableFromInline
final class LiveSegments: Sendable {
    private let first = Atomic<Int64>(0)
    private let observed = Atomic<Int64>(-1)

    /// Segments below this one are empty (expired, or never written).
    @usableFromInline var firstLive: Int64 { first.load(ordering: .relaxed) }

    func expire(below segment: Int64) { first.store(segment, ordering: .relaxed) }

    /// The operator's observed stream time as of its last record (-1: no record yet), which
    /// may be ahead of what the store holds until the next flush writes it.
    var observedStreamTime: Int64 { observed.load(ordering: .relaxed) }

    func observe(_ time: Int64) { observed.store(time, ordering: .relaxed) }
}

/// What window and session stores share: a key-value store of segmented keys under them,
/// segments of time that expire whole, and their operator's state beside the data.
@usableFromInline
protocol SegmentedStore: ManagedStore {
    associatedtype StoreKey: SegmentedStoreKey
    associatedtype Key

    var inner: TypedKeyValueStore<StoreKey, [UInt8]> { get }
    var keySerde: AnySerde<Key> { get }
    /// The span of times (window starts, session ends) one segment holds, in milliseconds.
    var segmentInterval: Int64 { get }
    var liveSegments: LiveSegments { get }
    /// How long a window is kept after its start (a session after its end), at least.
    var retention: Int64 { get }
    /// The operator's state as of its last record, when the store does not hold it yet:
    /// written at the next flush, with the windows it describes, rather than per record.
    var unwrittenOperatorState: WindowedOperatorState? { get set }
    /// Where ``recordKeyBytes(_:)`` serializes the operator's record keys.
    var recordKeyBuffer: [UInt8] { get set }
    /// Moves the updates the store holds above its record cache, if any, into the cache,
    /// each at its place in the write order.
    func writeHeldUpdatesToCache() throws
}

extension SegmentedStore {
    /// Two or so segments per retention, none shorter than a minute, as in Kafka Streams.
    static func segmentInterval(retention: Int64) -> Int64 { max(retention / 2, 60_000) }

    @usableFromInline func locked<T>(_ body: () throws -> T) throws -> T { try inner.locked(body) }
    /// Commits: the held updates, then the operator's state, go through the record cache
    /// to the changelog and downstream.
    @usableFromInline
    func flushCache() throws {
        try writeHeldUpdatesToCache()
        try flushOperatorStateAndCache()
    }

    /// Sends everything the store holds (above the record cache and in it) below: the
    /// thread's caches passed their budget. The operator's state waits for the commit, as
    /// it does when the cache evicts alone.
    @usableFromInline
    func evict() throws {
        try writeHeldUpdatesToCache()
        try inner.flushCache()
    }

    /// Writes the operator's state into the record cache, after the windows it describes,
    /// then flushes the cache.
    @usableFromInline
    func flushOperatorStateAndCache() throws {
        if let state = unwrittenOperatorState {
            try inner.put(.operatorState, state.encoded)
            unwrittenOperatorState = nil
        }
        try inner.flushCache()
    }
    @usableFromInline func close(_ closeLayers: () -> Void) { inner.close(closeLayers) }

    /// `key`'s bytes, or `nil` when its serde encodes it as null (no window holds it).
    @inlinable
    func keyBytes(_ key: Key) throws -> [UInt8]? {
        var bytes: [UInt8] = []
        return try keySerde.encode(key, &bytes) ? bytes : nil
    }

    /// The bytes of the key of the record the operator processes, or `nil` when its serde
    /// encodes it as null: in a buffer the store keeps for its stream thread, so a record
    /// allocates none (queries, on other threads, use ``keyBytes(_:)``).
    @inlinable
    func recordKeyBytes(_ key: Key) throws -> [UInt8]? {
        recordKeyBuffer.removeAll(keepingCapacity: true)
        return try keySerde.encode(key, &recordKeyBuffer) ? recordKeyBuffer : nil
    }

    /// The live segments that may hold times in `lower...upper`, if any.
    func segments(from lower: Int64, through upper: Int64) -> (first: Int64, last: Int64)? {
        let first = max(lower / segmentInterval, liveSegments.firstLive)
        let last = upper / segmentInterval
        return first <= last ? (first, last) : nil
    }

    /// Every entry of these segments (one scan), in key order.
    func entries(of segments: (first: Int64, last: Int64)) throws -> [(key: StoreKey, value: [UInt8])] {
        try inner.range(from: .first(ofSegment: segments.first), to: .first(ofSegment: segments.last + 1)).filter { $0.key.segment <= segments.last }
    }

    /// Drops the segments that end before `cutoff` (a time), whole: what retention no
    /// longer keeps. One range deletion, whatever the segments held: the record cache
    /// drops its writes of them, RocksDB deletes the range at the commit, and the
    /// changelog gets nothing (its topic's retention drops the same records; a restore
    /// brings them back until the operator's first record expires them again). Returns
    /// the first time kept, when segments went. `heldBefore` removes the updates held
    /// above the record cache before a time (the first kept), which go with the segments,
    /// as entries for the flush listener when it is handed them.
    @usableFromInline @discardableResult
    func expire(
        before cutoff: Int64, droppingHeld heldBefore: (_ time: Int64, _ handedOn: Bool) throws -> [CachingBytesStore.Entry] = { _, _ in [] }
    ) throws -> Int64? {
        guard let firstKeptTime = firstKeptTime(expiringBefore: cutoff) else { return nil }
        let firstKept = firstKeptTime / segmentInterval
        // Up to the first key of the first kept segment: keys of any bytes sort below it.
        try inner.deleteRange(from: .first(ofSegment: liveSegments.firstLive), to: .first(ofSegment: firstKept)) { try heldBefore(firstKeptTime, $0) }
        liveSegments.expire(below: firstKept)
        return firstKeptTime
    }

    /// The first time (a segment's start) that ``expire(before:droppingHeld:)`` keeps for
    /// `cutoff`, when segments would go; `nil` when none would.
    @inlinable
    func firstKeptTime(expiringBefore cutoff: Int64) -> Int64? {
        let firstKept = max(cutoff, 0) / segmentInterval
        return firstKept > liveSegments.firstLive ? firstKept * segmentInterval : nil
    }

    @usableFromInline
    func readOperatorState() throws -> WindowedOperatorState { WindowedOperatorState(decoding: try inner.get(.operatorState)) }

    /// The operator's state as the store holds it, read at the operator's first record
    /// (after any restore), with the segments the state says have expired dropped: a
    /// restore brings back what the changelog topic still holds of them.
    @usableFromInline
    func loadOperatorState() throws -> WindowedOperatorState {
        let state = try readOperatorState()
        if state.observedStreamTime >= 0 { try expire(before: state.observedStreamTime - retention) }
        return state
    }

    /// Keeps the operator's state for the next flush (every commit flushes first).
    @usableFromInline
    func stageOperatorState(_ state: WindowedOperatorState) {
        unwrittenOperatorState = state
        liveSegments.observe(state.observedStreamTime)
    }

    /// The operator's observed stream time, whether the store holds it yet or not.
    func observedStreamTime() throws -> Int64 { max(liveSegments.observedStreamTime, try readOperatorState().observedStreamTime) }

    /// The earliest time (a window's start, a session's end) that queries see: earlier
    /// ones have expired by the retention, even where their segment is still stored or
    /// a restore brought it back, as in Kafka Streams.
    func firstLiveTime() throws -> Int64 { try observedStreamTime() - retention + 1 }
}
