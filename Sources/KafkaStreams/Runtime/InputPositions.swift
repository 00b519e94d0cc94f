import Logging
import RdKafka

/// Where the application's consumer group stands on its source partitions, and where the
/// partitions end: what a bounded run and ``StreamsApp/inputLag()`` are measured with.
/// Reads only (it never joins the group nor commits). Blocking: call it on a thread of the
/// runtime's own, one thread at a time.
final class InputPositions: @unchecked Sendable {
    private let reader: any StreamsConsumer
    private let configuration: StreamsConfiguration
    private let logger: Logger
    /// Reads a partition from the group's offset to tell markers from records (below).
    private var probe: (any StreamsConsumer)?
    private let timeout = Duration.seconds(10)

    init(configuration: StreamsConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        // The group's id, for its committed offsets; a reader never subscribes, so never joins.
        reader = try configuration.clients.factory.makeReader(
            configuration: configuration.consumerConfiguration(clientID: "\(configuration.applicationID)-positions"), logger: logger)
    }

    /// Each partition's first offset and end (its last stable offset under exactly-once:
    /// what a `read_committed` member can reach).
    func watermarks(_ partitions: [TopicPartition]) throws -> [TopicPartition: Watermarks] {
        var found: [TopicPartition: Watermarks] = [:]
        for partition in partitions {
            found[partition] = try reader.queryWatermarks(topic: partition.topic, partition: partition.partition, timeout: timeout)
        }
        return found
    }

    /// The offset of the first record at or after `time` in each partition (its end where
    /// none is that late).
    func firstOffsets(atOrAfter time: Int64, _ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        try OffsetsByTime.firstOffsets(atOrAfter: time, in: watermarks(partitions), reader: reader, timeout: timeout)
    }

    /// The group's committed offset of each partition; `nil` where it has committed none.
    func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        var found: [TopicPartition: Int64] = [:]
        for offset in try reader.committed(partitions, timeout: timeout) where offset.offset >= 0 {
            found[offset.topicPartition] = offset.offset
        }
        return found
    }

    /// Which of `partitions` the group has committed with offset metadata `metadata`.
    func committed(_ partitions: [TopicPartition], withMetadata metadata: String) throws -> Set<TopicPartition> {
        guard !partitions.isEmpty else { return [] }
        return Set(try reader.committed(partitions, timeout: timeout).filter { $0.metadata == metadata }.map(\.topicPartition))
    }

    /// The lag of the group on `partitions`, where it starts at each log's beginning.
    func lag(_ partitions: [TopicPartition]) throws -> InputLag {
        let ends = try watermarks(partitions)
        let committed = try committed(partitions)
        return InputLag(partitions: partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.map { partition in
            let marks = ends[partition] ?? Watermarks(low: 0, high: 0)
            return InputLag.Partition(
                topic: partition.topic, partition: partition.partition, committedOffset: committed[partition] ?? marks.low, endOffset: marks.high)
        })
    }

    /// Whether `partition` holds a record at or after `offset`, below `end`. Under
    /// exactly-once a committed transaction ends with a marker, which takes an offset but
    /// is no record: a group done with a partition may sit one or more offsets short of
    /// its end.
    func holdsRecord(_ partition: TopicPartition, from offset: Int64, before end: Int64) throws -> Bool {
        guard offset < end else { return false }
        guard configuration.processingGuarantee == .exactlyOnce else { return true }
        let probe = try self.probe ?? {
            var probeConfiguration = configuration.restoreConsumerConfiguration()
            probeConfiguration.clientID = "\(configuration.applicationID)-drain-probe"
            probeConfiguration["enable.partition.eof"] = "true"
            let made = try configuration.clients.factory.makeReader(configuration: probeConfiguration, logger: logger)
            self.probe = made
            return made
        }()
        try probe.assign([TopicPartitionOffset(partition, offset: offset)])
        defer { try? probe.assign([]) }
        let deadline = ContinuousClock.now + timeout
        var found = false
        var reachedEnd = false
        while !found && !reachedEnd && ContinuousClock.now < deadline {
            _ = try probe.poll(maxRecords: 1, timeout: .milliseconds(100), keeping: { record in
                if record.offset < end { found = true }
                return false
            }, endOfPartition: { if $0 == partition { reachedEnd = true } })
        }
        // Not knowing counts as not drained: the run checks again.
        return found || !reachedEnd
    }

    func close() {
        try? probe?.close()
        try? reader.close()
    }
}
