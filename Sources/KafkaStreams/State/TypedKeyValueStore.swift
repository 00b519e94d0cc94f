import Synchronization

/// The outermost layer of a key-value store: serdes, and a lock so interactive queries
/// may read while the stream thread writes.
final class TypedKeyValueStore<Key, Value>: KeyValueStore, LockedStore, @unchecked Sendable {
    let name: String
    private let keySerde: any Serde<Key>
    private let valueSerde: any Serde<Value>
    private let inner: BytesStore
    // Held around every call so a query from another thread sees a consistent store; a
    // stream thread takes it uncontended.
    private let lock = Mutex<Void>(())

    init(name: String, keySerde: any Serde<Key>, valueSerde: any Serde<Value>, inner: BytesStore) {
        self.name = name
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.inner = inner
    }

    func locked<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock { _ in try body() }
    }

    func get(_ key: Key) throws -> Value? {
        let keyBytes = try serializedKey(key)
        return try lock.withLock { _ in try inner.get(keyBytes) }.map(decodeValue)
    }

    func put(_ key: Key, _ value: Value?) throws {
        let keyBytes = try serializedKey(key)
        let valueBytes = try value.map(serializedValue)
        try lock.withLock { _ in try inner.put(keyBytes, valueBytes) }
    }

    func putIfAbsent(_ key: Key, _ value: Value) throws -> Value? {
        let keyBytes = try serializedKey(key)
        let valueBytes = try serializedValue(value)
        let existing = try lock.withLock { _ -> [UInt8]? in
            if let existing = try inner.get(keyBytes) { return existing }
            try inner.put(keyBytes, valueBytes)
            return nil
        }
        return try existing.map(decodeValue)
    }

    func delete(_ key: Key) throws -> Value? {
        let keyBytes = try serializedKey(key)
        let existing = try lock.withLock { _ -> [UInt8]? in
            let existing = try inner.get(keyBytes)
            if existing != nil { try inner.put(keyBytes, nil) }
            return existing
        }
        return try existing.map(decodeValue)
    }

    func range(from: Key?, to: Key?) throws -> [(key: Key, value: Value)] {
        let lower = try from.map(serializedKey)
        let upper = try to.map(serializedKey)
        return try decode(try lock.withLock { _ in try inner.range(from: lower, to: upper) })
    }

    func all() throws -> [(key: Key, value: Value)] {
        try decode(try lock.withLock { _ in try inner.range(from: nil, to: nil) })
    }

    func prefixScan(_ prefix: Key) throws -> [(key: Key, value: Value)] {
        let prefixBytes = try serializedKey(prefix)
        return try decode(try lock.withLock { _ in try inner.prefixScan(prefixBytes) })
    }

    func approximateCount() throws -> Int {
        try lock.withLock { _ in try inner.approximateCount() }
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

/// A store whose lock the task takes to commit, restore or close it while queries may read.
protocol LockedStore: AnyObject {
    func locked<T>(_ body: () throws -> T) throws -> T
}
