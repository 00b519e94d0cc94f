/// The latest sessions' changes held above the record cache (see ``LatestSession``).
extension TypedSessionStore {
    /// Holds the session aggregation's changes of its keys' latest sessions above the
    /// record cache, when the store has one: called by the aggregation when it is made.
    @inlinable
    func holdUpdatesAboveCache() {
        guard let cache = inner.cache, cache.holdsUpdatesAbove, inner.valuesAreStoredBytes, inner.expiry == nil else { return }
        holdsUpdates = true
        // Made here, where the store's types are known, the move is specialized: a commit
        // reaches the store through an existential (unspecialized, each held session cost
        // generic type lookups and value-witness copies).
        moveHeldSessions = { [unowned self] keys in try moveHeldSessionsToCache(of: keys) }
    }

    /// Folds a record at `time` into its key's latest session, held above the record
    /// cache, when that is the only session the record joins: the session is open (it
    /// ends at or after `earliestEnd`) and the record is not before its start. `fold` gets
    /// the session's aggregate and returns the new one. Returns false, having changed
    /// nothing, when the record joins no session or others too (or nothing is held here):
    /// the caller finds them with ``sessionsJoined(by:key:latestKey:gap:closeTime:observedStreamTime:)``.
    @inlinable
    func foldIntoLatestSession(
        _ latestKey: StoreKeyBytes, time: Int64, earliestEnd: Int64, headers: [RecordHeader], _ fold: (Value) throws -> Value
    ) throws -> Bool {
        guard holdsUpdates, let cache = inner.cache, let index = latestSessions.index(forKey: latestKey) else { return false }
        let latest = latestSessions.values[index]
        let window = latest.window
        guard time >= window.start, window.end >= earliestEnd else { return false }
        let value = try fold(latest.value)
        guard try heldAggregateCheck.encodes(value) else { throw nullAggregate() }
        let grown = Window(start: window.start, end: max(window.end, time))
        let context = cache.recordContext(timestamp: 0, headers: headers)
        let sequence = cache.takeSequences(2)
        let newlyHeld = try locked { latestSessions.values[index].hold(window: grown, value: value, context: context, sequence: sequence) }
        // As through the cache: the session's deletion and its write.
        inner.metrics?.countPut()
        inner.metrics?.countPut()
        guard newlyHeld else { return true }
        heldKeys.append(latestKey)
        heldCount += 1
        // A key moved alone (before a record reads its sessions through the cache) and
        // held again is listed twice: keep the list near the held count.
        if heldKeys.count >= 2 * heldCount + 1024 { compactHeldKeys() }
        let charge = Self.heldCost(keyCount: latestKey.bytes.count)
        heldCharge += charge
        cache.charge(heldAbove: charge)
        if cache.isOverBudget { try evict() }
        return true
    }

    /// What a held change costs in the record cache's budget: its two entries' keys and
    /// overhead, the aggregate and the record's context.
    @inlinable
    static func heldCost(keyCount: Int) -> Int { 2 * (keyCount + 24 + 64) + MemoryLayout<Value>.stride + 64 }

    @usableFromInline
    func nullAggregate() -> StreamsError { StreamsError(.topology, "session store \(name) cannot hold a null aggregate") }

    /// The held change of `key`'s latest session, if any: its window and aggregate, and the
    /// window it replaces. For queries too: read under the store's lock.
    @usableFromInline
    func heldSession(of key: [UInt8]) throws -> (window: Window, value: Value, replaced: Window)? {
        guard holdsUpdates else { return nil }
        return try locked {
            guard let latest = latestSessions[StoreKeyBytes(key)], let held = latest.held else { return nil }
            return (latest.window, latest.value, held.replaced)
        }
    }

    /// Moves every held change into the record cache (see ``moveHeldSessionsToCache(of:)``).
    @usableFromInline
    func writeHeldUpdatesToCache() throws {
        guard !heldKeys.isEmpty, let moveHeldSessions else { return }
        try moveHeldSessions(heldKeys)
        heldKeys.removeAll(keepingCapacity: true)
    }

    /// Moves into the record cache the held changes of sessions that end, or replace one
    /// that ends, before `limit`.
    @inlinable
    func writeHeldSessionsToCache(endingBefore limit: Int64) throws {
        guard !heldKeys.isEmpty else { return }
        try moveHeldSessionsToCache(of: heldKeys.filter { key in
            guard let index = latestSessions.index(forKey: key), let held = latestSessions.values[index].held else { return false }
            return latestSessions.values[index].window.end < limit || held.replaced.end < limit
        })
        compactHeldKeys()
    }

    /// Drops from the held keys those no longer held, and the repeats.
    @inlinable
    func compactHeldKeys() {
        var listed: Set<StoreKeyBytes> = []
        heldKeys = heldKeys.filter { latestSessions[$0]?.held != nil && listed.insert($0).inserted }
    }

    /// Moves the held changes of `keys` (any not held are passed over, and a key listed
    /// twice moves once) into the record cache, each write at its place in the write
    /// order. They are in the cache before they leave here, so a query between the two
    /// finds them in one or the other.
    @inlinable
    func moveHeldSessionsToCache(of keys: [StoreKeyBytes]) throws {
        guard let cache = inner.cache else { return }
        var entries: [CachingBytesStore.Entry] = []
        var leaving: Set<StoreKeyBytes> = []
        for key in keys {
            guard let latest = latestSessions[key], let held = latest.held, leaving.insert(key).inserted else { continue }
            let replacedStays = held.replaced == latest.window
            if !replacedStays, let deletion = held.deletion {
                entries.append(
                    .init(
                        heldAbove: storeKeyBytes(key.bytes, held.replaced), value: nil, context: deletion.context.withTimestamp(held.replaced.end),
                        sequence: deletion.sequence))
            }
            var bytes: [UInt8] = []
            guard try valueSerde.encode(latest.value, &bytes) else { throw nullAggregate() }
            // A window the layers below hold only if it is the one replaced: any other
            // was made above the cache.
            entries.append(
                .init(
                    heldAbove: storeKeyBytes(key.bytes, latest.window), value: bytes, context: held.context.withTimestamp(latest.window.end), sequence: held.sequence,
                    absentBelow: !replacedStays))
        }
        guard !leaving.isEmpty else { return }
        try cache.put(heldAbove: entries)
        try locked { for key in leaving { latestSessions[key]?.held = nil } }
        let charge = leaving.reduce(0) { $0 + Self.heldCost(keyCount: $1.bytes.count) }
        heldCharge -= charge
        heldCount -= leaving.count
        cache.charge(heldAbove: -charge)
    }

    /// The bytes of the store key of `key`'s session `window`.
    @inlinable
    func storeKeyBytes(_ key: [UInt8], _ window: Window) -> [UInt8] {
        var bytes: [UInt8] = []
        storeKey(key, window).write(into: &bytes)
        return bytes
    }

    /// Drops the held changes with the record cache's writes (the task closes without
    /// commit: its input is read again), and the latest sessions, which the dropped writes
    /// made.
    @usableFromInline
    func close(_ closeLayers: () -> Void) {
        inner.close {
            inner.cache?.charge(heldAbove: -heldCharge)
            heldCharge = 0
            heldCount = 0
            heldKeys = []
            latestSessions = [:]
            closeLayers()
        }
    }
}
