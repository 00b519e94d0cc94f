/// The outermost layer of a key-value store: serdes, operation counts, and the store's
/// lock around reads so interactive queries may read while the stream thread writes.
///
/// Writes go down unlocked: the layers that hold what queries read take the lock
/// themselves (the record cache, and ``LockedWritesBytesStore`` above the bottom store,
/// after the changelog send), so a full producer queue never holds a query up.
final class TypedKeyValueStore<Key, Value>: KeyValueStore, ManagedStore, @unchecked Sendable {
    let name: String
    private let keySerde: any Serde<Key>
    private let valueSerde: any Serde<Value>
    private let inner: BytesStore
    /// The caching layer under this one, if the store has one.
    private let cache: CachingBytesStore?
    private let metrics: StoreMetrics?
    private let lock: StoreLock

    /// - Parameter lock: shared with the layers below that take it themselves (the cache,
    ///   the locked writes above the bottom store).
    init(
        name: String, keySerde: any Serde<Key>, valueSerde: any Serde<Value>, inner: BytesStore, lock: StoreLock,
        cache: CachingBytesStore? = nil, metrics: StoreMetrics? = nil
    ) {
        self.metrics = metrics
        self.name = name
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.inner = inner
        self.lock = lock
        self.cache = cache
    }

    /// Runs `body` under the store's lock, or throws if the store was closed (its task
    /// moved away or the application stopped) while a query held on to it.
    func locked<T>(_ body: () throws -> T) throws -> T {
        try lock.locked(body)
    }

    func close(_ closeLayers: () -> Void) {
        lock.close {
            cache?.discard()
            // The listener holds the processor's context, which holds the task.
            cache?.listener = nil
            closeLayers()
        }
    }

    /// Sends each write that leaves the record cache to `listener`, as a record with the
    /// time and headers of the record that made it (`nil` value: deleted). Returns false,
    /// and keeps nothing, when the store has no cache: the caller forwards its writes itself.
    func setFlushListener(_ listener: @escaping (Record<Key, Value?>) throws -> Void) -> Bool {
        guard let cache else { return false }
        let keySerde = keySerde
        let valueSerde = valueSerde
        cache.listener = { entry in
            let key = try keySerde.deserialize(entry.key)
            let value = try entry.value.map { try valueSerde.deserialize($0) }
            try listener(Record(key: key, value: value, timestamp: entry.context?.timestamp ?? -1, headers: entry.context?.headers ?? []))
        }
        return true
    }

    /// Writes the cached entries below (changelog included), then hands them to the flush
    /// listener outside the lock, so downstream nodes may query this store.
    func flushCache() throws {
        guard let cache else { return }
        let flushed = try cache.writeHeldEntriesBelow()
        try cache.deliver(flushed)
    }

    func get(_ key: Key) throws -> Value? {
        metrics?.gets.increment()
        let keyBytes = try serializedKey(key)
        return try locked { try inner.get(keyBytes) }.map(decodeValue)
    }

    func put(_ key: Key, _ value: Value?) throws {
        metrics?.puts.increment()
        let keyBytes = try serializedKey(key)
        let valueBytes = try value.map(serializedValue)
        try inner.put(keyBytes, valueBytes)
        try evictIfOverBudget()
    }

    func putIfAbsent(_ key: Key, _ value: Value) throws -> Value? {
        metrics?.puts.increment()
        let keyBytes = try serializedKey(key)
        let valueBytes = try serializedValue(value)
        // The stream thread is the only writer: nothing changes the key between the read
        // and the write.
        let existing = try locked { try inner.get(keyBytes) }
        if existing == nil { try inner.put(keyBytes, valueBytes) }
        try evictIfOverBudget()
        return try existing.map(decodeValue)
    }

    func delete(_ key: Key) throws -> Value? {
        metrics?.deletes.increment()
        let keyBytes = try serializedKey(key)
        let existing = try locked { try inner.get(keyBytes) }
        if existing != nil { try inner.put(keyBytes, nil) }
        try evictIfOverBudget()
        return try existing.map(decodeValue)
    }

    func range(from: Key?, to: Key?) throws -> [(key: Key, value: Value)] {
        metrics?.scans.increment()
        let lower = try from.map(serializedKey)
        let upper = try to.map(serializedKey)
        return try decode(try locked { try inner.range(from: lower, to: upper) })
    }

    func all() throws -> [(key: Key, value: Value)] {
        metrics?.scans.increment()
        return try decode(try locked { try inner.range(from: nil, to: nil) })
    }

    func prefixScan(_ prefix: Key) throws -> [(key: Key, value: Value)] {
        metrics?.scans.increment()
        let prefixBytes = try serializedKey(prefix)
        return try decode(try locked { try inner.prefixScan(prefixBytes) })
    }

    func approximateCount() throws -> Int {
        try locked { try inner.approximateCount() }
    }

    private func evictIfOverBudget() throws {
        if let cache, cache.mustEvict { try flushCache() }
    }

    private func serializedKey(_ key: Key) throws -> [UInt8] {
        guard let bytes = try keySerde.serialize(key) else {
            throw StreamsError(.topology, "store \(name) cannot hold a null key")
        }
        return bytes
    }

    private func serializedValue(_ value: Value) throws -> [UInt8] {
        // A value that serializes to null would read back as absent: store it as a delete.
        guard let bytes = try valueSerde.serialize(value) else {
            throw StreamsError(.topology, "store \(name) cannot hold a value that serializes to null; put nil to delete")
        }
        return bytes
    }

    private func decodeValue(_ bytes: [UInt8]) throws -> Value {
        try valueSerde.deserialize(bytes)
    }

    private func decode(_ entries: [(key: [UInt8], value: [UInt8])]) throws -> [(key: Key, value: Value)] {
        try entries.map { (key: try keySerde.deserialize($0.key), value: try valueSerde.deserialize($0.value)) }
    }
}

/// The typed view of a task's store as its task manages it: the lock taken to commit,
/// restore or close it while queries may read, and its record cache.
protocol ManagedStore: AnyObject {
    func locked<T>(_ body: () throws -> T) throws -> T
    /// Writes what the record cache holds below and downstream (nothing without a cache).
    func flushCache() throws
    /// Runs `closeLayers` under the lock; later calls throw ``StoreUnavailableError``.
    func close(_ closeLayers: () -> Void)
}
