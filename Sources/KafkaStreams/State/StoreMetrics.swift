import Metrics

/// Counts a store's operations, as seen by processors and queries (Kafka Streams' metered
/// layer): `kafka_streams_store_operations_total` with dimensions `application_id`,
/// `task`, `store` and `operation` (`get`, `put`, `delete`, `scan`).
struct StoreMetrics {
    let gets: Counter
    let puts: Counter
    let deletes: Counter
    let scans: Counter

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
}
