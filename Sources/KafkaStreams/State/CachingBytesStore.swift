/// Holds a store's writes between commits so that repeated updates of a key reach the
/// layers below (the changelog) and the store's flush listener (downstream) once, with the
/// latest value. Reads see the held writes first.
///
/// Held writes go below on ``writeHeldEntriesBelow()``: at every commit, and when the
/// thread's ``RecordCache`` is over its budget after a write to this store. Then the caller
/// hands them to ``deliver(_:)``.
///
/// Queries read the held writes under the store's lock (the typed layer takes it around
/// ``get(_:)`` and scans); writes take it themselves, only to change the held entries
/// (``put(_:_:)``, ``writeHeldEntriesBelow()``), never across the changelog sends below.
final class CachingBytesStore: BytesStore {
    /// A held write: the value (`nil` deletes), and the record that made it, whose time and
    /// headers the changelog and the flush listener get.
    struct Entry {
        let key: [UInt8]
        let value: [UInt8]?
        let context: RecordContext?
        /// Orders entries by their latest write.
        let sequence: Int
    }

    /// What writes cost in the budget beyond their bytes (dictionary slot, context).
    private static let entryOverhead = 64

    private let inner: BytesStore
    private let cache: RecordCache
    private let task: TaskContext
    private let lock: StoreLock
    private var held: [[UInt8]: Entry] = [:]
    private var heldBytes = 0
    private var nextSequence = 0
    /// Receives every entry written below, in write order; `nil`: nobody downstream.
    var listener: ((Entry) throws -> Void)?

    init(inner: BytesStore, cache: RecordCache, task: TaskContext, lock: StoreLock) {
        self.inner = inner
        self.cache = cache
        self.task = task
        self.lock = lock
    }

    /// Whether the thread's caches together passed their budget: the caller should write
    /// this store's held entries below.
    var mustEvict: Bool { cache.isOverBudget && !held.isEmpty }

    func get(_ key: [UInt8]) throws -> [UInt8]? {
        if let entry = held[key] { return entry.value }
        return try inner.get(key)
    }

    func put(_ key: [UInt8], _ value: [UInt8]?) throws {
        // A write from a punctuation has no record: it takes stream time, as its changelog
        // record would, so what the cache sends downstream never carries time -1.
        let context = task.currentRecord
            ?? RecordContext(topic: "", partition: -1, offset: -1, timestamp: max(task.streamTime, 0), headers: [])
        let entry = Entry(key: key, value: value, context: context, sequence: nextSequence)
        nextSequence += 1
        let previous = try lock.locked { held.updateValue(entry, forKey: key) }
        if let previous { account(-Self.cost(of: previous)) }
        account(Self.cost(of: entry))
    }

    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        try inner.range(from: lower, to: upper).overlaid(with: heldWrites { $0.isWithin(lower, upper) })
    }

    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] {
        try inner.prefixScan(prefix).overlaid(with: heldWrites { $0.hasBytePrefix(prefix) })
    }

    func approximateCount() throws -> Int {
        // Exact adjustment: the held entries are few (bounded by the cache).
        var count = try inner.approximateCount()
        for entry in held.values {
            let exists = try inner.get(entry.key) != nil
            if entry.value != nil, !exists { count += 1 }
            if entry.value == nil, exists { count -= 1 }
        }
        return max(0, count)
    }

    /// Writes the held entries to the layer below in the order of their latest write and
    /// empties the cache; returns them for ``deliver(_:)``. An entry leaves the cache only
    /// once written: when a write fails (the changelog send, say), it and the entries after
    /// it stay held, and reads still see them.
    ///
    /// Called on the stream thread, the only writer, without the store's lock.
    func writeHeldEntriesBelow() throws -> [Entry] {
        let entries = try lock.locked { held.values.sorted { $0.sequence < $1.sequence } }
        for entry in entries {
            // The change-logging layer stamps the changelog record with the current record's time.
            try task.withCurrentRecord(entry.context) { try inner.put(entry.key, entry.value) }
            try lock.locked { held[entry.key] = nil }
            account(-Self.cost(of: entry))
        }
        return entries
    }

    /// Calls the listener with each entry, the record that wrote it as the current record.
    func deliver(_ entries: [Entry]) throws {
        guard let listener else { return }
        for entry in entries {
            try task.withCurrentRecord(entry.context) { try listener(entry) }
        }
    }

    /// Drops the held entries (a task closing without commit: the input is read again).
    func discard() {
        held = [:]
        account(-heldBytes)
    }

    private func heldWrites(where includes: ([UInt8]) -> Bool) -> [[UInt8]: [UInt8]?] {
        var writes: [[UInt8]: [UInt8]?] = [:]
        for (key, entry) in held where includes(key) { writes[key] = .some(entry.value) }
        return writes
    }

    private func account(_ delta: Int) {
        heldBytes += delta
        cache.charge(delta)
    }

    private static func cost(of entry: Entry) -> Int {
        entry.key.count + (entry.value?.count ?? 0) + entryOverhead
    }
}
