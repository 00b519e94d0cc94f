/// The outermost layer of a key-value store: serdes, operation counts, and the store's
/// lock around reads so interactive queries may read while the stream thread writes.
///
/// Writes go down unlocked: the layers that hold what queries read take the lock
/// themselves (the record cache, and ``LockedWritesBytesStore`` above the bottom store,
/// after the changelog send), so a full producer queue never holds a query up.
///
/// The per-record methods are `@inlinable` and the serdes are ``AnySerde``s whose closures
/// were made where their types are known: a DSL aggregation built in an application's
/// module runs this layer specialized for its key and value types, with no type metadata
/// lookup per record. Keys are serialized into a buffer the store reuses.
@usableFromInline
final class TypedKeyValueStore<Key, Value>: KeyValueStore, ManagedStore, @unchecked Sendable {
    @usableFromInline let name: String
    @usableFromInline let keySerde: AnySerde<Key>
    @usableFromInline let valueSerde: AnySerde<Value>
    @usableFromInline let inner: BytesStore
    /// The caching layer under this one, if the store has one.
    @usableFromInline let cache: CachingBytesStore?
    @usableFromInline let metrics: StoreMetrics?
    @usableFromInline let lock: StoreLock
    // Holds the key being written, so a key already in the record cache costs no
    // allocation. Only the stream thread's operations use it (writes, and the reads of a
    // read-modify-write): `get` and the scans, which interactive queries call from other
    // threads, serialize into buffers of their own. One operation at a time; a nested one
    // (a downstream node writing this store during a flush) finds the buffer shared and
    // copies it: no dynamic exclusivity check needed.
    @exclusivity(unchecked) @usableFromInline var keyBuffer: [UInt8] = []
    /// Whether values are the stored bytes themselves (``BytesSerde``, as under window and
    /// session stores): they then pass through without a copy each way. True only when
    /// `Value` is `[UInt8]`.
    @usableFromInline let valuesAreStoredBytes: Bool
    /// Whether each value is stored with the time of the update that wrote it (an
    /// aggregation's: its results carry the largest time of what they aggregate, as in
    /// Kafka Streams' timestamped stores): `[time: i64 BE][value]`. Reads return the value
    /// alone; ``readForUpdate(_:)`` also gives the time.
    @usableFromInline let timestamped: Bool
    /// The time a write without one gets (a processor's ``put(_:_:)`` into a timestamped
    /// store): the current record's.
    @usableFromInline let currentTime: () -> Int64
    /// When entries expire (a store with a time to live, whose values are timestamped):
    /// every read hides an expired entry.
    @usableFromInline let expiry: StoreExpiry?

    /// - Parameter lock: shared with the layers below that take it themselves (the cache,
    ///   the locked writes above the bottom store).
    init(
        name: String, keySerde: AnySerde<Key>, valueSerde: AnySerde<Value>, inner: BytesStore, lock: StoreLock,
        cache: CachingBytesStore? = nil, metrics: StoreMetrics? = nil, timestamped: Bool = false, expiry: StoreExpiry? = nil,
        currentTime: @escaping () -> Int64 = { 0 }
    ) {
        precondition(expiry == nil || timestamped, "entries that expire carry their time")
        self.expiry = expiry
        self.timestamped = timestamped
        self.currentTime = currentTime
        self.metrics = metrics
        self.name = name
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.inner = inner
        self.lock = lock
        self.cache = cache
        valuesAreStoredBytes = !timestamped && Value.self == [UInt8].self && valueSerde.base is BytesSerde
    }

    /// Runs `body` under the store's lock, or throws if the store was closed (its task
    /// moved away or the application stopped) while a query held on to it.
    @inlinable
    func locked<T>(_ body: () throws -> T) throws -> T {
        try lock.locked(body)
    }

    @usableFromInline
    func close(_ closeLayers: () -> Void) {
        lock.close {
            cache?.discard()
            // The listener holds the processor's context, which holds the task.
            cache?.listener = nil
            closeLayers()
        }
    }

    /// Sends each write that leaves the record cache to `listener`, as a change with the
    /// time and headers of the record that made it (`nil` new value: deleted), while
    /// `isWanted` says anyone receives them (a processor's children, say). With
    /// `sendsOldValues`, each change also carries the value it replaces, read from below
    /// the cache as the write leaves it. Returns false, and keeps nothing, when the store
    /// has no cache: the caller forwards its writes itself.
    @inlinable
    func setFlushListener(
        isWanted: @escaping () -> Bool = { true }, sendsOldValues: Bool = false, _ listener: @escaping (Record<Key, Change<Value>>) throws -> Void
    ) -> Bool {
        guard let cache else { return false }
        let keySerde = keySerde
        // The listener lives in the cache this store holds: it must not hold the store.
        let decode = { [unowned self] (bytes: [UInt8]?) throws -> Value? in try decodeValue(bytes) }
        cache.listener = CachingBytesStore.FlushListener(
            receive: { entry in
                let key = try entry.key.withUnsafeBytes { try keySerde.decode($0) }
                let change = Change(newValue: try decode(entry.value), oldValue: sendsOldValues ? try decode(entry.oldValue) : nil)
                try listener(Record(key: key, value: change, timestamp: entry.context.timestamp, headers: entry.context.headers))
            }, isWanted: isWanted, wantsOldValues: sendsOldValues)
        return true
    }

    /// Writes the cached entries below (changelog included), then hands them to the flush
    /// listener outside the lock, so downstream nodes may query this store.
    @usableFromInline
    func flushCache() throws {
        metrics?.publish()
        guard let cache else { return }
        let flushed = try cache.writeHeldEntriesBelow()
        try cache.deliver(flushed)
    }

    // MARK: Reads and writes

    /// Called by interactive queries from any thread, so it does not use ``keyBuffer``.
    @inlinable
    func get(_ key: Key) throws -> Value? {
        metrics?.countGet()
        let keyBytes = try serializedKey(key)
        let bytes = try locked { () -> [UInt8]? in
            guard let cache else { return try inner.get(keyBytes) }
            let (value, held) = try cache.lookup(keyBytes)
            metrics?.countCacheRead(hit: held)
            return value
        }
        return try decodeValue(unexpired(bytes))
    }

    @inlinable
    func put(_ key: Key, _ value: Value?) throws {
        metrics?.countPut()
        try serializeKey(key)
        try inner.put(keyBuffer, try serializedValue(value, timestamp: nil))
        try evictIfOverBudget()
    }

    @inlinable
    func putIfAbsent(_ key: Key, _ value: Value) throws -> Value? {
        metrics?.countPut()
        try serializeKey(key)
        let keyBytes = keyBuffer
        let valueBytes = try serializedValue(value, timestamp: nil)
        // The stream thread is the only writer: nothing changes the key between the read
        // and the write.
        let existing = unexpired(try locked { try inner.get(keyBytes) })
        if existing == nil { try inner.put(keyBytes, valueBytes) }
        try evictIfOverBudget()
        return try decodeValue(existing)
    }

    @inlinable
    func delete(_ key: Key) throws -> Value? {
        metrics?.countDelete()
        try serializeKey(key)
        let keyBytes = keyBuffer
        let stored = try locked { try inner.get(keyBytes) }
        // An expired entry is deleted too (it is gone for readers already).
        if stored != nil { try inner.put(keyBytes, nil) }
        let existing = unexpired(stored)
        try evictIfOverBudget()
        return try decodeValue(existing)
    }

    // MARK: Read-modify-write, for the DSL's processors

    /// A key about to be written: its serialized bytes, its value if it was read, and
    /// where the record cache holds it, so the write neither serializes nor looks the key
    /// up again.
    @usableFromInline
    struct PreparedKey {
        @usableFromInline let bytes: [UInt8]
        @usableFromInline let value: Value?
        /// The time stored with `value`, in a timestamped store.
        @usableFromInline let timestamp: Int64?
        @usableFromInline let slot: CachingBytesStore.Slot?

        @inlinable
        init(bytes: [UInt8], value: Value?, timestamp: Int64? = nil, slot: CachingBytesStore.Slot?) {
            self.bytes = bytes
            self.value = value
            self.timestamp = timestamp
            self.slot = slot
        }
    }

    /// Reads `key` for a ``write(_:_:timestamp:headers:)`` that follows (an aggregation's
    /// read-modify-write); `nil` when its serde encodes it as null (a record with a null
    /// key, which no store holds).
    @inlinable
    func readForUpdate(_ key: Key) throws -> PreparedKey? {
        guard try serializeKeyUnlessNull(key) else { return nil }
        return try readBufferedKeyForUpdate()
    }

    /// Reads the key that `writeKey` writes over the store's key buffer (in the key
    /// serde's layout) for a write that follows: for a caller that builds its keys' bytes
    /// faster than the serde does (a window store, once per window).
    @inlinable
    func readForUpdate(writingKey writeKey: (inout [UInt8]) -> Void) throws -> PreparedKey {
        writeKey(&keyBuffer)
        return try readBufferedKeyForUpdate()
    }

    /// Reads the key that `writeKey` writes over the key buffer for a write that follows,
    /// or, when `isUnwritten` says the caller knows it was never written (a window past
    /// any written), prepares its first write without a read.
    @inlinable
    func prepareUpdate(writingKey writeKey: (inout [UInt8]) -> Void, isUnwritten: Bool) throws -> PreparedKey {
        isUnwritten ? prepareFirstWrite(writingKey: writeKey) : try readForUpdate(writingKey: writeKey)
    }

    @inlinable
    func readBufferedKeyForUpdate() throws -> PreparedKey {
        metrics?.countUpdateRead()
        let keyBytes = keyBuffer
        guard let cache else {
            let bytes = unexpired(try locked { try inner.get(keyBytes) })
            return PreparedKey(bytes: keyBytes, value: try decodeValue(bytes), timestamp: storedTimestamp(bytes), slot: nil)
        }
        let (found, slot) = try locked { try cache.find(keyBytes) }
        metrics?.countCacheLookup(hit: slot.isHeld)
        let bytes = unexpired(found)
        return PreparedKey(bytes: keyBytes, value: try decodeValue(bytes), timestamp: storedTimestamp(bytes), slot: slot)
    }

    /// The bytes stored for the key that `writeKey` writes over the key buffer, from the
    /// record cache or below, and whether the cache held them: the read of an update that
    /// the caller holds above the cache (``HeldWindowUpdates``).
    @inlinable
    func lookUp(writingKey writeKey: (inout [UInt8]) -> Void, in cache: CachingBytesStore) throws -> (value: [UInt8]?, held: Bool) {
        writeKey(&keyBuffer)
        return try locked { try cache.lookup(keyBuffer) }
    }

    /// Prepares a write of `key` without reading it; `nil` for a null key.
    @inlinable
    func prepareWrite(_ key: Key) throws -> PreparedKey? {
        guard try serializeKeyUnlessNull(key) else { return nil }
        return PreparedKey(bytes: keyBuffer, value: nil, slot: nil)
    }

    /// Prepares a write, without reading it, of the key `writeKey` writes over the key
    /// buffer.
    @inlinable
    func prepareWrite(writingKey writeKey: (inout [UInt8]) -> Void) -> PreparedKey {
        writeKey(&keyBuffer)
        return PreparedKey(bytes: keyBuffer, value: nil, slot: nil)
    }

    /// Prepares the write of a key the store holds no value for, which the caller knows
    /// (a window past any written): the record cache inserts it without looking it up.
    /// The key is the one `writeKey` writes over the key buffer.
    @inlinable
    func prepareFirstWrite(writingKey writeKey: (inout [UInt8]) -> Void) -> PreparedKey {
        writeKey(&keyBuffer)
        return PreparedKey(bytes: keyBuffer, value: nil, slot: cache?.slotForUnheldKey())
    }

    /// Prepares the write of a key the layers below the record cache do not hold, which
    /// the caller knows (a session just made); the cache may hold it. The key is the one
    /// `writeKey` writes over the key buffer.
    @inlinable
    func prepareWriteOfUnstoredKey(writingKey writeKey: (inout [UInt8]) -> Void) -> PreparedKey {
        writeKey(&keyBuffer)
        return PreparedKey(bytes: keyBuffer, value: nil, slot: cache?.slot(forUnstoredKey: keyBuffer))
    }

    /// Writes `value` (`nil` deletes) for a prepared key. A cached store keeps the time and
    /// headers given, which its flush listener forwards with the value later.
    @inlinable
    func write(_ key: PreparedKey, _ value: Value?, timestamp: Int64, headers: [RecordHeader]) throws {
        metrics?.countPut()
        let valueBytes = try serializedValue(value, timestamp: timestamp)
        if let cache {
            try cache.put(key.bytes, valueBytes, timestamp: timestamp, headers: headers, at: key.slot)
            try evictIfOverBudget()
        } else {
            try inner.put(key.bytes, valueBytes)
        }
    }

    /// Deletes every key in `lower..<upper` at once, with no changelog record (see
    /// ``BytesStore/deleteRange(from:to:)``).
    ///
    /// With a record cache, `heldAbove` removes the writes held above it in the range,
    /// which go with the cache's (see ``CachingBytesStore/deleteRange(from:to:alsoDropping:)``).
    @usableFromInline
    func deleteRange(from lower: Key, to upper: Key, alsoDropping heldAbove: (_ handedOn: Bool) throws -> [CachingBytesStore.Entry] = { _ in [] }) throws {
        let (lower, upper) = (try serializedKey(lower), try serializedKey(upper))
        guard let cache else { return try inner.deleteRange(from: lower, to: upper) }
        try cache.deleteRange(from: lower, to: upper, alsoDropping: heldAbove)
    }

    // MARK: Scans

    @usableFromInline
    func range(from: Key?, to: Key?) throws -> [(key: Key, value: Value)] {
        metrics?.countScan()
        let lower = try from.map(serializedKey)
        let upper = try to.map(serializedKey)
        return try decode(try locked { try inner.range(from: lower, to: upper) })
    }

    @usableFromInline
    func all() throws -> [(key: Key, value: Value)] {
        metrics?.countScan()
        return try decode(try locked { try inner.range(from: nil, to: nil) })
    }

    @usableFromInline
    func prefixScan(_ prefix: Key) throws -> [(key: Key, value: Value)] {
        metrics?.countScan()
        let prefixBytes = try serializedKey(prefix)
        return try decode(try locked { try inner.prefixScan(prefixBytes) })
    }

    @usableFromInline
    func approximateCount() throws -> Int {
        try locked { try inner.approximateCount() }
    }

    // MARK: Serialization

    @inlinable
    func evictIfOverBudget() throws {
        if let cache, cache.mustEvict { try flushCache() }
    }

    /// Serializes `key` into ``keyBuffer``.
    @inlinable
    func serializeKey(_ key: Key) throws {
        guard try serializeKeyUnlessNull(key) else { throw nullKey() }
    }

    /// Serializes `key` into ``keyBuffer``; false if it is null.
    @inlinable
    func serializeKeyUnlessNull(_ key: Key) throws -> Bool {
        keyBuffer.removeAll(keepingCapacity: true)
        return try keySerde.encode(key, &keyBuffer)
    }

    @usableFromInline
    func nullKey() -> StreamsError {
        StreamsError(.topology, "store \(name) cannot hold a null key")
    }

    /// `key`'s bytes in a buffer of their own.
    @usableFromInline
    func serializedKey(_ key: Key) throws -> [UInt8] {
        var bytes: [UInt8] = []
        guard try keySerde.encode(key, &bytes) else { throw nullKey() }
        return bytes
    }

    /// The bytes of `value` (after `timestamp`, in a timestamped store; `nil`: the current
    /// record's time); `nil` for `nil` (a delete).
    @inlinable
    func serializedValue(_ value: Value?, timestamp: Int64?) throws -> [UInt8]? {
        guard let value else { return nil }
        // The type is known to be `[UInt8]`: a cast would be checked (and retained) at run time.
        if valuesAreStoredBytes { return unsafeBitCast(value, to: [UInt8].self) }
        if timestamped {
            guard let bytes = try TimestampedBytes.encode(value, timestamp: timestamp ?? currentTime(), valueSerde) else { throw nullValue() }
            return bytes
        }
        var bytes: [UInt8] = []
        // A value that serializes to null would read back as absent: store it as a delete.
        guard try valueSerde.encode(value, &bytes) else { throw nullValue() }
        return bytes
    }

    @usableFromInline
    func nullValue() -> StreamsError {
        StreamsError(.topology, "store \(name) cannot hold a value that serializes to null; put nil to delete")
    }

    @inlinable
    func decodeValue(_ bytes: [UInt8]?) throws -> Value? {
        guard let bytes else { return nil }
        if valuesAreStoredBytes { return unsafeBitCast(bytes, to: Value.self) }
        if timestamped { return try TimestampedBytes.decode(bytes, valueSerde).value }
        return try bytes.withUnsafeBytes { try valueSerde.decode($0) }
    }

    /// `bytes`, or `nil` when they hold an entry that has expired.
    @inlinable
    func unexpired(_ bytes: [UInt8]?) -> [UInt8]? {
        guard let expiry, let bytes else { return bytes }
        guard bytes.count >= 8 else { return bytes }
        return expiry.isExpired(bytes.withUnsafeBytes { readBigEndian($0, at: 0) }) ? nil : bytes
    }

    /// The time stored with a value's bytes, in a timestamped store.
    @inlinable
    func storedTimestamp(_ bytes: [UInt8]?) -> Int64? {
        guard timestamped, let bytes, bytes.count >= 8 else { return nil }
        return bytes.withUnsafeBytes { readBigEndian($0, at: 0) }
    }

    private func decode(_ entries: [(key: [UInt8], value: [UInt8])]) throws -> [(key: Key, value: Value)] {
        try entries.compactMap { entry in
            guard let value = try decodeValue(unexpired(entry.value)) else { return nil }
            return (key: try entry.key.withUnsafeBytes { try keySerde.decode($0) }, value: value)
        }
    }
}

/// The typed view of a task's store as its task manages it: the lock taken to commit,
/// restore or close it while queries may read, and its record cache.
@usableFromInline
protocol ManagedStore: AnyObject {
    func locked<T>(_ body: () throws -> T) throws -> T
    /// Writes what the record cache holds below and downstream (nothing without a cache).
    func flushCache() throws
    /// Runs `closeLayers` under the lock; later calls throw ``StoreUnavailableError``.
    func close(_ closeLayers: () -> Void)
}
