/// Sits right above a store's bottom layer and takes the store's lock around each write,
/// so a write made after a changelog send (outside the lock) is still never seen half done
/// by a query. Reads pass through: the typed layer above takes the lock around them.
final class LockedWritesBytesStore: BytesStore {
    private let inner: BytesStore
    private let lock: StoreLock

    init(inner: BytesStore, lock: StoreLock) {
        self.inner = inner
        self.lock = lock
    }

    func get(_ key: [UInt8]) throws -> [UInt8]? { try inner.get(key) }

    func put(_ key: [UInt8], _ value: [UInt8]?) throws {
        try lock.locked { try inner.put(key, value) }
    }

    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        try inner.range(from: lower, to: upper)
    }

    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] { try inner.prefixScan(prefix) }

    func approximateCount() throws -> Int { try inner.approximateCount() }

    func deleteRange(from lower: [UInt8], to upper: [UInt8]) throws {
        try lock.locked { try inner.deleteRange(from: lower, to: upper) }
    }
}
