import Metrics

/// Counts a store's operations, as seen by processors and queries (Kafka Streams' metered
/// layer): `kafka_streams_store_operations_total` with dimensions `application_id`,
/// `task`, `store` and `operation` (`get`, `put`, `delete`, `scan`).
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
    // The stream thread's counts not yet published. Only it counts them and publishes.
    @exclusivity(unchecked) private var streamThreadGets = 0
    @exclusivity(unchecked) private var streamThreadPuts = 0
    @exclusivity(unchecked) private var streamThreadDeletes = 0
    @exclusivity(unchecked) private var unpublished = 0

    /// How many stream-thread operations may wait for the counters, at most.
    static let publishEvery = 1024

    init(applicationID: String, task: TaskID, store: String) {
        func counter(_ operation: String) -> Counter {
            Counter(
                label: "kafka_streams_store_operations_total",
                dimensions: [("application_id", applicationID), ("task", "\(task)"), ("store", store), ("operation", operation)])
        }
        gets = counter("get")
        puts = counter("put")
        deletes = counter("delete")
        scans = counter("scan")
    }

    /// A read from any thread (a query's, or a processor's `get`).
    @usableFromInline func countGet() { gets.increment() }
    @usableFromInline func countScan() { scans.increment() }

    /// The read of a read-modify-write, on the stream thread.
    @usableFromInline func countUpdateRead() {
        streamThreadGets += 1
        noteStreamThreadOperation()
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
        (streamThreadGets, streamThreadPuts, streamThreadDeletes, unpublished) = (0, 0, 0, 0)
    }
}
