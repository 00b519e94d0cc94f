import Metrics
import RdKafka

/// The swift-metrics instruments of one stream thread, dimensioned by application and
/// thread. Counters are bumped once per poll batch, not per record.
struct StreamsMetrics {
    let consumed: Counter
    let processed: Counter
    let produced: Counter
    let skipped: Counter
    /// Changelog records applied by restores.
    let restored: Counter
    let pollLatency: Timer
    let processLatency: Timer
    let commitLatency: Timer
    /// Records processed without waiting any longer for an empty input partition.
    let enforcedProcessing: Counter
    /// Records dropped because all their windows had closed.
    let droppedLate: Counter
    /// Records dropped as repeats by a deduplication.
    let droppedDuplicates: Counter
    /// Tasks this thread created (restored and ready to process) and closed.
    let tasksCreated: Counter
    let tasksClosed: Counter

    private let dimensions: [(String, String)]

    /// The records of `partition` not processed yet: its end as last fetched, less the
    /// offset after the last record processed (Kafka's consumer `records-lag`).
    func lag(of partition: TopicPartition) -> Gauge {
        Gauge(label: "kafka_streams_records_lag", dimensions: dimensions + [("topic", partition.topic), ("partition", "\(partition.partition)")])
    }

    init(applicationID: String, thread: String) {
        let dimensions = [("application_id", applicationID), ("thread", thread)]
        self.dimensions = dimensions
        consumed = Counter(label: "kafka_streams_records_consumed_total", dimensions: dimensions)
        processed = Counter(label: "kafka_streams_records_processed_total", dimensions: dimensions)
        produced = Counter(label: "kafka_streams_records_produced_total", dimensions: dimensions)
        skipped = Counter(label: "kafka_streams_records_skipped_total", dimensions: dimensions)
        restored = Counter(label: "kafka_streams_restore_records_total", dimensions: dimensions)
        pollLatency = Timer(label: "kafka_streams_poll_latency", dimensions: dimensions)
        processLatency = Timer(label: "kafka_streams_process_latency", dimensions: dimensions)
        commitLatency = Timer(label: "kafka_streams_commit_latency", dimensions: dimensions)
        enforcedProcessing = Counter(label: "kafka_streams_enforced_processing_total", dimensions: dimensions)
        droppedLate = Counter(label: "kafka_streams_dropped_records_total", dimensions: dimensions + [("reason", "late")])
        droppedDuplicates = Counter(label: "kafka_streams_dropped_records_total", dimensions: dimensions + [("reason", "duplicate")])
        tasksCreated = Counter(label: "kafka_streams_tasks_created_total", dimensions: dimensions)
        tasksClosed = Counter(label: "kafka_streams_tasks_closed_total", dimensions: dimensions)
    }
}

/// The instruments of one task: how late its records were (stream time − record time),
/// as Kafka Streams' `record-lateness-avg` and `-max`, over each poll's records; how long
/// its punctuations took.
struct TaskMetrics {
    let latenessAverage: Gauge
    let latenessMaximum: Gauge
    let punctuateLatency: Timer

    init(applicationID: String, thread: String, task: TaskID) {
        let dimensions = [("application_id", applicationID), ("thread", thread), ("task", "\(task)")]
        latenessAverage = Gauge(label: "kafka_streams_record_lateness_avg_ms", dimensions: dimensions)
        latenessMaximum = Gauge(label: "kafka_streams_record_lateness_max_ms", dimensions: dimensions)
        punctuateLatency = Timer(label: "kafka_streams_punctuate_latency", dimensions: dimensions)
    }
}

extension Timer {
    func record(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
