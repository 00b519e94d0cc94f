/// A store kept in a dictionary: fast, gone on restart, rebuilt fully from its changelog.
final class InMemoryBytesStore: RootBytesStore {
    private var entries: [[UInt8]: [UInt8]] = [:]

    var isPersistent: Bool { false }

    func get(_ key: [UInt8]) throws -> [UInt8]? { entries[key] }

    func put(_ key: [UInt8], _ value: [UInt8]?) throws { entries[key] = value }

    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        sortedEntries { $0.isWithin(lower, upper) }
    }

    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] {
        sortedEntries { $0.hasBytePrefix(prefix) }
    }

    /// The entries whose key `includes` selects, in byte order.
    private func sortedEntries(where includes: ([UInt8]) -> Bool) -> [(key: [UInt8], value: [UInt8])] {
        entries.filter { includes($0.key) }.map { (key: $0.key, value: $0.value) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    func approximateCount() throws -> Int { entries.count }

    func storedChangelogOffset() throws -> Int64 { -1 }

    func commit(changelogOffset: Int64?) throws {}

    func restore(_ changes: [(key: [UInt8], value: [UInt8]?)], through offset: Int64) throws {
        for change in changes { entries[change.key] = change.value }
    }

    func wipe() throws { entries = [:] }

    func close() { entries = [:] }
}
