import Logging
import RdKafka

// The seam between the runtime and Kafka. Stream threads, the store restorer and topic
// preparation reach a cluster only through these protocols, so the same runtime runs on
// librdkafka (`RdKafkaClientFactory`) and on the simulated cluster of
// `KafkaStreamsTesting`, whose transactions behave as Kafka's do (the embedded mock
// broker's do not). Every method may block: call them from a thread of your own.

/// Creates the clients of one application.
package protocol ClientFactory: Sendable {
    /// A member of the group `configuration.groupID`; `onRebalance` runs inside `poll`, on
    /// the polling thread, before partitions change hands.
    func makeGroupConsumer(
        configuration: KafkaConfiguration, logger: Logger, onRebalance: @escaping (RebalanceEvent) -> Void
    ) throws -> any StreamsConsumer
    /// A reader of partitions assigned by hand, outside any group (restores).
    func makeReader(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsConsumer
    func makeProducer(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsProducer
    /// `configuration.transactionalID` must be set.
    func makeTransactionalProducer(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsTransactionalProducer
    func makeAdmin(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsAdmin
    /// Milliseconds since the epoch on the cluster's clock: what commit intervals and
    /// wall-clock punctuations are measured on.
    func currentTimeMilliseconds() -> Int64
    /// Called at runtime steps that touch no client (store checkpoints), so a simulated
    /// cluster can crash the application there too.
    func crashPoint(_ step: String) throws
}

/// An input record as read: lent to a ``StreamsConsumer/poll(maxRecords:timeout:_:)``
/// callback, which hands it on to a task as it is. The key and value bytes are valid only
/// until the callback returns.
@usableFromInline
package struct PolledRecord {
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    @usableFromInline package var timestamp: Int64
    @usableFromInline package var key: UnsafeRawBufferPointer?
    @usableFromInline package var value: UnsafeRawBufferPointer?
    @usableFromInline package var headers: [KafkaHeader]
    /// Names the record to ``StreamsConsumer/release(_:)`` when a `keeping` poll kept it.
    package var lease: UInt
    /// Whether `timestamp` is already the source's extracted event time (a queued record's
    /// is extracted when it is queued), rather than the time the record was written with.
    @usableFromInline package var timestampExtracted = false

    package init(
        topic: String, partition: Int32, offset: Int64, timestamp: Int64, key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?, headers: [KafkaHeader], lease: UInt = 0
    ) {
        self.lease = lease
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    @usableFromInline var coordinates: SourceCoordinates { SourceCoordinates(topic: topic, partition: partition, offset: offset) }

    /// The record's metadata, with the time it was written with.
    @usableFromInline var metadata: RecordContext {
        RecordContext(topic: topic, partition: partition, offset: offset, timestamp: timestamp, headers: headers)
    }
}

/// Lends optional bytes as an optional buffer (`nil` stays `nil`: a null key or a
/// tombstone), for ``StreamsProducer/send(topic:partition:key:value:headers:timestamp:onDelivery:)``.
package func withBytes<T>(of bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}

/// Which generation of its group a consumer belongs to: sent with offsets to a
/// transaction, so the group coordinator can refuse the offsets of a member that was
/// replaced (a zombie).
package struct GroupMetadata: Sendable {
    package var groupID: String
    package var generationID: Int32
    package var memberID: String
    /// librdkafka's own form of the same metadata, when the consumer is librdkafka's.
    package var native: ConsumerGroupMetadata?

    package init(groupID: String, generationID: Int32, memberID: String, native: ConsumerGroupMetadata? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.native = native
    }
}

/// A consumer: a group member or a manual reader. Used by one thread at a time.
package protocol StreamsConsumer: AnyObject {
    func subscribe(_ topics: [String]) throws
    /// Reads exactly these partitions from these offsets; an empty list clears the assignment.
    func assign(_ partitions: [TopicPartitionOffset]) throws
    /// Lends up to `maxRecords` fetched records to `body`; rebalance events are delivered
    /// here too. A record for which `body` returns true is kept: its bytes stay valid until
    /// its ``PolledRecord/lease`` is given to ``release(_:)``, which must happen before the
    /// consumer closes. `endOfPartition` hears each partition read to its end (nothing more
    /// to fetch for now). Returns the number of records handed out.
    func poll(
        maxRecords: Int, timeout: Duration, keeping body: (PolledRecord) throws -> Bool, endOfPartition: (TopicPartition) -> Void
    ) throws -> Int
    /// Ends the leases of kept records.
    func release(_ leases: [UInt])
    /// Stops handing out records of these partitions (their position is kept).
    func pause(_ partitions: [TopicPartition]) throws
    func resume(_ partitions: [TopicPartition]) throws
    /// Commits offsets outside any transaction (at-least-once).
    func commit(_ offsets: [TopicPartitionOffset]) throws
    /// The group's committed offsets (``KafkaOffset/invalid`` where none).
    func committed(_ partitions: [TopicPartition], timeout: Duration) throws -> [TopicPartitionOffset]
    func seek(_ offsets: [TopicPartitionOffset], timeout: Duration) throws
    func position(_ partitions: [TopicPartition]) throws -> [TopicPartitionOffset]
    /// The partition's first offset and, for a `read_committed` reader, its last stable
    /// offset (the high watermark otherwise).
    func queryWatermarks(topic: String, partition: Int32, timeout: Duration) throws -> Watermarks
    /// The partition's end as the last fetch saw it, with no call to the broker; `nil`
    /// when not known yet.
    func cachedEndOffset(_ partition: TopicPartition) -> Int64?
    /// For each partition, the first offset at or after the time given as its offset, or
    /// ``KafkaOffset/end`` where none is that late (or the client cannot tell: see
    /// ``OffsetsByTime``).
    func offsetsForTimes(_ times: [TopicPartitionOffset], timeout: Duration) throws -> [TopicPartitionOffset]
    func groupMetadata() throws -> GroupMetadata
    /// Leaves the group (revoking partitions through the rebalance handler).
    func close() throws
}

extension StreamsConsumer {
    /// Unknown, for consumers that keep no fetched ends (the simulated cluster's).
    package func cachedEndOffset(_ partition: TopicPartition) -> Int64? { nil }

    /// Unknown for consumers that cannot ask (the simulated cluster's): ``OffsetsByTime``
    /// reads the partitions instead.
    package func offsetsForTimes(_ times: [TopicPartitionOffset], timeout: Duration) throws -> [TopicPartitionOffset] {
        times.map { TopicPartitionOffset($0.topicPartition, offset: KafkaOffset.end) }
    }

    /// Lends up to `maxRecords` fetched records to `body`, keeping none.
    package func poll(maxRecords: Int, timeout: Duration, _ body: (PolledRecord) throws -> Void) throws -> Int {
        try poll(maxRecords: maxRecords, timeout: timeout, keeping: { record in
            try body(record)
            return false
        }, endOfPartition: { _ in })
    }
}

/// A producer. Used by one thread at a time; delivery callbacks may run on another.
package protocol StreamsProducer: AnyObject {
    /// Queues a record (bytes copied before this returns); `onDelivery` hears its outcome.
    func send(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [KafkaHeader],
        timestamp: Int64, onDelivery: (@Sendable (DeliveryResult) -> Void)?
    ) throws
    /// Queues a record whose outcome only moves `watermark` (a store's changelog record).
    func send(
        topic: String, partition: Int32, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, timestamp: Int64,
        acknowledging watermark: DeliveryWatermark
    ) throws
    /// Waits until every queued record is acknowledged or failed.
    func flush(timeout: Duration) throws
    /// Records queued and not yet acknowledged.
    var outstandingCount: Int { get }
    /// Records that failed (with or without a callback of their own) since the producer started.
    var deliveryFailureCount: Int { get }
    func takeFirstDeliveryFailure() -> KafkaError?
    /// Stops the producer; `timeout` zero drops what is queued (a crash).
    func close(timeout: Duration)
}

/// A producer writing in Kafka transactions (KIP-98). Thrown ``KafkaError``s are
/// classified: abortable (abort, carry on) or fatal (fenced: make a new producer).
package protocol StreamsTransactionalProducer: StreamsProducer {
    /// Registers the transactional id: aborts its open transaction and fences older
    /// producers with the same id.
    func initTransactions(timeout: Duration) throws
    func beginTransaction() throws
    /// Adds consumed offsets to the transaction: committed if and only if it commits.
    func sendOffsets(_ offsets: [TopicPartitionOffset], groupMetadata: GroupMetadata, timeout: Duration) throws
    func commitTransaction(timeout: Duration) throws
    func abortTransaction(timeout: Duration) throws
}

/// What topic preparation needs from an admin client.
package protocol StreamsAdmin: AnyObject {
    /// Every topic the cluster has, with its partition count.
    func partitionCounts(timeout: Duration) throws -> [String: Int]
    func createTopic(_ topic: NewTopic, timeout: Duration) throws
    func close()
}

/// A copy of a record's key and value bytes that outlives a poll callback, for clients
/// without librdkafka's messages to keep (the simulated cluster, the test driver).
/// ``free()`` it once the record's lease is released.
package struct KeptBytes {
    package let key: UnsafeRawBufferPointer?
    package let value: UnsafeRawBufferPointer?

    package init(key: [UInt8]?, value: [UInt8]?) {
        self.key = Self.copy(key)
        self.value = Self.copy(value)
    }

    package func free() {
        key?.deallocate()
        value?.deallocate()
    }

    private static func copy(_ bytes: [UInt8]?) -> UnsafeRawBufferPointer? {
        guard let bytes else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }
}

extension StreamsProducer {
    /// Through a callback per record, for producers without a cheaper way.
    package func send(
        topic: String, partition: Int32, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, timestamp: Int64,
        acknowledging watermark: DeliveryWatermark
    ) throws {
        try send(topic: topic, partition: partition, key: key, value: value, headers: [], timestamp: timestamp) { result in
            switch result {
            case .success(let metadata): watermark.acknowledged(metadata.offset)
            case .failure(let error): watermark.failed(error)
            }
        }
    }
}
