import CRocksDB

/// How to open a ``Database``.
public struct DatabaseOptions: Sendable {
    public enum Compression: Sendable {
        case none, lz4, zstd, snappy
    }

    /// Create the database when the directory holds none.
    public var createIfMissing: Bool
    /// Shared block cache and write-buffer budget; `nil` gives the database its own defaults.
    public var resources: RocksDBResources?
    public var compression: Compression
    /// Cap on open table files (`-1`: unlimited).
    public var maxOpenFiles: Int32
    /// `fsync` the write-ahead log on every write. Off: a crash of the machine (not of the
    /// process) may lose the last writes.
    public var syncWrites: Bool
    /// Skip the write-ahead log: writes are lost on a crash until a flush. Useful only
    /// for data that can be rebuilt (e.g. during a restore that records its own position).
    public var disableWriteAheadLog: Bool
    /// Bits per key of the bloom filter in each table file (`0`: none). A read of a key a
    /// file lacks (an aggregation meeting a new key) then mostly skips the file instead of
    /// reading its blocks. Kafka Streams uses 10 bits: about 1% false positives.
    public var bloomFilterBitsPerKey: Double

    public init(
        createIfMissing: Bool = true,
        resources: RocksDBResources? = nil,
        compression: Compression = .lz4,
        maxOpenFiles: Int32 = 1000,
        syncWrites: Bool = false,
        disableWriteAheadLog: Bool = false,
        bloomFilterBitsPerKey: Double = 10
    ) {
        self.createIfMissing = createIfMissing
        self.resources = resources
        self.compression = compression
        self.maxOpenFiles = maxOpenFiles
        self.syncWrites = syncWrites
        self.disableWriteAheadLog = disableWriteAheadLog
        self.bloomFilterBitsPerKey = bloomFilterBitsPerKey
    }

    /// Builds RocksDB's option objects; the caller destroys them after opening.
    func makeNative() -> (options: OpaquePointer, tableOptions: OpaquePointer) {
        let options = rocksdb_options_create()!
        let tableOptions = rocksdb_block_based_options_create()!
        rocksdb_options_set_create_if_missing(options, createIfMissing ? 1 : 0)
        rocksdb_options_set_max_open_files(options, maxOpenFiles)
        let codec: Int32
        switch compression {
        case .none: codec = Int32(rocksdb_no_compression)
        case .lz4: codec = Int32(rocksdb_lz4_compression)
        case .zstd: codec = Int32(rocksdb_zstd_compression)
        case .snappy: codec = Int32(rocksdb_snappy_compression)
        }
        rocksdb_options_set_compression(options, codec)
        if bloomFilterBitsPerKey > 0 {
            // The table options take ownership of the policy.
            rocksdb_block_based_options_set_filter_policy(tableOptions, rocksdb_filterpolicy_create_bloom_full(bloomFilterBitsPerKey))
        }
        resources?.apply(to: options, tableOptions: tableOptions)
        rocksdb_options_set_block_based_table_factory(options, tableOptions)
        return (options, tableOptions)
    }
}
