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

    /// Puts `prefix + key` → `value` without building the joined key: for keys kept under a
    /// namespace prefix, written straight from borrowed buffers.
    public func put(prefix: [UInt8], key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        withKeyParts(prefix, key) { keys, keySizes in
            var valuePointer: UnsafePointer<CChar>? = value.baseAddress?.assumingMemoryBound(to: CChar.self)
            var valueSize = value.count
            rocksdb_writebatch_putv(pointer, 2, keys, keySizes, 1, &valuePointer, &valueSize)
        }
    }

    /// Deletes `prefix + key` without building the joined key.
    public func delete(prefix: [UInt8], key: UnsafeRawBufferPointer) {
        withKeyParts(prefix, key) { keys, keySizes in
            rocksdb_writebatch_deletev(pointer, 2, keys, keySizes)
        }
    }

    private func withKeyParts(
        _ prefix: [UInt8], _ key: UnsafeRawBufferPointer,
        _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Void
    ) {
        prefix.withUnsafeBytes { prefix in
            var parts: (UnsafePointer<CChar>?, UnsafePointer<CChar>?) = (
                prefix.baseAddress?.assumingMemoryBound(to: CChar.self), key.baseAddress?.assumingMemoryBound(to: CChar.self)
            )
            var sizes = (prefix.count, key.count)
            withUnsafePointer(to: &parts) { parts in
                parts.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: 2) { parts in
                    withUnsafePointer(to: &sizes) { sizes in
                        sizes.withMemoryRebound(to: Int.self, capacity: 2) { body(parts, $0) }
                    }
                }
            }
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
