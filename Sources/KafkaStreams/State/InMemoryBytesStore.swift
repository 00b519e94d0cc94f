/// A store kept in a dictionary: fast, gone on restart, rebuilt fully from its changelog.
final class InMemoryBytesStore: RootBytesStore {
    private var entries: [StoreKeyBytes: [UInt8]] = [:]
    /// The keys in byte order, for scans.
    private var order = ScanOrder()

    var isPersistent: Bool { false }

    func get(_ key: [UInt8]) throws -> [UInt8]? { entries[StoreKeyBytes(key)] }

    func put(_ key: [UInt8], _ value: [UInt8]?) throws { set(StoreKeyBytes(key), value) }

    private func set(_ key: StoreKeyBytes, _ value: [UInt8]?) {
        if let value {
            if entries.updateValue(value, forKey: key) == nil { order.inserted(key) }
        } else if entries.removeValue(forKey: key) != nil {
            order.removed(key)
        }
    }

    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        sortedEntries { $0.keys(from: lower, through: upper) }
    }

    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] {
        sortedEntries { $0.keys(withPrefix: prefix) }
    }

    /// The entries of the keys `select` picks from the index, in byte order.
    private func sortedEntries(select: (SortedKeyIndex) -> [StoreKeyBytes]) -> [(key: [UInt8], value: [UInt8])] {
        return select(order.index { entries.keys }).compactMap { key in entries[key].map { (key: key.bytes, value: $0) } }
    }

    func approximateCount() throws -> Int { entries.count }

    func deleteRange(from lower: [UInt8], to upper: [UInt8]) throws {
        for key in order.keys(from: lower, before: upper, among: entries.keys) { set(key, nil) }
    }

    func storedChangelogOffset() throws -> Int64 { -1 }

    func commit(changelogOffset: Int64?) throws {}

    func makeRestoreBatch() -> RestoreBatch { ChangeList() }

    func restore(_ batch: RestoreBatch, through offset: Int64) throws {
        guard let list = batch as? ChangeList else { preconditionFailure("a restore batch of another store") }
        for change in list.changes { set(StoreKeyBytes(change.key), change.value) }
        list.changes.removeAll(keepingCapacity: true)
    }

    func wipe() throws {
        entries = [:]
        order.reset()
    }

    func close() {
        entries = [:]
        order.reset()
    }
}

/// A restore batch of copied keys and values.
private final class ChangeList: RestoreBatch {
    var changes: [(key: [UInt8], value: [UInt8]?)] = []

    var count: Int { changes.count }

    func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        changes.append((key: Array(key), value: value.map { Array($0) }))
    }
}
