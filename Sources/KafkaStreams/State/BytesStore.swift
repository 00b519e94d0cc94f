/// A store of bytes: the layers under the typed view (change-logging, RocksDB, memory).
/// Used on one stream thread, except where a layer says otherwise.
@usableFromInline
protocol BytesStore: AnyObject {
    func get(_ key: [UInt8]) throws -> [UInt8]?
    /// `nil` deletes.
    func put(_ key: [UInt8], _ value: [UInt8]?) throws
    /// Entries with `lower <= key <= upper` (`nil`: unbounded), in byte order.
    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])]
    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])]
    func approximateCount() throws -> Int
    /// Deletes every entry with `lower <= key < upper` at once: what a window store's
    /// retention no longer keeps. No layer sends it to the changelog, whose topic's own
    /// retention drops the same records; a restore brings them back until the store's
    /// owner deletes the range again.
    func deleteRange(from lower: [UInt8], to upper: [UInt8]) throws
}

/// The bottom layer: where the bytes live, and the changelog offset they are complete up to.
protocol RootBytesStore: BytesStore {
    /// Whether the store keeps its data (and changelog offset) across restarts.
    var isPersistent: Bool { get }
    /// The changelog offset of the last change the store holds, or -1 (restore fully).
    func storedChangelogOffset() throws -> Int64
    /// Makes the writes since the last commit durable together with `changelogOffset`
    /// (`nil`: keep the stored one), atomically.
    func commit(changelogOffset: Int64?) throws
    /// An empty batch of changelog records for ``restore(_:through:)``.
    func makeRestoreBatch() -> RestoreBatch
    /// Applies changelog records read during a restore, with the offset of the last one,
    /// atomically, and empties the batch.
    func restore(_ batch: RestoreBatch, through offset: Int64) throws
    /// Drops every entry and the stored offset.
    func wipe() throws
    func close()
}

/// Changelog records on their way into a root store during a restore, copied straight from
/// the reader's buffers into the store's own batch format.
protocol RestoreBatch: AnyObject {
    var count: Int { get }
    /// `value` nil: a tombstone.
    func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?)
}

extension RootBytesStore {
    /// Applies `changes` as one restore batch.
    func restore(_ changes: [(key: [UInt8], value: [UInt8]?)], through offset: Int64) throws {
        let batch = makeRestoreBatch()
        for change in changes {
            change.key.withUnsafeBytes { key in
                if let value = change.value { value.withUnsafeBytes { batch.add(key: key, value: $0) } } else { batch.add(key: key, value: nil) }
            }
        }
        try restore(batch, through: offset)
    }
}

extension Array where Element == UInt8 {
    func hasBytePrefix(_ prefix: [UInt8]) -> Bool { count >= prefix.count && self[..<prefix.count].elementsEqual(prefix) }
}
