import DequeModule
import RdKafka

/// A record waiting in its task's queue, its event time already taken.
struct QueuedRecord {
    /// The record as polled; its bytes stay valid until its lease is released. Its
    /// `timestamp` is the extracted event time (`timestampExtracted`), unless extraction
    /// failed: the source then meets the failure again when it processes the record, in
    /// offset order, and hands it to the error handler.
    var record: PolledRecord
    /// What orders the record among the task's partitions: its event time, or
    /// `Int64.min` for a record whose time could not be taken (it goes first, and goes
    /// nowhere but to the error handler).
    var orderingTime: Int64
}

/// The records of one input partition of a task, in offset order, with what decides
/// whether the task may go on without this partition (Kafka Streams' `RecordQueue`).
struct RecordQueue {
    let partition: TopicPartition
    /// The task's input (source) this partition feeds.
    let input: Int
    var records = Deque<QueuedRecord>()
    /// The largest event time processed from this partition; never goes back.
    var partitionTime: Int64 = -1
    /// The consumer reported the end of the partition and no record came since: nothing
    /// more is known to be on the broker (KIP-695's zero lag).
    var caughtUp = false
    /// While the queue is empty and caught up: when (wall clock) the task stops waiting
    /// for it.
    var idleDeadline: Int64?
    /// Whether the consumer was asked to stop fetching this partition (its queue is full).
    var paused = false

    init(partition: TopicPartition, input: Int) {
        self.partition = partition
        self.input = input
    }

    var headOrderingTime: Int64? { records.first?.orderingTime }
}
