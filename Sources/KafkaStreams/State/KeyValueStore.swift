/// A key-value store a processor reads, or that interactive queries read from outside.
///
/// Keys are ordered by their serialized bytes (lexicographically): that is the order of
/// ``range(from:to:)`` and ``all()``, and what ``prefixScan(_:)`` matches.
/// Scans return arrays, so keep them to ranges that fit in memory.
public protocol ReadOnlyKeyValueStore<Key, Value>: AnyObject {
    associatedtype Key
    associatedtype Value

    /// The store's name (unique in a topology).
    var name: String { get }

    /// The value of `key`, or `nil` when absent.
    func get(_ key: Key) throws -> Value?

    /// The entries with `from <= key <= to` (both inclusive; `nil`: unbounded).
    func range(from: Key?, to: Key?) throws -> [(key: Key, value: Value)]

    /// Every entry.
    func all() throws -> [(key: Key, value: Value)]

    /// The entries whose serialized key starts with the serialized `prefix`
    /// (e.g. every `String` key starting with "user-").
    func prefixScan(_ prefix: Key) throws -> [(key: Key, value: Value)]

    /// An estimate of the number of entries (exact for in-memory stores).
    func approximateCount() throws -> Int
}

/// A key-value store a processor reads and writes. Every write also goes to the store's
/// changelog topic (unless logging is disabled), from which the store is rebuilt.
public protocol KeyValueStore<Key, Value>: ReadOnlyKeyValueStore {
    /// Sets `key` to `value`; `nil` deletes.
    func put(_ key: Key, _ value: Value?) throws

    /// Sets `key` to `value` unless it has a value; returns the value it had.
    @discardableResult
    func putIfAbsent(_ key: Key, _ value: Value) throws -> Value?

    /// Removes `key`; returns the value it had.
    @discardableResult
    func delete(_ key: Key) throws -> Value?
}
