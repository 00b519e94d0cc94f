import CRocksDB
import CRocksDBSupport

/// Memory shared by many databases: one LRU block cache and one write-buffer (memtable)
/// budget. Give every store of an application the same instance so memory stays bounded
/// however many stores and partitions it hosts.
public final class RocksDBResources: @unchecked Sendable {
    let cache: OpaquePointer
    let writeBufferManager: UnsafeMutableRawPointer
    public let blockCacheBytes: Int
    public let writeBufferBytes: Int

    /// - Parameters:
    ///   - blockCacheBytes: capacity of the shared block cache.
    ///   - writeBufferBytes: total memtable memory of all databases using these resources;
    ///     reaching it makes the largest memtables flush. Charged to the block cache, so
    ///     `blockCacheBytes` bounds both together.
    public init(blockCacheBytes: Int = 64 << 20, writeBufferBytes: Int = 32 << 20) {
        self.blockCacheBytes = blockCacheBytes
        self.writeBufferBytes = writeBufferBytes
        cache = rocksdb_cache_create_lru(blockCacheBytes)
        writeBufferManager = skr_write_buffer_manager_create(writeBufferBytes, UnsafeMutableRawPointer(cache))
    }

    deinit {
        // Databases hold their own references; these only drop ours.
        skr_write_buffer_manager_destroy(writeBufferManager)
        rocksdb_cache_destroy(cache)
    }

    /// Bytes in the block cache (including memtable charges).
    public var blockCacheUsage: Int { rocksdb_cache_get_usage(cache) }

    /// Bytes held by memtables of all databases using these resources.
    public var writeBufferUsage: Int { skr_write_buffer_manager_memory_usage(writeBufferManager) }

    func apply(to options: OpaquePointer, tableOptions: OpaquePointer) {
        rocksdb_block_based_options_set_block_cache(tableOptions, cache)
        skr_options_set_write_buffer_manager(UnsafeMutableRawPointer(options), writeBufferManager)
    }
}
