/// A cached window store's latest update of each window since its last flush, held above
/// its record cache as the aggregate itself, by record key: a windowed aggregation's
/// updates (``TypedWindowStore/holdUpdatesAboveCache()``).
///
/// A hopping window's record updates several windows of one key, each several times
/// between commits. Through the record cache, every update built the window's store key,
/// hashed it, decoded and encoded the aggregate, and copied the record's context into the
/// entry: some forty reference-count operations per window. Here a record finds its key's
/// windows once; each window is found by its start among them and folded without a
/// decode, and refers to its record's context by number. A record's updates are held
/// together, under one hold of the store's lock. A window's store key and bytes are made
/// once, when it leaves for the record cache (at a flush or an eviction) or expires with
/// its segment, or when a query reads it.
///
/// The stream thread changes it under the store's lock and reads it without (it is the
/// only writer); queries read it under the lock, over what the cache and the store below
/// hold (see ``TypedWindowStore``).
@usableFromInline
final class HeldWindowUpdates<Value> {
    /// A window's latest update.
    @usableFromInline
    struct Window {
        @usableFromInline let start: Int64
        @usableFromInline var value: Value
        /// The largest record time in the window (its results carry it).
        @usableFromInline var timestamp: Int64
        /// The record that made the update, in ``records``.
        @usableFromInline var record: Int
        /// The update's place in the store's write order.
        @usableFromInline var sequence: Int

        @inlinable
        init(start: Int64, value: Value, timestamp: Int64, record: Int, sequence: Int) {
            self.start = start
            self.value = value
            self.timestamp = timestamp
            self.record = record
            self.sequence = sequence
        }

        /// Replaces the update (in one access to the key's windows).
        @inlinable
        mutating func update(value: Value, timestamp: Int64, record: Int, sequence: Int) {
            self.value = value
            self.timestamp = timestamp
            self.record = record
            self.sequence = sequence
        }
    }

    /// One key's held windows: found once per record, then each window by its start.
    @usableFromInline
    final class KeyWindows {
        @usableFromInline let key: [UInt8]
        @exclusivity(unchecked) @usableFromInline var windows: [Window] = []

        @inlinable
        init(key: [UInt8]) {
            self.key = key
        }

        /// Where the window at `start` is among the key's.
        @inlinable
        func index(of start: Int64) -> Int? {
            var index = 0
            while index < windows.count {
                if windows[index].start == start { return index }
                index += 1
            }
            return nil
        }
    }

    /// A record's update of a window, made before it is held (see ``holdPending(of:in:context:sequence:)``).
    @usableFromInline
    struct Pending {
        /// Where the window is among its key's, if held.
        @usableFromInline let index: Int?
        @usableFromInline let start: Int64
        @usableFromInline let value: Value
        @usableFromInline let timestamp: Int64

        @inlinable
        init(index: Int?, start: Int64, value: Value, timestamp: Int64) {
            self.index = index
            self.start = start
            self.value = value
            self.timestamp = timestamp
        }
    }

    @exclusivity(unchecked) @usableFromInline var byKey: [StoreKeyBytes: KeyWindows] = [:]
    /// The current record's updates, held together once it has made them all.
    @exclusivity(unchecked) @usableFromInline var pending: [Pending] = []
    /// The records whose updates are held: where each came from and its headers (a
    /// window's time is its own). Kept to about four times the windows: see ``dropUnusedRecords()``.
    @exclusivity(unchecked) @usableFromInline var records: [RecordContext] = []
    /// How many windows are held.
    @exclusivity(unchecked) @usableFromInline var count = 0
    /// The bytes charged to the thread's record cache for the windows and records.
    @exclusivity(unchecked) @usableFromInline var chargedBytes = 0

    @inlinable
    init() {}

    /// Whether nothing is held.
    @inlinable
    var isEmpty: Bool { count == 0 && records.isEmpty }

    /// What a held window costs in the record cache's budget: its key, its aggregate and
    /// the entry's overhead, as the cache's entry for it would.
    @inlinable
    static func cost(keyCount: Int) -> Int { keyCount + 16 + MemoryLayout<Value>.stride + 64 }

    /// What a held record's context costs.
    @inlinable
    static var recordCost: Int { 64 }

    /// `key`'s held windows, if any. Stream thread only.
    @inlinable
    func windows(of key: StoreKeyBytes) -> KeyWindows? { byKey[key] }

    /// Holds the pending updates of `key`'s windows (`held`: as found when the record
    /// started, `nil` if it had none), made by the record with this context; `sequence`
    /// gives the first of their places in the write order. Returns the bytes charged.
    /// Called under the store's lock.
    @inlinable
    func holdPending(of key: StoreKeyBytes, in held: KeyWindows?, context: RecordContext, sequence: (Int) -> Int) -> Int {
        let keyWindows = held ?? {
            let made = KeyWindows(key: key.bytes)
            byKey[key] = made
            return made
        }()
        var charged = Self.recordCost
        if records.count >= 4 * count + 1024 { charged -= dropUnusedRecords() }
        let record = records.count
        records.append(context)
        let first = sequence(pending.count)
        for offset in pending.indices {
            let update = pending[offset]
            if let index = update.index {
                keyWindows.windows[index].update(value: update.value, timestamp: update.timestamp, record: record, sequence: first + offset)
            } else {
                keyWindows.windows.append(
                    Window(start: update.start, value: update.value, timestamp: update.timestamp, record: record, sequence: first + offset))
                count += 1
                charged += Self.cost(keyCount: key.bytes.count)
            }
        }
        pending.removeAll(keepingCapacity: true)
        chargedBytes += charged
        return charged
    }

    /// Drops the records no held window refers to any more (they are kept once per
    /// record, and a window refers to its latest), renumbering the rest; returns the bytes
    /// they were charged, for the caller to release. Under the store's lock.
    @inlinable
    func dropUnusedRecords() -> Int {
        var renumbered = [Int](repeating: -1, count: records.count)
        var kept: [RecordContext] = []
        for held in byKey.values {
            for index in held.windows.indices {
                let record = held.windows[index].record
                if renumbered[record] < 0 {
                    renumbered[record] = kept.count
                    kept.append(records[record])
                }
                held.windows[index].record = renumbered[record]
            }
        }
        let released = (records.count - kept.count) * Self.recordCost
        records = kept
        return released
    }

    /// The context a window's update leaves with: its record's, with the window's time.
    @inlinable
    func context(of window: Window) -> RecordContext { records[window.record].withTimestamp(window.timestamp) }

    /// Every held window starting before `limit`, with its key's bytes. Stream thread,
    /// or under the store's lock.
    @inlinable
    func windows(before limit: Int64) -> [(key: [UInt8], window: Window)] {
        var found: [(key: [UInt8], window: Window)] = []
        for held in byKey.values {
            for window in held.windows where window.start < limit { found.append((held.key, window)) }
        }
        return found
    }

    /// Removes every held window starting before `limit` (an expired span of time, or
    /// `.max`: all of them), and the keys left with none. Under the store's lock.
    @inlinable
    func removeWindows(before limit: Int64) {
        guard limit < .max else { return removeAll() }
        var emptied: [StoreKeyBytes] = []
        for (key, held) in byKey {
            let before = held.windows.count
            held.windows.removeAll { $0.start < limit }
            count -= before - held.windows.count
            chargedBytes -= (before - held.windows.count) * Self.cost(keyCount: key.bytes.count)
            if held.windows.isEmpty { emptied.append(key) }
        }
        for key in emptied { byKey[key] = nil }
        if count == 0 {
            chargedBytes -= records.count * Self.recordCost
            records.removeAll(keepingCapacity: true)
        }
    }

    /// Forgets every held window and record. Under the store's lock.
    @inlinable
    func removeAll() {
        byKey.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
        count = 0
        chargedBytes = 0
    }

    /// `key`'s held windows with a start in `lower...upper`. Under the store's lock.
    func windows(of key: [UInt8], from lower: Int64, through upper: Int64) -> [Window] {
        (byKey[StoreKeyBytes(key)]?.windows ?? []).filter { $0.start >= lower && $0.start <= upper }
    }

    /// Every held window with a start in `lower...upper`, with its key. Under the lock.
    func windows(from lower: Int64, through upper: Int64) -> [(key: [UInt8], window: Window)] {
        windows(before: upper == .max ? .max : upper + 1).filter { $0.window.start >= lower }
    }
}
