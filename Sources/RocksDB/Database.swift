import CRocksDB
import Synchronization

/// A RocksDB database: an ordered byte-key/byte-value store in one directory.
///
/// Thread-safe: reads and writes may come from any thread. Every call blocks (disk I/O),
/// so call from threads you own (stream threads), not from Swift's cooperative pool.
/// ``close()`` must not race with other calls on the same instance.
public final class Database: @unchecked Sendable {
    let pointer: OpaquePointer
    public let path: String
    public let options: DatabaseOptions
    private let readOptions: OpaquePointer
    private let writeOptions: OpaquePointer
    private let closed = Atomic<Bool>(false)

    /// Opens (or creates) the database in `path`.
    ///
    /// Throws ``RocksDBError`` of kind `.locked` if another process or handle has it open,
    /// `.corruption` if its files are damaged, `.invalidArgument` if it does not exist
    /// and `createIfMissing` is off.
    public init(path: String, options: DatabaseOptions = DatabaseOptions()) throws(RocksDBError) {
        let native = options.makeNative()
        defer {
            rocksdb_options_destroy(native.options)
            rocksdb_block_based_options_destroy(native.tableOptions)
        }
        pointer = try RocksDBError.check(path: path) { rocksdb_open(native.options, path, $0) }!
        self.path = path
        self.options = options
        readOptions = rocksdb_readoptions_create()
        writeOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(writeOptions, options.syncWrites ? 1 : 0)
        rocksdb_writeoptions_disable_WAL(writeOptions, options.disableWriteAheadLog ? 1 : 0)
    }

    deinit {
        if !closed.load(ordering: .acquiring) { rocksdb_close(pointer) }
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(writeOptions)
    }

    /// Closes the database and releases its lock. Later calls throw `.closed`.
    public func close() {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) { rocksdb_close(pointer) }
    }

    private func checkOpen() throws(RocksDBError) {
        if closed.load(ordering: .relaxed) { throw RocksDBError(kind: .closed, message: "the database is closed", path: path) }
    }

    /// The value stored under `key`, or `nil`.
    public func get(_ key: [UInt8]) throws(RocksDBError) -> [UInt8]? {
        try key.withUnsafeBufferPointer { key throws(RocksDBError) in try get(UnsafeRawBufferPointer(key)) }
    }

    /// The value stored under the key in `key`'s bytes, or `nil`: for keys built in a
    /// caller's buffer.
    public func get(_ key: UnsafeRawBufferPointer) throws(RocksDBError) -> [UInt8]? {
        try checkOpen()
        let slice = try RocksDBError.check(path: path) { error in
            rocksdb_get_pinned(pointer, readOptions, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count, error)
        }
        guard let slice else { return nil }
        defer { rocksdb_pinnableslice_destroy(slice) }
        var length = 0
        guard let value = rocksdb_pinnableslice_value(slice, &length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    public func put(_ key: [UInt8], _ value: [UInt8]) throws(RocksDBError) {
        try checkOpen()
        try key.withUnsafeBufferPointer { k throws(RocksDBError) in
            try value.withUnsafeBufferPointer { v throws(RocksDBError) in
                try RocksDBError.check(path: path) { error in
                    k.withMemoryRebound(to: CChar.self) { k in
                        v.withMemoryRebound(to: CChar.self) { v in
                            rocksdb_put(pointer, writeOptions, k.baseAddress, k.count, v.baseAddress, v.count, error)
                        }
                    }
                }
            }
        }
    }

    public func delete(_ key: [UInt8]) throws(RocksDBError) {
        try checkOpen()
        try key.withUnsafeBufferPointer { k throws(RocksDBError) in
            try RocksDBError.check(path: path) { error in
                k.withMemoryRebound(to: CChar.self) { rocksdb_delete(pointer, writeOptions, $0.baseAddress, $0.count, error) }
            }
        }
    }

    /// Applies a batch atomically.
    public func write(_ batch: WriteBatch) throws(RocksDBError) {
        try checkOpen()
        try RocksDBError.check(path: path) { rocksdb_write(pointer, writeOptions, batch.pointer, $0) }
    }

    /// Iterates `lower..<upper` in key order (`nil`: unbounded on that side).
    public func range(from lower: [UInt8]? = nil, to upper: [UInt8]? = nil) throws(RocksDBError) -> DatabaseIterator {
        try checkOpen()
        return DatabaseIterator(database: self, readOptions: readOptions, lower: lower, upper: upper)
    }

    /// Iterates every key starting with `prefix`, in key order.
    public func prefix(_ prefix: [UInt8]) throws(RocksDBError) -> DatabaseIterator {
        try range(from: prefix, to: Self.successor(of: prefix))
    }

    /// The smallest key greater than every key starting with `prefix` (`nil` if none).
    static func successor(of prefix: [UInt8]) -> [UInt8]? {
        var bound = prefix
        while let last = bound.last {
            if last < 0xFF {
                bound[bound.count - 1] = last + 1
                return bound
            }
            bound.removeLast()
        }
        return nil
    }

    /// Writes memtables to disk files.
    public func flush() throws(RocksDBError) {
        try checkOpen()
        let flushOptions = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(flushOptions) }
        rocksdb_flushoptions_set_wait(flushOptions, 1)
        try RocksDBError.check(path: path) { rocksdb_flush(pointer, flushOptions, $0) }
    }

    /// Compacts every key, so deleted entries and range deletions leave the files.
    /// Blocking, and slow on a large database: for tools and benchmarks.
    public func compactAll() throws(RocksDBError) {
        try checkOpen()
        rocksdb_compact_range(pointer, nil, 0, nil, 0)
    }

    /// RocksDB's estimate of the number of keys (fast; may be off after deletes).
    public func approximateCount() throws(RocksDBError) -> Int {
        try property("rocksdb.estimate-num-keys").flatMap { Int($0) } ?? 0
    }

    /// A RocksDB property, e.g. `rocksdb.cur-size-all-mem-tables`.
    public func property(_ name: String) throws(RocksDBError) -> String? {
        try checkOpen()
        guard let value = rocksdb_property_value(pointer, name) else { return nil }
        defer { rocksdb_free(value) }
        return String(cString: value)
    }

    /// Stops RocksDB's per-operation counters (its perf context) on the calling thread.
    /// They are on by default, and every key comparison of a write or read then updates a
    /// thread-local counter: about a tenth of a restore's time here, for counts this
    /// library never reads. Other threads keep their setting.
    public static func disablePerformanceCountersOnCurrentThread() {
        rocksdb_set_perf_level(Int32(rocksdb_disable))
    }

    /// Deletes a database's files. The database must not be open.
    public static func destroy(path: String) throws(RocksDBError) {
        let options = rocksdb_options_create()
        defer { rocksdb_options_destroy(options) }
        try RocksDBError.check(path: path) { rocksdb_destroy_db(options, path, $0) }
    }
}
