import Foundation
import RocksDB

/// A store in its own RocksDB database. Writes wait in memory until the task commits,
/// then go to RocksDB in one write batch together with the changelog offset they are
/// complete up to, so the data and the offset a restore resumes from never disagree.
///
/// Data keys carry a one-byte prefix (`0x01`) so the offset can live beside them under
/// `0x00` without colliding with any user key.
final class RocksDBBytesStore: RootBytesStore {
    private static let dataPrefix: [UInt8] = [0x01]
    private static let offsetKey: [UInt8] = [0x00] + Array("changelog-offset".utf8)

    let path: String
    private let database: Database
    /// Writes since the last commit (`nil`: deleted), read before the database.
    private var pending: [StoreKeyBytes: [UInt8]?] = [:]
    /// The pending keys in byte order, for scans.
    private var pendingOrder = ScanOrder()
    /// Ranges deleted since the last commit (`lower..<upper`): applied first at the
    /// commit, so the pending writes made after them stand.
    private var deletedRanges: [(lower: StoreKeyBytes, upper: StoreKeyBytes)] = []
    /// How many writes the last commit made durable.
    private var lastCommitCount = 0

    init(path: String, resources: RocksDBResources?) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        database = try Database(path: path, options: DatabaseOptions(resources: resources))
    }

    var isPersistent: Bool { true }

    func get(_ key: [UInt8]) throws -> [UInt8]? {
        if let write = pending[StoreKeyBytes(key)] { return write }
        if !deletedRanges.isEmpty, isDeleted(key) { return nil }
        return try withDataKey(key) { try database.get($0) }
    }

    func put(_ key: [UInt8], _ value: [UInt8]?) throws {
        // Room for as many writes as the last commit had: growing the table step by step
        // rehashes it each time.
        if pending.isEmpty { pending.reserveCapacity(lastCommitCount) }
        let key = StoreKeyBytes(key)
        if pending.updateValue(value, forKey: key) == nil { pendingOrder.inserted(key) }
    }

    /// Calls `body` with `key` under the data prefix, built on the stack (a read of a key
    /// allocates nothing).
    private func withDataKey<T>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try withUnsafeTemporaryAllocation(byteCount: key.count + 1, alignment: 1) { buffer in
            buffer[0] = Self.dataPrefix[0]
            key.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyMemory(from: $0) }
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        // RocksDB's upper bound is exclusive: the first key after `upper` is `upper + [0]`.
        let stored = try database.range(
            from: Self.dataPrefix + (lower ?? []),
            to: upper.map { Self.dataPrefix + $0 + [0] } ?? [Self.dataPrefix[0] + 1])
        return try merged(stored) { $0.keys(from: lower, through: upper) }
    }

    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] {
        try merged(try database.prefix(Self.dataPrefix + prefix)) { $0.keys(withPrefix: prefix) }
    }

    func approximateCount() throws -> Int {
        // The offset entry is one of RocksDB's keys; pending writes are not yet counted.
        max(0, try database.approximateCount() - 1)
    }

    func deleteRange(from lower: [UInt8], to upper: [UInt8]) throws {
        let range = (lower: StoreKeyBytes(lower), upper: StoreKeyBytes(upper))
        guard range.lower < range.upper else { return }
        for key in pendingOrder.keys(from: lower, before: upper, among: pending.keys) { pending[key] = nil }
        pendingOrder.reset()
        deletedRanges.append(range)
    }

    /// Whether a range deleted since the last commit holds `key` (compared as bytes: no
    /// dictionary key, whose hash would be computed for nothing, per key read or scanned).
    private func isDeleted(_ key: [UInt8]) -> Bool {
        deletedRanges.contains { StoreKeyBytes.compare(key, $0.lower.bytes) >= 0 && StoreKeyBytes.compare(key, $0.upper.bytes) < 0 }
    }

    func storedChangelogOffset() throws -> Int64 {
        guard let bytes = try database.get(Self.offsetKey) else { return -1 }
        return Int64(bigEndianBytes: bytes) ?? -1
    }

    func commit(changelogOffset: Int64?) throws {
        guard !pending.isEmpty || !deletedRanges.isEmpty || changelogOffset != nil else { return }
        let batch = WriteBatch()
        for range in deletedRanges { batch.deleteRange(from: Self.dataPrefix + range.lower.bytes, to: Self.dataPrefix + range.upper.bytes) }
        // In key order: RocksDB's memtable inserts a batch's keys through one skip-list
        // position it moves forward, so ascending keys each cost a short step, where
        // keys in hash order each cost a search from the top.
        for (key, value) in pending.sorted(by: { $0.key < $1.key }) {
            key.bytes.withUnsafeBytes { key in
                if let value { value.withUnsafeBytes { batch.put(prefix: Self.dataPrefix, key: key, value: $0) } } else { batch.delete(prefix: Self.dataPrefix, key: key) }
            }
        }
        if let changelogOffset { batch.put(Self.offsetKey, changelogOffset.bigEndianBytes) }
        try database.write(batch)
        lastCommitCount = pending.count
        pending.removeAll()
        deletedRanges.removeAll()
        pendingOrder.reset()
    }

    func makeRestoreBatch() -> RestoreBatch { Batch() }

    func restore(_ batch: RestoreBatch, through offset: Int64) throws {
        guard let batch = batch as? Batch else { preconditionFailure("a restore batch of another store") }
        defer { batch.clear() }
        let writes = batch.inKeyOrder()
        writes.put(Self.offsetKey, offset.bigEndianBytes)
        try database.write(writes)
    }

    /// Changelog records copied as they are read, then written into one RocksDB write
    /// batch in key order, under the data prefix. RocksDB's memtable inserts a batch's
    /// ascending keys through one position it moves forward; a window or session
    /// changelog, in time order, has its keys in no order (its restore ran at half the
    /// speed of a key-value one before). The sort is stable: a key's later record still wins.
    private final class Batch: RestoreBatch {
        private let writes = WriteBatch()
        private var bytes: [UInt8] = []
        /// Where each record's key starts in `bytes` (its value follows), and the sizes;
        /// a value size of -1 is a tombstone.
        private var records: [(start: Int, keyCount: Int, valueCount: Int)] = []

        var count: Int { records.count }

        func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
            records.append((bytes.count, key.count, value?.count ?? -1))
            bytes.append(contentsOf: key)
            if let value { bytes.append(contentsOf: value) }
        }

        /// The write batch of the records, in key order.
        func inKeyOrder() -> WriteBatch {
            // A local copy (no bytes copied): reads of a class's array property from the
            // sort's comparator were each checked for exclusive access at run time.
            let records = records
            return bytes.withUnsafeBytes { raw in
                func key(_ index: Int) -> UnsafeRawBufferPointer {
                    UnsafeRawBufferPointer(rebasing: raw[records[index].start..<(records[index].start + records[index].keyCount)])
                }
                let order = KeyByteOrder.sortedIndices(of: records.indices.map(key))
                for index in order {
                    let record = records[index]
                    if record.valueCount < 0 {
                        writes.delete(prefix: RocksDBBytesStore.dataPrefix, key: key(index))
                    } else {
                        let valueStart = record.start + record.keyCount
                        writes.put(
                            prefix: RocksDBBytesStore.dataPrefix, key: key(index),
                            value: UnsafeRawBufferPointer(rebasing: raw[valueStart..<(valueStart + record.valueCount)]))
                    }
                }
                return writes
            }
        }

        func clear() {
            writes.clear()
            bytes.removeAll(keepingCapacity: true)
            records.removeAll(keepingCapacity: true)
        }
    }

    func wipe() throws {
        pending = [:]
        pendingOrder.reset()
        deletedRanges = []
        let batch = WriteBatch()
        batch.deleteRange(from: [0x00], to: [0x02])
        try database.write(batch)
    }

    func close() {
        pending = [:]
        pendingOrder.reset()
        deletedRanges = []
        database.close()
    }

    /// Stored entries overlaid with the pending writes of the keys `select` picks from the
    /// pending ones, in byte order.
    private func merged(
        _ stored: DatabaseIterator, select: (SortedKeyIndex) -> [StoreKeyBytes]
    ) throws -> [(key: [UInt8], value: [UInt8])] {
        var entries = stored.map { (key: Array($0.key.dropFirst()), value: $0.value) }
        try stored.checkStatus()
        if !deletedRanges.isEmpty { entries.removeAll { isDeleted($0.key) } }
        guard !pending.isEmpty else { return entries }
        let keys = select(pendingOrder.index { pending.keys })
        return entries.overlaid(with: keys.map { (key: $0, value: pending[$0] ?? nil) })
    }
}

extension Int64 {
    var bigEndianBytes: [UInt8] { withUnsafeBytes(of: bigEndian) { Array($0) } }

    init?(bigEndianBytes bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        self = bytes.reduce(0) { $0 << 8 | Int64($1) }
    }
}
