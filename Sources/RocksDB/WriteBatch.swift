import CRocksDB

/// Writes applied atomically by ``Database/write(_:)``: all or none.
public final class WriteBatch {
    let pointer: OpaquePointer

    public init() { pointer = rocksdb_writebatch_create() }
    deinit { rocksdb_writebatch_destroy(pointer) }

    public func put(_ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBufferPointer { k in
            value.withUnsafeBufferPointer { v in
                k.withMemoryRebound(to: CChar.self) { k in
                    v.withMemoryRebound(to: CChar.self) { v in
                        rocksdb_writebatch_put(pointer, k.baseAddress, k.count, v.baseAddress, v.count)
                    }
                }
            }
        }
    }

    public func delete(_ key: [UInt8]) {
        key.withUnsafeBufferPointer { k in
            k.withMemoryRebound(to: CChar.self) { rocksdb_writebatch_delete(pointer, $0.baseAddress, $0.count) }
        }
    }

    /// Deletes every key in `lower..<upper`.
    public func deleteRange(from lower: [UInt8], to upper: [UInt8]) {
        lower.withUnsafeBufferPointer { l in
            upper.withUnsafeBufferPointer { u in
                l.withMemoryRebound(to: CChar.self) { l in
                    u.withMemoryRebound(to: CChar.self) { u in
                        rocksdb_writebatch_delete_range(pointer, l.baseAddress, l.count, u.baseAddress, u.count)
                    }
                }
            }
        }
    }

    /// Operations in the batch.
    public var count: Int { Int(rocksdb_writebatch_count(pointer)) }

    public func clear() { rocksdb_writebatch_clear(pointer) }
}
