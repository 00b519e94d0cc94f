import Metrics

/// Counts a store's operations, as seen by processors and queries (Kafka Streams' metered
/// layer): `kafka_streams_store_operations_total` with dimensions `application_id`,
/// `task`, `store` and `operation` (`get`, `put`, `delete`, `scan`).
///
/// A class whose counting methods are called, not inlined, from the specialized store
/// code: applications need not see the metrics API.
@usableFromInline
final class StoreMetrics {
    private let gets: Counter
    private let puts: Counter
    private let deletes: Counter
    private let scans: Counter

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

    @usableFromInline func countGet() { gets.increment() }
    @usableFromInline func countPut() { puts.increment() }
    @usableFromInline func countDelete() { deletes.increment() }
    @usableFromInline func countScan() { scans.increment() }
}
