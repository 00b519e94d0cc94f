/// What a lookup of a table key finds.
@usableFromInline
enum TableLookup<Value> {
    /// The key serializes to null: no table holds a row for it.
    case nullKey
    /// The key's current value (`nil`: no row) and the time of the update that made it
    /// (-1 when unknown or no row).
    case found(Value?, timestamp: Int64)
}

/// How a node that is not the table's own looks up a table's current value per key (a
/// stream–table join): in the table's store when it is materialized, or through the
/// tables it is computed from (a filter or mapValues of a materialized table), applying
/// the computation on the way.
@usableFromInline
struct TableValueGetter<Key, Value>: Sendable {
    /// The stores the lookups read: a processor using the getter names them, which puts it
    /// in the tasks of the table (its input must be co-partitioned with the table's).
    @usableFromInline let storeNames: [String]
    /// Makes a task's lookup from the task's stores.
    @usableFromInline let make: @Sendable (TaskContext) throws -> (Key) throws -> TableLookup<Value>
    /// Why the table cannot be looked up by key, if it cannot (a windowed table): a join
    /// with it fails to build.
    @usableFromInline let unavailable: String?

    @usableFromInline
    init(
        storeNames: [String], unavailable: String? = nil, make: @escaping @Sendable (TaskContext) throws -> (Key) throws -> TableLookup<Value>
    ) {
        self.storeNames = storeNames
        self.unavailable = unavailable
        self.make = make
    }

    /// Lookups in the key-value store `name`, which holds the table.
    @usableFromInline
    static func materialized(_ name: String) -> TableValueGetter {
        TableValueGetter(storeNames: [name]) { task in
            guard let store = task.stores[name] as? TypedKeyValueStore<Key, Value> else {
                throw StreamsError(.topology, "store \(name) is not a key-value store of (\(Key.self), \(Value.self)) to look a table up in")
            }
            return { key in try store.lookup(key) }
        }
    }

    /// The lookups of a table computed from this one by `transform` of each key's value.
    @usableFromInline
    func map<NewValue>(_ transform: @escaping @Sendable (Key, Value) throws -> NewValue?) -> TableValueGetter<Key, NewValue> {
        TableValueGetter<Key, NewValue>(storeNames: storeNames, unavailable: unavailable) { task in
            let parent = try make(task)
            return { key in
                guard case .found(let value, let timestamp) = try parent(key) else { return .nullKey }
                let transformed = try value.flatMap { try transform(key, $0) }
                return .found(transformed, timestamp: transformed == nil ? -1 : timestamp)
            }
        }
    }
}

extension TypedKeyValueStore {
    /// `key`'s value, for a lookup from another node (a join), reading the record cache
    /// first; ``TableLookup/nullKey`` when the key serializes to null.
    @usableFromInline
    func lookup(_ key: Key) throws -> TableLookup<Value> {
        var bytes: [UInt8] = []
        guard try keySerde.encode(key, &bytes) else { return .nullKey }
        let stored = try locked { try inner.get(bytes) }
        return .found(try decodeValue(stored), timestamp: storedTimestamp(stored) ?? -1)
    }
}

extension TableValueGetter {
    /// For a table whose store is no key-value store (a windowed table): a topology that
    /// looks it up does not build.
    @usableFromInline
    static func notLookedUp(store name: String) -> TableValueGetter {
        let reason = "the table in store \(name) is windowed: its values cannot be looked up by key"
        return TableValueGetter(storeNames: [name], unavailable: reason) { _ in throw StreamsError(.topology, reason) }
    }
}
