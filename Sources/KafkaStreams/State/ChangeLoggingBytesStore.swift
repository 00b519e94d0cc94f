/// Sends every write to the store's changelog partition (the task's partition of
/// `<applicationId>-<store>-changelog`) before applying it below.
///
/// A store whose values carry their time (`[time: i64 BE][value]`, an aggregation's)
/// writes Kafka Streams' changelog layout: the value alone, the time as the record's
/// timestamp; its restore puts the time back (``TimestampedBytes``).
final class ChangeLoggingBytesStore: BytesStore {
    private let inner: BytesStore
    private let topic: String
    private let partition: Int32
    private let task: TaskContext
    private let timestampedValues: Bool
    let tracker = ChangelogTracker()

    init(inner: BytesStore, topic: String, partition: Int32, task: TaskContext, timestampedValues: Bool = false) {
        self.inner = inner
        self.topic = topic
        self.partition = partition
        self.task = task
        self.timestampedValues = timestampedValues
    }

    func get(_ key: [UInt8]) throws -> [UInt8]? { try inner.get(key) }

    func put(_ key: [UInt8], _ value: [UInt8]?) throws {
        // The change carries the time of the record that caused it (or stream time
        // inside a punctuation), as in Kafka Streams.
        let timestamp = task.currentRecord?.timestamp ?? max(task.streamTime, 0)
        if timestampedValues, let value, let split = TimestampedBytes.split(value) {
            try task.collector.sendChange(
                topic: topic, partition: partition, key: key, value: Array(split.value), timestamp: split.timestamp, tracker: tracker)
        } else {
            try task.collector.sendChange(topic: topic, partition: partition, key: key, value: value, timestamp: timestamp, tracker: tracker)
        }
        try inner.put(key, value)
    }

    func range(from lower: [UInt8]?, to upper: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        try inner.range(from: lower, to: upper)
    }

    func prefixScan(_ prefix: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] { try inner.prefixScan(prefix) }

    func approximateCount() throws -> Int { try inner.approximateCount() }

    func deleteRange(from lower: [UInt8], to upper: [UInt8]) throws { try inner.deleteRange(from: lower, to: upper) }
}
