import CRdKafka
import Logging
import Synchronization

/// A Kafka consumer over librdkafka: a group member (``subscribe(_:)``) or a manual
/// reader (``assign(_:)``, e.g. to restore state from a changelog).
///
/// The `poll` methods block the calling thread for up to their timeout and are meant to
/// be called from one thread the application owns (a stream thread). Rebalance events and
/// client errors are delivered on that thread, inside `poll`. The `async` variants run the
/// same calls on a thread the consumer owns. Polled messages are released on another thread
/// of the consumer's, after each `poll` returns, so the polling thread never waits on the
/// memory allocator's lock that librdkafka's fetching thread holds (see `MessageReclaimer`);
/// ``close()`` waits for them.
public final class Consumer: Sendable {
    let handle: KafkaHandle
    private let worker: DedicatedThread
    private let reclaimer: MessageReclaimer
    private let closed = Atomic<Bool>(false)
    /// Whether ``subscribe(_:)`` made this consumer a group member.
    private let subscribed = Atomic<Bool>(false)
    /// Messages `poll` handed out and the caller kept (not yet released).
    private let keptCount = Atomic<Int>(0)
    /// An error met while a batch already held records; thrown by the next poll.
    private let deferredError = Mutex<KafkaError?>(nil)

    /// Creates a consumer.
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties; `bootstrap.servers`, and `group.id` for
    ///     group membership.
    ///   - logger: receives librdkafka's log lines and client errors.
    ///   - rebalanceHandler: runs synchronously inside librdkafka's rebalance callback,
    ///     for eager and cooperative protocols alike; on `.revoked`, commit what was
    ///     processed (``commit(_:)``) before returning.
    ///   - onError: called with client-level errors.
    public init(
        configuration: KafkaConfiguration,
        logger: Logger,
        rebalanceHandler: (@Sendable (RebalanceEvent, Consumer) -> Void)? = nil,
        onError: (@Sendable (KafkaError) -> Void)? = nil
    ) throws(KafkaError) {
        let context = ClientContext(logger: logger, errorHandler: onError, rebalanceHandler: rebalanceHandler)
        let hasGroup = configuration.groupID != nil
        var configuration = configuration
        if !hasGroup {
            // librdkafka 2.0 refuses `assign` without a group; a private one that never
            // joins or commits makes manual readers (restore consumers) work.
            configuration.groupID = "manual-reader-\(UInt64.random(in: 0...UInt64.max))"
            configuration.enableAutoCommit = false
        }
        let handle = try KafkaHandle(kind: RD_KAFKA_CONSUMER, configuration: configuration, context: context) {
            if hasGroup { rd_kafka_conf_set_rebalance_cb($0, rebalanceCallback) }
            rd_kafka_conf_set_offset_commit_cb($0, offsetCommitCallback)
        }
        // Serve errors, logs and rebalances from the consumer queue, i.e. inside poll.
        rd_kafka_poll_set_consumer(handle.pointer)
        self.handle = handle
        self.worker = DedicatedThread(name: clientThreadName(client: handle.name, role: "work"))
        self.reclaimer = MessageReclaimer(name: clientThreadName(client: handle.name, role: "free"))
        context.consumer = self
    }

    deinit {
        reclaimer.stop()
        if !closed.load(ordering: .acquiring) { _ = rd_kafka_consumer_close(handle.pointer) }
        worker.stop()
    }

    // MARK: Membership and assignment

    /// Joins the group (`group.id`) and follows these topics.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = NativePartitionList(topics.map { TopicPartition(topic: $0, partition: Int32(RD_KAFKA_PARTITION_UA)) })
        try KafkaError.check(rd_kafka_subscribe(handle.pointer, list.pointer), context: "subscribe to \(topics)")
        subscribed.store(true, ordering: .releasing)
    }

    /// Leaves the subscription (partitions are revoked through the rebalance handler).
    public func unsubscribe() throws(KafkaError) {
        try KafkaError.check(rd_kafka_unsubscribe(handle.pointer), context: "unsubscribe")
    }

    /// Reads exactly these partitions from these offsets, outside any group rebalancing.
    /// An empty list clears the assignment.
    public func assign(_ partitions: [TopicPartitionOffset]) throws(KafkaError) {
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_assign(handle.pointer, partitions.isEmpty ? nil : list.pointer), context: "assign")
    }

    /// The partitions currently assigned.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try KafkaError.check(rd_kafka_assignment(handle.pointer, &list), context: "assignment")
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return readOffsets(list).map(\.topicPartition)
    }

    /// The client's name as librdkafka reports it, `<client.id>#consumer-<n>`: librdkafka's
    /// log lines carry it, and the client's helper threads are named after it
    /// (`consumer<n>:<role>`, e.g. `consumer3:work`).
    public var clientName: String { handle.name }

    /// The protocol of the current group generation.
    public var rebalanceProtocol: RebalanceProtocol { currentRebalanceProtocol(handle.pointer) }

    // MARK: Polling

    /// Waits up to `timeout` for one record.
    public func poll(timeout: Duration) throws(KafkaError) -> ConsumerRecord? {
        try poll(maxRecords: 1, timeout: timeout).first
    }

    /// Waits up to `timeout` for a first record, then takes whatever else is already
    /// fetched, up to `maxRecords`, without waiting.
    ///
    /// Throws consumer errors (unknown topic, authorization, fatal errors); an error
    /// met after some records were read is thrown by the next call instead, so no record
    /// is dropped.
    public func poll(maxRecords: Int, timeout: Duration) throws(KafkaError) -> [ConsumerRecord] {
        var records: [ConsumerRecord] = []
        records.reserveCapacity(min(maxRecords, 4096))
        do {
            _ = try poll(maxRecords: maxRecords, timeout: timeout) { message in records.append(message.copy()) }
        } catch let error as KafkaError {
            throw error
        } catch {
            preconditionFailure("the copying body throws nothing: \(error)")
        }
        return records
    }

    /// Like ``poll(maxRecords:timeout:)``, but lends each record to `body` without
    /// copying its key, value or headers: the fastest way to read, for callers that
    /// deserialize or forward the bytes at once.
    ///
    /// - Returns: the number of records handed to `body`.
    /// - Throws: a ``KafkaError`` from the consumer, or whatever `body` throws. The
    ///   consumer's position has then already moved past the record `body` threw for:
    ///   ``seek(_:timeout:)`` back to it to read it again.
    public func poll(
        maxRecords: Int, timeout: Duration, _ body: (UnsafeConsumerMessage) throws -> Void
    ) throws -> Int {
        try poll(maxRecords: maxRecords, timeout: timeout, keeping: { message in
            try body(message)
            return false
        }, endOfPartition: { _, _ in })
    }

    /// Like ``poll(maxRecords:timeout:_:)``, but a message for which `body` returns true
    /// stays alive after `body` returns (its bytes stay valid) until its
    /// ``UnsafeConsumerMessage/token`` is given to ``release(_:)``: how a stream task queues
    /// records without copying them. Every kept message must be released before the
    /// consumer closes. `endOfPartition` hears each partition the consumer has read to its
    /// end (with `enable.partition.eof`).
    package func poll(
        maxRecords: Int, timeout: Duration, keeping body: (UnsafeConsumerMessage) throws -> Bool,
        endOfPartition: (String, Int32) -> Void
    ) throws -> Int {
        if let error = deferredError.withLock({ error in defer { error = nil }; return error }) { throw error }
        var topics = TopicNameCache()
        var wait = timeout.clampedMilliseconds
        var count = 0
        // Destroyed on the reclaimer's thread once the batch is done (see MessageReclaimer).
        var polled: [UnsafeMutablePointer<rd_kafka_message_t>] = []
        polled.reserveCapacity(min(maxRecords, 1024))
        defer { reclaimer.retire(polled) }
        while count < maxRecords {
            guard let message = rd_kafka_consumer_poll(handle.pointer, wait) else { break }
            polled.append(message)
            wait = 0
            let code = message.pointee.err
            if code == RD_KAFKA_RESP_ERR_NO_ERROR {
                if try body(UnsafeConsumerMessage(message, topic: topics.name(of: message.pointee.rkt))) {
                    polled.removeLast()
                    keptCount.add(1, ordering: .relaxed)
                }
                count += 1
            } else if code == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                endOfPartition(topics.name(of: message.pointee.rkt), message.pointee.partition)
            } else {
                let error = consumerError(message)
                if count == 0 { throw error }
                deferredError.withLock { $0 = error }
                break
            }
        }
        return count
    }

    /// Destroys messages kept by ``poll(maxRecords:timeout:keeping:endOfPartition:)``
    /// (on the reclaimer's thread); their tokens must not be used again.
    package func release(_ tokens: [UInt]) {
        guard !tokens.isEmpty else { return }
        keptCount.subtract(tokens.count, ordering: .relaxed)
        reclaimer.retire(tokens.map { UnsafeMutablePointer<rd_kafka_message_t>(bitPattern: $0)! })
    }

    /// Messages kept and not yet released.
    package var keptMessageCount: Int { keptCount.load(ordering: .relaxed) }

    /// ``poll(maxRecords:timeout:)`` on the consumer's own thread.
    public func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumerRecord] {
        try await worker.run { try self.poll(maxRecords: maxRecords, timeout: timeout) }
    }

    private func consumerError(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaError {
        let code = message.pointee.err
        if code == RD_KAFKA_RESP_ERR__FATAL { return KafkaError(code: code, handle: handle.pointer) }
        var text = String(cString: rd_kafka_err2str(code))
        if message.pointee.len > 0, let payload = message.pointee.payload {
            // For error messages librdkafka puts its explanation in the payload.
            text = String(decoding: UnsafeRawBufferPointer(start: payload, count: message.pointee.len), as: UTF8.self)
        }
        var where_ = ""
        if message.pointee.rkt != nil { where_ = " (\(topicName(of: message))[\(message.pointee.partition)])" }
        return KafkaError(code: KafkaErrorCode(code), message: text + where_)
    }

    // MARK: Offsets

    /// Commits offsets synchronously (each the offset of the next record to read).
    /// Safe to call from the rebalance handler.
    public func commit(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = NativePartitionList(offsets)
        try KafkaError.check(rd_kafka_commit(handle.pointer, list.pointer, 0), handle: handle.pointer, context: "commit")
        try list.checkElements(context: "commit")
    }

    /// Commits offsets without waiting; a failure is logged and passed to `onError`.
    public func commitAsync(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = NativePartitionList(offsets)
        try KafkaError.check(rd_kafka_commit(handle.pointer, list.pointer, 1), handle: handle.pointer, context: "commit")
    }

    /// ``commit(_:)`` on the consumer's own thread.
    public func commit(_ offsets: [TopicPartitionOffset]) async throws {
        try await worker.run { try self.commit(offsets) }
    }

    /// The group's committed offsets for these partitions (``KafkaOffset/invalid`` where
    /// nothing was committed).
    public func committed(_ partitions: [TopicPartition], timeout: Duration) throws(KafkaError) -> [TopicPartitionOffset] {
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_committed(handle.pointer, list.pointer, timeout.clampedMilliseconds), context: "committed")
        try list.checkElements(context: "committed")
        return list.offsets
    }

    /// The offsets of the next records this consumer will return for these partitions.
    public func position(_ partitions: [TopicPartition]) throws(KafkaError) -> [TopicPartitionOffset] {
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_position(handle.pointer, list.pointer), context: "position")
        return list.offsets
    }

    /// Moves the read position of assigned partitions.
    public func seek(_ offsets: [TopicPartitionOffset], timeout: Duration) throws(KafkaError) {
        let list = NativePartitionList(offsets)
        try KafkaError.check(rd_kafka_seek_partitions(handle.pointer, list.pointer, timeout.clampedMilliseconds), context: "seek")
        try list.checkElements(context: "seek")
    }

    /// Stops fetching these partitions (their position is kept).
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_pause_partitions(handle.pointer, list.pointer), context: "pause")
        try list.checkElements(context: "pause")
    }

    /// Resumes fetching paused partitions.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = NativePartitionList(partitions)
        try KafkaError.check(rd_kafka_resume_partitions(handle.pointer, list.pointer), context: "resume")
        try list.checkElements(context: "resume")
    }

    /// Asks the partition leader for the current watermarks.
    public func queryWatermarks(topic: String, partition: Int32, timeout: Duration) throws(KafkaError) -> Watermarks {
        var low: Int64 = 0
        var high: Int64 = 0
        try KafkaError.check(
            rd_kafka_query_watermark_offsets(handle.pointer, topic, partition, &low, &high, timeout.clampedMilliseconds),
            context: "watermarks of \(topic)[\(partition)]")
        return Watermarks(low: low, high: high)
    }

    /// For each partition, the offset of its first record whose timestamp is at or after
    /// the given time (milliseconds since the epoch), or ``KafkaOffset/end`` where no record
    /// is that late. Asks the partition leaders (ListOffsets by time); librdkafka's mock
    /// cluster answers ``KafkaOffset/end`` for every time.
    public func offsetsForTimes(_ times: [TopicPartitionOffset], timeout: Duration) throws(KafkaError) -> [TopicPartitionOffset] {
        guard !times.isEmpty else { return [] }
        let list = NativePartitionList(times)
        try KafkaError.check(
            rd_kafka_offsets_for_times(handle.pointer, list.pointer, timeout.clampedMilliseconds), context: "offsets for times")
        try list.checkElements(context: "offsets for times")
        return list.offsets
    }

    /// The watermarks last seen by fetching (no network call; ``KafkaOffset/invalid`` if
    /// not yet known).
    public func cachedWatermarks(topic: String, partition: Int32) throws(KafkaError) -> Watermarks {
        var low: Int64 = 0
        var high: Int64 = 0
        try KafkaError.check(
            rd_kafka_get_watermark_offsets(handle.pointer, topic, partition, &low, &high),
            context: "watermarks of \(topic)[\(partition)]")
        return Watermarks(low: low, high: high)
    }

    /// The group generation this member belongs to, for
    /// ``TransactionalProducer/sendOffsets(_:groupMetadata:timeout:)``.
    public func groupMetadata() throws(KafkaError) -> ConsumerGroupMetadata {
        guard let metadata = rd_kafka_consumer_group_metadata(handle.pointer) else {
            throw KafkaError(code: .state, message: "no group metadata: the consumer has no group.id")
        }
        return ConsumerGroupMetadata(owning: metadata)
    }

    // MARK: Closing

    /// Leaves the group (revoking partitions through the rebalance handler, which can
    /// commit) and stops fetching. The consumer cannot be used afterwards.
    public func close() throws(KafkaError) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // librdkafka waits in close for every message still alive.
        precondition(keptMessageCount == 0, "consumer closed with \(keptMessageCount) kept messages not released")
        worker.stop()
        if subscribed.load(ordering: .acquiring) { leaveGroupBeforeClosing(timeout: .seconds(10)) }
        reclaimer.drain()
        try KafkaError.check(rd_kafka_consumer_close(handle.pointer), handle: handle.pointer, context: "close")
    }

    /// librdkafka 2.0 can wait forever inside `rd_kafka_consumer_close` when the
    /// revocation it runs there calls assign, as a rebalance handler must (librdkafka
    /// #4884 and #4527; seen here when an app stopped while its group rebalanced). So the
    /// consumer leaves the group first and serves the revocation in a poll, as in any other
    /// rebalance; close then finds nothing to revoke. The partitions are paused first, so
    /// the poll hands out no prefetched record (nor stores its offset).
    private func leaveGroupBeforeClosing(timeout: Duration) {
        if let assigned = try? assignment(), !assigned.isEmpty { try? pause(assigned) }
        guard rd_kafka_unsubscribe(handle.pointer) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline, let assigned = try? assignment(), !assigned.isEmpty {
            if let message = rd_kafka_consumer_poll(handle.pointer, 50) { rd_kafka_message_destroy(message) }
        }
    }
}

/// The group generation of a consumer (group id, generation, member id), which a
/// transactional producer sends along with offsets so the broker can fence zombies.
public final class ConsumerGroupMetadata: @unchecked Sendable {
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }

    /// Metadata naming only a group (no generation): the broker cannot fence with it.
    public convenience init(groupID: String) {
        self.init(owning: rd_kafka_consumer_group_metadata_new(groupID))
    }

    deinit { rd_kafka_consumer_group_metadata_destroy(pointer) }
}

/// Avoids building a new `String` for the topic of every record in a batch.
struct TopicNameCache {
    private var lastTopic: OpaquePointer?
    private var lastName = ""

    mutating func name(of topic: OpaquePointer?) -> String {
        guard let topic else { return "" }
        if topic != lastTopic {
            lastTopic = topic
            lastName = String(cString: rd_kafka_topic_name(topic))
        }
        return lastName
    }
}
