/// The bytes budget that the record caches of one stream thread's stores share
/// (``StreamsConfiguration/recordCacheBytes`` split evenly over the threads).
///
/// Used on its stream thread only.
final class RecordCache {
    let maxBytes: Int
    /// Whether the windowed aggregations hold their latest updates above their stores'
    /// caches (``HeldWindowUpdates``, a session store's latest sessions), as they do unless
    /// a test compares them with the updates made through the cache.
    let holdsUpdatesAbove: Bool
    private(set) var usedBytes = 0

    init(maxBytes: Int, holdsUpdatesAbove: Bool = true) {
        self.maxBytes = maxBytes
        self.holdsUpdatesAbove = holdsUpdatesAbove
    }

    var isOverBudget: Bool { usedBytes > maxBytes }

    func charge(_ bytes: Int) { usedBytes += bytes }

    func release(_ bytes: Int) { usedBytes -= bytes }
}
