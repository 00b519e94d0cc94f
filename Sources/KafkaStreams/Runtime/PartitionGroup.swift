import RdKafka

/// The input queues of a task that reads several partitions (a merge of topics, a join):
/// decides which buffered record is processed next (the smallest event time among the
/// partitions' head records; within a partition, offset order) and whether the task may
/// process now or must wait for a partition with nothing buffered (Kafka Streams'
/// `PartitionGroup`, with KIP-695's idling).
///
/// Used on the task's stream thread only. A task with one input partition has no group:
/// it processes each record as it is polled.
final class PartitionGroup {
    // Touched per record, on the task's thread only and never while another access is
    // open: no dynamic exclusivity checks.
    @exclusivity(unchecked) private(set) var queues: [RecordQueue]
    /// How long to wait (wall clock, milliseconds) for a caught-up partition with nothing
    /// buffered before processing without it; `nil`: never wait, not even for a partition
    /// known to have data on the broker.
    let maxTaskIdle: Int64?
    /// Past this many records queued for a partition, the partition is paused.
    let maxBufferedPerPartition: Int
    @exclusivity(unchecked) private(set) var bufferedCount = 0
    /// Queues with no record: the task can go on without waiting only when this is zero.
    @exclusivity(unchecked) private var emptyCount: Int

    init(partitions: [(TopicPartition, input: Int)], maxTaskIdle: Int64?, maxBufferedPerPartition: Int) {
        queues = partitions.map { RecordQueue(partition: $0.0, input: $0.input) }
        emptyCount = queues.count
        self.maxTaskIdle = maxTaskIdle
        self.maxBufferedPerPartition = max(maxBufferedPerPartition, 1)
    }

    /// Queues a record; returns true when its partition should now be paused (its queue
    /// passed the bound).
    func add(_ record: QueuedRecord, to index: Int) -> Bool {
        if queues[index].records.isEmpty { emptyCount -= 1 }
        queues[index].records.append(record)
        queues[index].caughtUp = false
        queues[index].idleDeadline = nil
        bufferedCount += 1
        guard !queues[index].paused, queues[index].records.count > maxBufferedPerPartition else { return false }
        queues[index].paused = true
        return true
    }

    /// Every partition has a record buffered: the task may process without asking the clock.
    var allBuffered: Bool { emptyCount == 0 }

    /// The consumer read `index`'s partition to its end: once its queue drains, nothing
    /// more is known to be on the broker (a record that comes later clears this again).
    func reachedEnd(_ index: Int) {
        queues[index].caughtUp = true
    }

    enum Readiness {
        /// Every partition has data, or waiting is off.
        case ready
        /// Some partition has none, and waiting for it is over: processing goes on without it.
        case enforced
        case waiting
    }

    /// Whether the task may process its next record at wall-clock time `now`.
    func readiness(now: Int64) -> Readiness {
        if emptyCount == 0 { return .ready }
        guard bufferedCount > 0 else { return .waiting }
        guard let maxTaskIdle else { return .ready }
        var enforced = false
        for index in queues.indices where queues[index].records.isEmpty {
            // A partition that may still have data on the broker is always waited for.
            guard queues[index].caughtUp else {
                queues[index].idleDeadline = nil
                return .waiting
            }
            let deadline = queues[index].idleDeadline ?? now + maxTaskIdle
            queues[index].idleDeadline = deadline
            if now < deadline { return .waiting }
            enforced = true
        }
        return enforced ? .enforced : .ready
    }

    /// Takes the buffered record with the smallest ordering time (the first partition on a
    /// tie) and moves its partition's time on.
    func next() -> (record: QueuedRecord, queue: Int)? {
        var chosen: Int?
        var smallest = Int64.max
        for index in queues.indices {
            if let time = queues[index].headOrderingTime, chosen == nil || time < smallest {
                chosen = index
                smallest = time
            }
        }
        guard let chosen, let record = queues[chosen].records.popFirst() else { return nil }
        bufferedCount -= 1
        if queues[chosen].records.isEmpty { emptyCount += 1 }
        if record.orderingTime > queues[chosen].partitionTime { queues[chosen].partitionTime = record.orderingTime }
        return (record, chosen)
    }

    /// Paused partitions whose queues have drained to half the bound: fetching them again
    /// now keeps records coming before the queue runs dry, and the margin keeps a busy
    /// partition from being paused and resumed on every record.
    func takeResumable() -> [TopicPartition] {
        var resumable: [TopicPartition] = []
        for index in queues.indices where queues[index].paused && queues[index].records.count <= maxBufferedPerPartition / 2 {
            queues[index].paused = false
            resumable.append(queues[index].partition)
        }
        return resumable
    }

    /// Empties every queue (the task closes, or rewinds to its last commit): returns the
    /// leases of the dropped records and the partitions that were paused.
    func clear() -> (leases: [UInt], paused: [TopicPartition]) {
        var leases: [UInt] = []
        var paused: [TopicPartition] = []
        for index in queues.indices {
            leases.append(contentsOf: queues[index].records.lazy.map(\.record.lease))
            if queues[index].paused { paused.append(queues[index].partition) }
            queues[index] = RecordQueue(partition: queues[index].partition, input: queues[index].input)
        }
        bufferedCount = 0
        emptyCount = queues.count
        return (leases, paused)
    }
}

/// How a task with several input partitions buffers records and waits for partitions with
/// none (``StreamsConfiguration/maxTaskIdle``, ``StreamsConfiguration/maxBufferedRecordsPerPartition``).
struct QueueSettings {
    var maxTaskIdle: Duration? = .zero
    var maxBufferedPerPartition = 1000
}
