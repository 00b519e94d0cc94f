/// Hears how stores are rebuilt from their changelogs, e.g. to report readiness. Called on
/// the stream thread doing the restore: keep it quick.
public protocol StateRestoreListener: Sendable {
    /// A restore of `store`'s `partition` starts at `startOffset`; the changelog ends
    /// before `endOffset`.
    func onRestoreStart(store: String, topic: String, partition: Int32, startOffset: Int64, endOffset: Int64)
    /// A batch ending at `batchEndOffset` was applied.
    func onBatchRestored(store: String, topic: String, partition: Int32, batchEndOffset: Int64, records: Int)
    /// The restore finished with `totalRecords` applied.
    func onRestoreEnd(store: String, topic: String, partition: Int32, totalRecords: Int)
}
