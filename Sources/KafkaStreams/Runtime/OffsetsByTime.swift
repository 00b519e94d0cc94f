import RdKafka

/// The offset of the first record at or after a time, per partition (Kafka's
/// offsets-for-times), where a bounded run ends and where a reset to a date goes.
///
/// The broker's answer is taken when it names an offset. When it says no record is that
/// late, the partition's last records are read to confirm it: librdkafka's mock cluster
/// says so for every time, and then the partition is read from its start until a record
/// that late (a scan the embedded broker's small partitions afford).
enum OffsetsByTime {
    /// - Parameter marks: each partition's first offset and end.
    static func firstOffsets(
        atOrAfter time: Int64, in marks: [TopicPartition: Watermarks], reader: any StreamsConsumer, timeout: Duration
    ) throws -> [TopicPartition: Int64] {
        let partitions = marks.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        var answers: [TopicPartition: Int64] = [:]
        for answer in try reader.offsetsForTimes(partitions.map { TopicPartitionOffset($0, offset: time) }, timeout: timeout) {
            answers[answer.topicPartition] = answer.offset
        }
        var found: [TopicPartition: Int64] = [:]
        for partition in partitions {
            let bounds = marks[partition]!
            if let answer = answers[partition], answer >= 0 {
                found[partition] = min(max(answer, bounds.low), bounds.high)
                continue
            }
            // No record that late, says the broker: the last records confirm it.
            let tail = Watermarks(low: max(bounds.low, bounds.high - 16), high: bounds.high)
            var latest = Int64.min
            try read(partition, within: tail, reader: reader, timeout: timeout) { record in
                latest = max(latest, record.timestamp)
                return true
            }
            guard latest >= time else {
                found[partition] = bounds.high
                continue
            }
            var first = bounds.high
            try read(partition, within: bounds, reader: reader, timeout: timeout) { record in
                guard record.timestamp >= time else { return true }
                first = record.offset
                return false
            }
            found[partition] = first
        }
        return found
    }

    /// Reads `partition` from `marks.low` to its end (or `marks.high`), while `body` returns
    /// true. The reader must report ends of partitions (`enable.partition.eof`): under
    /// exactly-once the last offsets may be transaction markers, which no record reaches.
    static func read(
        _ partition: TopicPartition, within marks: Watermarks, reader: any StreamsConsumer, timeout: Duration,
        _ body: (PolledRecord) throws -> Bool
    ) throws {
        guard marks.low < marks.high else { return }
        try reader.assign([TopicPartitionOffset(partition, offset: marks.low)])
        defer { try? reader.assign([]) }
        let deadline = ContinuousClock.now + timeout
        var reading = true
        while reading {
            guard ContinuousClock.now < deadline else {
                throw StreamsError(.kafka, "reading \(partition) to offset \(marks.high) took longer than \(timeout)")
            }
            _ = try reader.poll(maxRecords: 1_000, timeout: .milliseconds(100), keeping: { record in
                guard reading, record.topic == partition.topic, record.partition == partition.partition else { return false }
                if record.offset >= marks.high {
                    reading = false
                } else if try !body(record) {
                    reading = false
                }
                return false
            }, endOfPartition: { if $0 == partition { reading = false } })
        }
    }
}
