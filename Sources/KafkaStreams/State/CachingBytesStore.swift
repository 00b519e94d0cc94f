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
///
/// A read-modify-write (an aggregation) finds its key once: ``find(_:)`` returns a
/// ``Slot`` that ``put(_:_:timestamp:headers:at:)`` writes through without hashing the key again,
/// and an update of a held key allocates nothing for the key.
@usableFromInline
final class CachingBytesStore: BytesStore {
    /// A held write: the value (`nil` deletes), and the record that made it, whose time and
    /// headers the changelog and the flush listener get.
    @usableFromInline
    struct Entry {
        /// The same bytes as the entry's dictionary key (one buffer for both).
        @usableFromInline let key: [UInt8]
        @usableFromInline var value: [UInt8]?
        @usableFromInline var context: RecordContext
        /// Orders entries by their latest write.
        @usableFromInline var sequence: Int
        /// Whether the layer below is known not to hold the key: then a delete of the key
        /// drops the held write instead of holding a tombstone, and neither the changelog
        /// nor downstream hear of a key they never saw (as in Kafka Streams, whose caching
        /// stores skip a deletion when the store below lacks the key).
        var absentBelow: Bool
        /// The value below the cache that the entry replaced, read as it leaves the cache
        /// when the listener asks for old values.
        @usableFromInline var oldValue: [UInt8]? = nil

        init(key: [UInt8], value: [UInt8]?, context: RecordContext, sequence: Int, absentBelow: Bool) {
            self.key = key
            self.value = value
            self.context = context
            self.sequence = sequence
            self.absentBelow = absentBelow
        }

        /// A write held above the cache (``HeldWindowUpdates``, a session store's latest
        /// sessions), made earlier at its place in the write order, which enters the cache
        /// (``put(heldAbove:)``) or leaves with an expired range. `absentBelow`: the writer
        /// knows the layer below does not hold the key (a session just made).
        @usableFromInline
        init(heldAbove key: [UInt8], value: [UInt8]?, context: RecordContext, sequence: Int, absentBelow: Bool = false) {
            self.init(key: key, value: value, context: context, sequence: sequence, absentBelow: absentBelow)
        }
    }

    /// Where ``find(_:)`` found a key among the held writes, usable by the next write as
    /// long as nothing changed the held writes in between.
    @usableFromInline
    struct Slot {
        fileprivate let index: Dictionary<StoreKeyBytes, Entry>.Index?
        fileprivate let generation: Int
        /// The key is not held, and the layer below does not hold it either.
        fileprivate let absentBelow: Bool
        /// Which flush interval `absentBelow` was learnt in (a flush may write the key below).
        fileprivate let flushes: Int
        /// Whether the key was found among the held writes (a cache hit).
        @usableFromInline var isHeld: Bool { index != nil }
    }

    /// What writes cost in the budget beyond their bytes (dictionary slot, context).
    private static let entryOverhead = 64

    private let inner: BytesStore
    private let cache: RecordCache
    private let task: TaskContext
    private let lock: StoreLock
    // Changed on the stream thread only, one access at a time (queries read `held` from
    // other threads under the lock, which exclusivity checks do not cover anyway): no
    // dynamic exclusivity check per write.
    @exclusivity(unchecked) private var held: [StoreKeyBytes: Entry] = [:]
    /// The held keys in byte order, for scans (a store nobody scans never pays for it).
    @exclusivity(unchecked) private var heldOrder = ScanOrder()
    /// The held keys by segment, for a window or session store (`nil`: another store).
    @exclusivity(unchecked) private var heldBySegment: HeldKeysBySegment?
    /// Counts the changes of `held` that move or remove entries, so a ``Slot`` from before
    /// one is not used.
    @exclusivity(unchecked) private var generation = 0
    /// Counts the writes of held entries below.
    @exclusivity(unchecked) private var flushes = 0
    @exclusivity(unchecked) private var heldBytes = 0
    @exclusivity(unchecked) private var nextSequence = 0
    /// How many entries the last flush wrote (what the next interval likely holds).
    private var lastFlushCount = 0
    /// Receives every entry that leaves the cache (written below at a flush, or dropped by
    /// a range deletion), in write order; `nil`: nobody downstream.
    @usableFromInline var listener: FlushListener?

    /// Where the entries that leave the cache go (downstream), and whether anyone is there
    /// now: a table that is only queried has no node after it, so its entries need not be
    /// handed on, nor decoded.
    @usableFromInline
    struct FlushListener {
        @usableFromInline let receive: (Entry) throws -> Void
        @usableFromInline let isWanted: () -> Bool
        /// Whether each entry comes with the value it replaces below (``Entry/oldValue``):
        /// one read of the store below per entry, paid only by tables whose old values a
        /// node downstream asked for.
        @usableFromInline let wantsOldValues: Bool

        @usableFromInline
        init(receive: @escaping (Entry) throws -> Void, isWanted: @escaping () -> Bool, wantsOldValues: Bool = false) {
            self.receive = receive
            self.isWanted = isWanted
            self.wantsOldValues = wantsOldValues
        }
    }

    /// Whether entries leaving the cache must carry the value they replace below.
    private var readsOldValues: Bool {
        guard let listener else { return false }
        return listener.wantsOldValues && listener.isWanted()
    }

    /// `segmentedKeys`: the keys start with a segment number (see ``HeldKeysBySegment``),
    /// and range deletions drop whole segments.
    init(inner: BytesStore, cache: RecordCache, task: TaskContext, lock: StoreLock, segmentedKeys: Bool = false) {
        self.inner = inner
        self.cache = cache
        self.task = task
        self.lock = lock
        heldBySegment = segmentedKeys ? HeldKeysBySegment() : nil
    }

    /// Whether the thread's caches together passed their budget: the caller should write
    /// this store's held entries below.
    @usableFromInline var mustEvict: Bool { cache.isOverBudget && !held.isEmpty }

    @usableFromInline
    func get(_ key: [UInt8]) throws -> [UInt8]? { try lookup(key).value }

    /// The value of `key`, and whether it was held here (a cache hit) rather than read below.
    @usableFromInline
    func lookup(_ key: [UInt8]) throws -> (value: [UInt8]?, held: Bool) {
        if let entry = held[StoreKeyBytes(key)] { return (entry.value, true) }
        return (try inner.get(key), false)
    }

    /// The value of `key` (held, or from below) and where a write of it goes. Called under
    /// the store's lock, as ``get(_:)`` is, even on the stream thread: it reads the held
    /// entry in place, an access that would copy the table if a query held it too.
    @usableFromInline
    func find(_ key: [UInt8]) throws -> (value: [UInt8]?, slot: Slot) {
        if let index = held.index(forKey: StoreKeyBytes(key)) {
            return (Self.value(of: &held.values[index]), slot(at: index, absentBelow: false))
        }
        let stored = try inner.get(key)
        return (stored, slot(at: nil, absentBelow: stored == nil))
    }

    /// A slot as of now: usable while the held entries neither move nor go below.
    private func slot(at index: Dictionary<StoreKeyBytes, Entry>.Index?, absentBelow: Bool) -> Slot {
        Slot(index: index, generation: generation, absentBelow: absentBelow, flushes: flushes)
    }

    /// Where the write of a key goes that the caller knows is neither held nor stored
    /// below: the write inserts it without a lookup. Must not be used for a key that may be
    /// held.
    @usableFromInline
    func slotForUnheldKey() -> Slot { slot(at: nil, absentBelow: true) }

    /// Where the write of `key` goes, for a caller that knows the layer below does not hold
    /// it (it may be held here): a session just made, say, which no stored session equals.
    @usableFromInline
    func slot(forUnstoredKey key: [UInt8]) -> Slot { slot(at: held.index(forKey: StoreKeyBytes(key)), absentBelow: true) }

    @usableFromInline
    func put(_ key: [UInt8], _ value: [UInt8]?) throws {
        // A write from a punctuation has no record: it takes stream time, as its changelog
        // record would, so what the cache sends downstream never carries time -1.
        let context = task.currentRecord
            ?? RecordContext(topic: "", partition: -1, offset: -1, timestamp: max(task.streamTime, 0), headers: [])
        try put(key, value, context: context, at: nil)
    }

    /// Holds `value` for `key`, made by a processor's record with this time and these
    /// headers (the flush listener forwards them); `slot` (from ``find(_:)``) spares the
    /// key's lookup.
    @usableFromInline
    func put(_ key: [UInt8], _ value: [UInt8]?, timestamp: Int64, headers: [RecordHeader], at slot: Slot?) throws {
        try put(key, value, context: recordContext(timestamp: timestamp, headers: headers), at: slot)
    }

    /// Holds writes made earlier above the cache (``HeldWindowUpdates``, a session store's
    /// latest sessions), each at the place in the write order it took when it was made.
    @usableFromInline
    func put(heldAbove writes: [Entry]) throws {
        for write in writes {
            try put(write.key, write.value, context: write.context, at: nil, sequence: write.sequence, absentBelow: write.absentBelow)
        }
    }

    /// The context of a write made now: the current record's, with this time and headers.
    @usableFromInline
    func recordContext(timestamp: Int64, headers: [RecordHeader]) -> RecordContext {
        task.recordContext(timestamp: timestamp, headers: headers)
    }

    /// The first of `count` places in the write order, for writes made now: held above the
    /// cache, they enter it later (``put(heldAbove:)``) or leave with an expired range.
    @usableFromInline
    func takeSequences(_ count: Int) -> Int {
        defer { nextSequence += count }
        return nextSequence
    }

    /// Charges the thread's budget for writes held above the cache (negative: released).
    @usableFromInline
    func charge(heldAbove bytes: Int) { cache.charge(bytes) }

    /// Whether the thread's caches together passed their budget.
    @usableFromInline var isOverBudget: Bool { cache.isOverBudget }

    /// Whether aggregations may hold their updates above this cache (see ``RecordCache/holdsUpdatesAbove``).
    @usableFromInline var holdsUpdatesAbove: Bool { cache.holdsUpdatesAbove }

    private func put(
        _ key: [UInt8], _ value: [UInt8]?, context: RecordContext, at slot: Slot?, sequence given: Int? = nil, absentBelow knownAbsent: Bool = false
    ) throws {
        let sequence = given ?? takeSequences(1)
        // A slot from before the held entries moved says nothing: look the key up.
        let index = if let slot, slot.generation == generation { slot.index } else { held.index(forKey: StoreKeyBytes(key)) }
        let absentBelow = knownAbsent || (slot.map { $0.absentBelow && $0.flushes == flushes } ?? false)
        // How the held bytes change.
        let change = try lock.locked { () -> Int in
            if let index {
                guard value == nil, Self.isAbsentBelow(&held.values[index]) else {
                    return Self.cost(key: key, value: value) - Self.replace(&held.values[index], with: value, context: context, sequence: sequence)
                }
                // Deleting a key only ever held here: forget it. (Read in place: the
                // element `remove(at:)` returns was copied whole before it was dropped.)
                let forgottenCost = Self.cost(of: &held.values[index])
                let forgottenKey = held.keys[index]
                held.remove(at: index)
                heldOrder.removed(forgottenKey)
                generation += 1
                return -forgottenCost
            }
            if value == nil && absentBelow { return 0 }
            // A new entry, with a key buffer of its own (the caller's may be reused). The
            // first after a flush makes room for as many as the last flush wrote: growing
            // the table step by step rehashes it each time.
            if held.isEmpty { held.reserveCapacity(lastFlushCount) }
            let copy = StoreKeyBytes(Array(key))
            held[copy] = Entry(key: copy.bytes, value: value, context: context, sequence: sequence, absentBelow: absentBelow)
            heldOrder.inserted(copy)
            heldBySegment?.add(copy)
            generation += 1
            return Self.cost(key: key, value: value)
        }
        account(change)
    }

    // Held entries are read and changed in place (an inout access to the table's slot):
    // reading one through the dictionary's getter copies it whole, with its key, value,
    // topic and headers retained and released again, on every window update.

    private static func value(of entry: inout Entry) -> [UInt8]? { entry.value }

    private static func isAbsentBelow(_ entry: inout Entry) -> Bool { entry.absentBelow }

    private static func cost(of entry: inout Entry) -> Int { cost(key: entry.key, value: entry.value) }

    /// Replaces a held write; returns what it cost.
    private static func replace(_ entry: inout Entry, with value: [UInt8]?, context: RecordContext, sequence: Int) -> Int {
        let cost = cost(of: &entry)
        entry.value = value
        entry.context = context
        entry.sequence = sequence
        return cost
    }

    @usableFromInline
    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        try inner.range(from: lower, to: upper).overlaid(with: heldWrites(orderedIndex().keys(from: lower, through: upper)))
    }

    @usableFromInline
    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] {
        try inner.prefixScan(prefix).overlaid(with: heldWrites(orderedIndex().keys(withPrefix: prefix)))
    }

    @usableFromInline
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

    /// Drops the held writes in the range and deletes it below (a window store's expired
    /// segments). A dropped write was never sent on, and is the latest update of its key
    /// (a window's last value): the flush listener gets the dropped writes now, in the order
    /// they were made, as it would have at the next flush (Kafka Streams' caching window
    /// and session stores forward a write at the flush even when its segment expired in
    /// between). They go neither below nor to the changelog: the range is gone there.
    @usableFromInline
    func deleteRange(from lower: [UInt8], to upper: [UInt8]) throws {
        try deleteRange(from: lower, to: upper, alsoDropping: { _ in [] })
    }

    /// ``deleteRange(from:to:)``, dropping with the range the writes held above the cache
    /// that `heldAbove` removes (under the lock, so queries see them go with the range):
    /// the listener gets them in the write order too. `heldAbove` is told whether anyone
    /// receives them (if not, it need not make their entries).
    @usableFromInline
    func deleteRange(from lower: [UInt8], to upper: [UInt8], alsoDropping heldAbove: (_ handedOn: Bool) throws -> [Entry]) throws {
        let handOn = listener?.isWanted() ?? false
        let withOldValues = readsOldValues
        var dropped = try lock.locked { () -> [Entry] in
            var entries = try heldAbove(handOn)
            if withOldValues { for index in entries.indices { entries[index].oldValue = try inner.get(entries[index].key) } }
            let keys = heldBySegment?.removeKeys(from: lower, before: upper) ?? heldOrder.keys(from: lower, before: upper, among: held.keys)
            guard !keys.isEmpty else { return entries }
            if handOn { entries.reserveCapacity(entries.count + keys.count) }
            var bytes = 0
            for key in keys {
                guard var entry = held.removeValue(forKey: key) else { continue }
                bytes += Self.cost(key: entry.key, value: entry.value)
                guard handOn else { continue }
                if withOldValues { entry.oldValue = try inner.get(entry.key) }
                entries.append(entry)
            }
            heldOrder.reset()
            generation += 1
            account(-bytes)
            return entries
        }
        try inner.deleteRange(from: lower, to: upper)
        // In place: a sorted copy would retain every entry's buffers again.
        dropped.sort { $0.sequence < $1.sequence }
        try deliver(dropped)
    }

    /// Writes the held entries to the layer below in the order of their latest write and
    /// empties the cache; returns them for ``deliver(_:)``. An entry leaves the cache only
    /// once written: when a write fails (the changelog send, say), it and the entries after
    /// it stay held, and reads still see them. (Written entries stay held until the end,
    /// since they read the same as below: the table is emptied at once, not key by key.)
    ///
    /// Called on the stream thread, the only writer, without the store's lock.
    @usableFromInline
    func writeHeldEntriesBelow() throws -> [Entry] {
        var entries = try lock.locked { held.values.sorted { $0.sequence < $1.sequence } }
        // What a slot learnt of the layer below may stop being true now.
        flushes += 1
        let withOldValues = readsOldValues
        var written = 0
        do {
            for index in entries.indices {
                // Read before the write below replaces it.
                if withOldValues { entries[index].oldValue = try inner.get(entries[index].key) }
                let entry = entries[index]
                // The change-logging layer stamps the changelog record with the current record's time.
                try task.withCurrentRecord(entry.context) { try inner.put(entry.key, entry.value) }
                written += 1
            }
        } catch {
            try lock.locked {
                for entry in entries[..<written] { held[StoreKeyBytes(entry.key)] = nil }
                heldOrder.reset()
            }
            generation += 1
            account(-entries[..<written].reduce(0) { $0 + Self.cost(key: $1.key, value: $1.value) })
            throw error
        }
        lastFlushCount = held.count
        try lock.locked {
            held.removeAll()
            heldOrder.reset()
            heldBySegment?.removeAll()
        }
        generation += 1
        account(-heldBytes)
        return entries
    }

    /// Calls the listener with each entry, the record that wrote it as the current record.
    @usableFromInline
    func deliver(_ entries: [Entry]) throws {
        guard let listener, listener.isWanted() else { return }
        for entry in entries {
            try task.withCurrentRecord(entry.context) { try listener.receive(entry) }
        }
    }

    /// Drops the held entries (a task closing without commit: the input is read again).
    func discard() {
        held = [:]
        heldOrder.reset()
        heldBySegment?.removeAll()
        generation += 1
        account(-heldBytes)
    }

    /// The held keys in byte order. Called under the store's lock, as scans are.
    private func orderedIndex() -> SortedKeyIndex { heldOrder.index { held.keys } }

    private func heldWrites(_ keys: [StoreKeyBytes]) -> [(key: StoreKeyBytes, value: [UInt8]?)] {
        keys.map { (key: $0, value: held[$0]?.value ?? nil) }
    }

    private func account(_ delta: Int) {
        heldBytes += delta
        cache.charge(delta)
    }

    private static func cost(key: [UInt8], value: [UInt8]?) -> Int {
        key.count + (value?.count ?? 0) + entryOverhead
    }
}
