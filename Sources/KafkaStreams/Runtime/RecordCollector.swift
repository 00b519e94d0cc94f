/// Where sinks (and dead-letter writes) send serialized records: the producer in an
/// application, an in-memory list in the test driver.
@usableFromInline
protocol RecordCollector: AnyObject {
    /// Queues a record; `source` gives the input it was derived from, for error reports
    /// (a closure, so the common case, no error, never builds it). Throws a
    /// ``ProductionError`` when the record is refused at once and the production handler
    /// says `.fail`.
    func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: () -> SourceCoordinates?
    ) throws

    /// Queues a state store change for its changelog partition (`value` nil: a
    /// tombstone). `tracker` learns the record's offset once it is acknowledged, or that
    /// it failed.
    /// Queues a record for partition `partition` of `topic` (`nil`: by key, as
    /// ``send(topic:key:value:headers:timestamp:source:)``).
    func send(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: () -> SourceCoordinates?
    ) throws

    func sendChange(
        topic: String, partition: Int32, key: [UInt8], value: [UInt8]?, timestamp: Int64, tracker: ChangelogTracker
    ) throws
}

extension RecordCollector {
    /// A collector whose topics have one partition each (the test driver's) ignores it.
    @usableFromInline
    func send(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: () -> SourceCoordinates?
    ) throws {
        try send(topic: topic, key: key, value: value, headers: headers, timestamp: timestamp, source: source)
    }
}
