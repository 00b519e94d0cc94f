import Metrics

/// Counts a store's operations, as seen by processors and queries (Kafka Streams' metered
/// layer): `kafka_streams_store_operations_total` with dimensions `application_id`,
/// `task`, `store` and `operation` (`get`, `put`, `delete`, `scan`); and, for a store with
/// a record cache, its reads the cache answered and those it passed below
/// (`kafka_streams_record_cache_hits_total` and `_misses_total`: Kafka Streams' cache
/// `hit-ratio` is hits over both).
///
/// A class whose counting methods are called, not inlined, from the specialized store
/// code: applications need not see the metrics API.
///
/// The stream thread's own operations (writes, and the reads of read-modify-writes: one of
/// each per window update) are counted in plain integers and handed to the counters in
/// batches, every ``publishEvery`` operations and at each commit: a counter's increment,
/// a call through its handler, cost a windowed update more than its own bookkeeping.
/// Reads and scans, which queries make from any thread, go to the counters at once.
@usableFromInline
final class StoreMetrics {
    private let gets: Counter
    private let puts: Counter
    private let deletes: Counter
    private let scans: Counter
    private let cacheHits: Counter?
    private let cacheMisses: Counter?
    // The stream thread's counts not yet published. Only it counts them and publishes.
    @exclusivity(unchecked) private var streamThreadGets = 0
    @exclusivity(unchecked) private var streamThreadPuts = 0
    @exclusivity(unchecked) private var streamThreadDeletes = 0
    @exclusivity(unchecked) private var streamThreadHits = 0
    @exclusivity(unchecked) private var streamThreadMisses = 0
    @exclusivity(unchecked) private var unpublished = 0

    /// How many stream-thread operations may wait for the counters, at most.
    static let publishEvery = 1024

    init(applicationID: String, task: TaskID, store: String, cached: Bool = false) {
        let dimensions = [("application_id", applicationID), ("task", "\(task)"), ("store", store)]
        func counter(_ operation: String) -> Counter {
            Counter(label: "kafka_streams_store_operations_total", dimensions: dimensions + [("operation", operation)])
        }
        gets = counter("get")
        puts = counter("put")
        deletes = counter("delete")
        scans = counter("scan")
        cacheHits = cached ? Counter(label: "kafka_streams_record_cache_hits_total", dimensions: dimensions) : nil
        cacheMisses = cached ? Counter(label: "kafka_streams_record_cache_misses_total", dimensions: dimensions) : nil
    }

    /// A read from any thread (a query's, or a processor's `get`).
    @usableFromInline func countGet() { gets.increment() }
    @usableFromInline func countScan() { scans.increment() }

    /// The read of a read-modify-write, on the stream thread.
    @usableFromInline func countUpdateRead() {
        streamThreadGets += 1
        noteStreamThreadOperation()
    }

    /// The cache lookup of a read-modify-write, on the stream thread.
    @usableFromInline func countCacheLookup(hit: Bool) {
        if hit { streamThreadHits += 1 } else { streamThreadMisses += 1 }
        // Published with the read it belongs to (counted just before).
        unpublished += 1
    }

    /// A read through the cache from any thread (a query's, or a processor's `get`).
    @usableFromInline func countCacheRead(hit: Bool) { (hit ? cacheHits : cacheMisses)?.increment() }

    /// A read-modify-write on the stream thread, in one call: its read and whether the
    /// cache held the key (`nil`: nothing was read, the key being new), then its write.
    @usableFromInline func countUpdate(cacheHit: Bool?) {
        if let cacheHit {
            countUpdateRead()
            countCacheLookup(hit: cacheHit)
        }
        countPut()
    }

    /// A write, on the stream thread (the only writer).
    @usableFromInline func countPut() {
        streamThreadPuts += 1
        noteStreamThreadOperation()
    }

    /// A delete, on the stream thread.
    @usableFromInline func countDelete() {
        streamThreadDeletes += 1
        noteStreamThreadOperation()
    }

    private func noteStreamThreadOperation() {
        unpublished += 1
        if unpublished >= Self.publishEvery { publish() }
    }

    /// Hands the stream thread's counts to the counters; called by the stream thread (at
    /// each commit).
    func publish() {
        guard unpublished > 0 else { return }
        if streamThreadGets > 0 { gets.increment(by: streamThreadGets) }
        if streamThreadPuts > 0 { puts.increment(by: streamThreadPuts) }
        if streamThreadDeletes > 0 { deletes.increment(by: streamThreadDeletes) }
        if streamThreadHits > 0 { cacheHits?.increment(by: streamThreadHits) }
        if streamThreadMisses > 0 { cacheMisses?.increment(by: streamThreadMisses) }
        (streamThreadGets, streamThreadPuts, streamThreadDeletes, unpublished) = (0, 0, 0, 0)
        (streamThreadHits, streamThreadMisses) = (0, 0)
    }
}
