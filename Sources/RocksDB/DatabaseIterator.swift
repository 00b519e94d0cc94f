import CRocksDB

/// Walks a key range of a ``Database`` in key order, over a consistent snapshot taken
/// when it was created. Not thread-safe; keep it on one thread.
///
/// ```swift
/// for (key, value) in try database.prefix(Array("user:".utf8)) { ... }
/// ```
public final class DatabaseIterator: Sequence, IteratorProtocol {
    public typealias Element = (key: [UInt8], value: [UInt8])

    private let database: Database  // keeps the database open while iterating
    private let iterator: OpaquePointer
    private let ownReadOptions: OpaquePointer?
    private let upperBound: UnsafeMutableBufferPointer<CChar>?
    private var started = false
    private let lower: [UInt8]?

    init(database: Database, readOptions: OpaquePointer, lower: [UInt8]?, upper: [UInt8]?) {
        self.database = database
        self.lower = lower
        if let upper {
            // RocksDB keeps a pointer to the bound: it must live as long as the iterator.
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: Swift.max(upper.count, 1))
            for (index, byte) in upper.enumerated() { buffer[index] = CChar(bitPattern: byte) }
            let options = rocksdb_readoptions_create()!
            rocksdb_readoptions_set_iterate_upper_bound(options, buffer.baseAddress, upper.count)
            upperBound = buffer
            ownReadOptions = options
            iterator = rocksdb_create_iterator(database.pointer, options)
        } else {
            upperBound = nil
            ownReadOptions = nil
            iterator = rocksdb_create_iterator(database.pointer, readOptions)
        }
    }

    deinit {
        rocksdb_iter_destroy(iterator)
        if let ownReadOptions { rocksdb_readoptions_destroy(ownReadOptions) }
        upperBound?.deallocate()
    }

    public func next() -> Element? {
        if started {
            rocksdb_iter_next(iterator)
        } else {
            started = true
            if let lower {
                lower.withUnsafeBufferPointer { l in
                    l.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
                }
            } else {
                rocksdb_iter_seek_to_first(iterator)
            }
        }
        guard rocksdb_iter_valid(iterator) != 0 else { return nil }
        var keyLength = 0
        var valueLength = 0
        let key = rocksdb_iter_key(iterator, &keyLength)
        let value = rocksdb_iter_value(iterator, &valueLength)
        return (Array(UnsafeRawBufferPointer(start: key, count: keyLength)),
                Array(UnsafeRawBufferPointer(start: value, count: valueLength)))
    }

    /// The error that ended the iteration early, if any (e.g. corruption).
    public func checkStatus() throws(RocksDBError) {
        try RocksDBError.check(path: database.path) { rocksdb_iter_get_error(iterator, $0) }
    }
}
