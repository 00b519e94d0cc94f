/// The bytes budget that the record caches of one stream thread's stores share
/// (``StreamsConfiguration/recordCacheBytes`` split evenly over the threads).
///
/// Used on its stream thread only.
final class RecordCache {
    let maxBytes: Int
    private(set) var usedBytes = 0

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    var isOverBudget: Bool { usedBytes > maxBytes }

    func charge(_ bytes: Int) { usedBytes += bytes }

    func release(_ bytes: Int) { usedBytes -= bytes }
}
