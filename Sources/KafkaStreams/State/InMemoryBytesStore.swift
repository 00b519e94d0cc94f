/// A store kept in a dictionary: fast, gone on restart, rebuilt fully from its changelog.
final class InMemoryBytesStore: RootBytesStore {
    private var entries: [StoreKeyBytes: [UInt8]] = [:]

    var isPersistent: Bool { false }

    func get(_ key: [UInt8]) throws -> [UInt8]? { entries[StoreKeyBytes(key)] }

    func put(_ key: [UInt8], _ value: [UInt8]?) throws { entries[StoreKeyBytes(key)] = value }

    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        sortedEntries { $0.isWithin(lower, upper) }
    }

    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] {
        sortedEntries { $0.hasBytePrefix(prefix) }
    }

    /// The entries whose key `includes` selects, in byte order.
    private func sortedEntries(where includes: ([UInt8]) -> Bool) -> [(key: [UInt8], value: [UInt8])] {
        entries.filter { includes($0.key.bytes) }.sorted { $0.key < $1.key }.map { (key: $0.key.bytes, value: $0.value) }
    }

    func approximateCount() throws -> Int { entries.count }

    func storedChangelogOffset() throws -> Int64 { -1 }

    func commit(changelogOffset: Int64?) throws {}

    func makeRestoreBatch() -> RestoreBatch { ChangeList() }

    func restore(_ batch: RestoreBatch, through offset: Int64) throws {
        guard let list = batch as? ChangeList else { preconditionFailure("a restore batch of another store") }
        for change in list.changes { entries[StoreKeyBytes(change.key)] = change.value }
        list.changes.removeAll(keepingCapacity: true)
    }

    func wipe() throws { entries = [:] }

    func close() { entries = [:] }
}

/// A restore batch of copied keys and values.
private final class ChangeList: RestoreBatch {
    var changes: [(key: [UInt8], value: [UInt8]?)] = []

    var count: Int { changes.count }

    func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        changes.append((key: Array(key), value: value.map { Array($0) }))
    }
}
