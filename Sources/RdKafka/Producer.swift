import CRdKafka
import Foundation
import Logging

/// A Kafka producer (optionally idempotent) over librdkafka.
///
/// Records are queued locally and sent in batches by librdkafka's threads; a polling
/// thread owned by the producer serves delivery reports. The producer is thread-safe.
///
/// ```swift
/// let producer = try Producer(configuration: config, logger: logger)
/// let metadata = try await producer.send(ProducerRecord(topic: "events", value: Array("hi".utf8)))
/// ```
public final class Producer: Sendable {
    let handle: KafkaHandle
    private let tracker: DeliveryTracker
    private let poller: PollingThread
    /// ``send(_:)`` calls waiting for their delivery report.
    private let awaitingSenders = AwaitingSenders()
    private let topics = TopicHandleCache()
    let logger: Logger

    /// Creates a producer.
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties; `bootstrap.servers` at least.
    ///   - logger: receives librdkafka's log lines and client errors.
    ///   - deliveryReports: called (on the polling thread, up to 2 ms after the broker's
    ///     answer) with the outcome of every record produced without a callback of its own.
    ///   - onError: called with client-level errors (all brokers down, fatal errors, ...).
    public init(
        configuration: KafkaConfiguration,
        logger: Logger,
        deliveryReports: (@Sendable (DeliveryResult) -> Void)? = nil,
        onError: (@Sendable (KafkaError) -> Void)? = nil
    ) throws(KafkaError) {
        let tracker = DeliveryTracker(handler: deliveryReports)
        let context = ClientContext(logger: logger, errorHandler: onError, delivery: tracker)
        let handle = try KafkaHandle(kind: RD_KAFKA_PRODUCER, configuration: configuration, context: context) {
            rd_kafka_conf_set_dr_msg_cb($0, deliveryCallback)
        }
        self.handle = handle
        self.tracker = tracker
        self.logger = logger
        self.poller = PollingThread(name: clientThreadName(client: handle.name, role: "poll")) {
            // Reports arrive per produce response, many per millisecond under load: after
            // serving some, let more gather for a moment instead of waking for each batch,
            // whose context switches cost the producing threads on a busy machine.
            if rd_kafka_poll(handle.pointer, 100) > 0 { Thread.sleep(forTimeInterval: Producer.reportGatheringPause) }
        }
    }

    deinit {
        shutDown(timeout: .zero, final: true)
    }

    /// How long the polling thread waits after serving delivery reports, so the next turn
    /// serves many at once: the most a report (and ``send(_:)``) is delayed beyond the
    /// broker's acknowledgement. ``flush(timeout:)`` serves reports itself, undelayed.
    static let reportGatheringPause: TimeInterval = 0.002

    /// Queues a record for delivery. Blocks the calling thread while librdkafka's local
    /// queue is full (`queue.buffering.max.messages`), so call it from a thread of your
    /// own (a stream thread), not from Swift's cooperative pool; use ``send(_:)`` there.
    ///
    /// - Parameter onDelivery: called once on the producer's polling thread with the
    ///   record's outcome. Without it the outcome goes to the producer's `deliveryReports`
    ///   handler, and failures are counted in ``deliveryFailureCount``.
    public func produce(
        _ record: ProducerRecord,
        onDelivery: (@Sendable (DeliveryResult) -> Void)? = nil
    ) throws(KafkaError) {
        try submit(to: record.topic, onDelivery: onDelivery) { opaque in
            enqueue(record, opaque: opaque, blockWhenFull: true)
        }
    }

    /// Queues a record whose key and value are borrowed bytes (copied before this returns),
    /// e.g. straight from an ``UnsafeConsumerMessage``. `nil` is a null key or a
    /// tombstone; an empty buffer is an empty payload. Blocks while the local queue is
    /// full, like ``produce(_:onDelivery:)``.
    public func produce(
        topic: String,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil,
        onDelivery: (@Sendable (DeliveryResult) -> Void)? = nil
    ) throws(KafkaError) {
        try submit(to: topic, onDelivery: onDelivery) { opaque in
            enqueue(
                topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp,
                opaque: opaque, blockWhenFull: true)
        }
    }

    /// Queues a record like ``produce(topic:partition:key:value:headers:timestamp:onDelivery:)``,
    /// whose outcome only moves `watermark` (the highest acknowledged offset, the first
    /// failure): the cheap way to send a store's changelog. Failures also count in
    /// ``deliveryFailureCount``.
    public func produce(
        topic: String,
        partition: Int32,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil,
        acknowledging watermark: DeliveryWatermark
    ) throws(KafkaError) {
        let opaque = DeliveryOpaque.watermark(watermark)
        let code = enqueue(
            topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, opaque: opaque, blockWhenFull: true)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            _ = DeliveryOpaque.take(opaque)
            throw KafkaError(code: code, handle: handle.pointer, context: "cannot produce to \(topic)")
        }
    }

    /// Passes the delivery callback (if any) through librdkafka's message opaque and
    /// takes it back when the record was not queued.
    private func submit(
        to topic: String,
        onDelivery: (@Sendable (DeliveryResult) -> Void)?,
        _ enqueue: (UnsafeMutableRawPointer?) -> rd_kafka_resp_err_t
    ) throws(KafkaError) {
        let box = onDelivery.map { Unmanaged.passRetained(DeliveryCallbackBox($0)) }
        let code = enqueue(box?.toOpaque())
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            box?.release()
            throw KafkaError(code: code, handle: handle.pointer, context: "cannot produce to \(topic)")
        }
    }

    /// Sends a record and waits for the broker's acknowledgement without blocking a thread.
    /// The result arrives up to 2 ms after the acknowledgement: the polling thread serves
    /// delivery reports in gathered turns.
    public func send(_ record: ProducerRecord) async throws(KafkaError) -> RecordMetadata {
        while true {
            var registered: DeliveryCallbackBox?
            let outcome: DeliveryResult? = await withCheckedContinuation { continuation in
                let callback = DeliveryCallbackBox { continuation.resume(returning: $0) }
                guard awaitingSenders.add(callback) else {
                    continuation.resume(returning: .failure(KafkaError(
                        code: .destroyed, message: "cannot send to \(record.topic): the producer is closed", classification: .permanent)))
                    return
                }
                registered = callback
                let box = Unmanaged.passRetained(callback)
                let code = enqueue(record, opaque: box.toOpaque(), blockWhenFull: false)
                if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    box.release()
                    continuation.resume(returning: nil)
                } else if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                    box.release()
                    continuation.resume(returning: .failure(KafkaError(
                        code: code, handle: handle.pointer, context: "cannot produce to \(record.topic)")))
                }
            }
            if let registered { awaitingSenders.remove(registered) }
            if let outcome { return try outcome.get() }
            // The local queue is full: give the network threads a moment to drain it.
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Waits until every queued record has been delivered (or has failed) and its delivery
    /// report has been served. Blocks the calling thread.
    public func flush(timeout: Duration) throws(KafkaError) {
        try KafkaError.check(rd_kafka_flush(handle.pointer, timeout.clampedMilliseconds), context: "flush")
    }

    /// Waits until every queued record has been delivered (or has failed), without
    /// blocking a thread.
    public func flush(timeout: Duration) async throws(KafkaError) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while outstandingCount > 0 {
            guard clock.now < deadline else {
                throw KafkaError(code: .timedOut, message: "flush: \(outstandingCount) records still outstanding")
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// The client's name as librdkafka reports it, `<client.id>#producer-<n>`: librdkafka's
    /// log lines carry it, and the client's helper threads are named after it
    /// (`producer<n>:<role>`, e.g. `producer3:poll`).
    public var clientName: String { handle.name }

    /// Records queued or in flight whose delivery reports have not yet been served, plus
    /// client events (errors, logs) not yet served.
    public var outstandingCount: Int { Int(rd_kafka_outq_len(handle.pointer)) }

    /// ``send(_:)`` calls waiting for their delivery report.
    var awaitingSendCount: Int { awaitingSenders.count }

    /// Failed deliveries since the producer was created (records with and without
    /// callbacks of their own).
    public var deliveryFailureCount: Int { tracker.failureCount }

    /// The first delivery failure since the last call, if any; clears it.
    public func takeFirstDeliveryFailure() -> KafkaError? { tracker.takeFirstFailure() }

    /// Flushes for up to `timeout`, then fails whatever is still queued (its callbacks
    /// report a purge error) and stops the polling thread.
    public func close(timeout: Duration = .seconds(10)) {
        shutDown(timeout: timeout, final: false)
    }

    /// - Parameter final: the producer is going away (deinit): stop serving reports even if
    ///   some are still due.
    private func shutDown(timeout: Duration, final: Bool) {
        if timeout > .zero { _ = rd_kafka_flush(handle.pointer, timeout.clampedMilliseconds) }
        if rd_kafka_outq_len(handle.pointer) > 0 {
            let purge = Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            _ = rd_kafka_purge(handle.pointer, purge)
            // Serve the purge reports so no awaiting sender is left hanging.
            _ = rd_kafka_flush(handle.pointer, 1000)
        }
        rd_kafka_yield(handle.pointer)
        // A record in flight to a broker that went away gets its purge report only when
        // librdkafka fails the request, which may be after the flush above gave up (seen
        // here: not within 30 s): until then the polling thread keeps serving reports, and
        // the async senders still waiting get the purge's answer now, as librdkafka would
        // give it (the broker's acknowledgement, if any, is void).
        if final || rd_kafka_outq_len(handle.pointer) == 0 { poller.stop() }
        awaitingSenders.failAll(KafkaError(
            code: .purgedInFlight, message: "the producer closed before the broker acknowledged the record", classification: .permanent))
        topics.destroyAll()
    }

    /// Hands one record to librdkafka. Key, value and headers are copied before it returns.
    func enqueue(_ record: ProducerRecord, opaque: UnsafeMutableRawPointer?, blockWhenFull: Bool) -> rd_kafka_resp_err_t {
        withOptionalBytes(record.key) { key in
            withOptionalBytes(record.value) { value in
                enqueue(
                    topic: record.topic, partition: record.partition, key: key, value: value, headers: record.headers,
                    timestamp: record.timestamp, opaque: opaque, blockWhenFull: blockWhenFull)
            }
        }
    }

    func enqueue(
        topic name: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader], timestamp: Int64?, opaque: UnsafeMutableRawPointer?, blockWhenFull: Bool
    ) -> rd_kafka_resp_err_t {
        var flags = RD_KAFKA_MSG_F_COPY
        if blockWhenFull { flags |= RD_KAFKA_MSG_F_BLOCK }
        guard let topic = topics.handle(for: name, client: handle.pointer) else { return rd_kafka_last_error() }
        return withNonNullIfEmpty(key) { key in
            withNonNullIfEmpty(value) { value in
                withHeaderArena(headers) { headerPointers in
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7 + headers.count) { fields in
                        var index = 0
                        func append(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                            var field = rd_kafka_vu_t()
                            field.vtype = type
                            fill(&field)
                            fields[index] = field
                            index += 1
                        }
                        append(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = topic }
                        append(RD_KAFKA_VTYPE_KEY) { $0.u.mem = .init(ptr: key.pointer, size: key.count) }
                        append(RD_KAFKA_VTYPE_VALUE) { $0.u.mem = .init(ptr: value.pointer, size: value.count) }
                        append(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = flags }
                        append(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque }
                        if let partition { append(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
                        if let timestamp { append(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestamp } }
                        for header in headerPointers {
                            append(RD_KAFKA_VTYPE_HEADER) {
                                $0.u.header = .init(name: header.name, val: header.value, size: header.size)
                            }
                        }
                        guard let error = rd_kafka_produceva(handle.pointer, fields.baseAddress, index) else {
                            return RD_KAFKA_RESP_ERR_NO_ERROR
                        }
                        let code = rd_kafka_error_code(error)
                        rd_kafka_error_destroy(error)
                        return code
                    }
                }
            }
        }
    }
}

/// Calls `body` with the bytes of `bytes`, or `nil` for `nil`.
func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// A payload as librdkafka wants it: NULL means null, so an empty (non-nil) buffer must
/// still get a valid pointer, or librdkafka would write a null payload instead.
struct PayloadPointer {
    let pointer: UnsafeMutableRawPointer?
    let count: Int
}

func withNonNullIfEmpty<R>(_ bytes: UnsafeRawBufferPointer?, _ body: (PayloadPointer) -> R) -> R {
    guard let bytes else { return body(PayloadPointer(pointer: nil, count: 0)) }
    if let base = bytes.baseAddress { return body(PayloadPointer(pointer: UnsafeMutableRawPointer(mutating: base), count: bytes.count)) }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { body(PayloadPointer(pointer: UnsafeMutableRawPointer($0.baseAddress), count: 0)) }
}

struct HeaderPointers {
    let name: UnsafePointer<CChar>
    let value: UnsafeRawPointer?
    let size: Int
}

/// Lays all header names (NUL-terminated) and values out in one buffer, so any number of
/// headers costs one allocation, and calls `body` with pointers into it.
func withHeaderArena<R>(_ headers: [KafkaHeader], _ body: ([HeaderPointers]) -> R) -> R {
    if headers.isEmpty { return body([]) }
    var arena: [UInt8] = []
    var layout: [(name: Int, value: Int?, size: Int)] = []
    for header in headers {
        let nameOffset = arena.count
        arena.append(contentsOf: header.key.utf8)
        arena.append(0)
        if let value = header.value {
            layout.append((nameOffset, arena.count, value.count))
            arena.append(contentsOf: value)
        } else {
            layout.append((nameOffset, nil, -1))
        }
    }
    return arena.withUnsafeBufferPointer { buffer in
        let base = UnsafeRawPointer(buffer.baseAddress!)
        return body(layout.map { entry in
            HeaderPointers(
                name: base.advanced(by: entry.name).assumingMemoryBound(to: CChar.self),
                value: entry.value.map { base.advanced(by: $0) },
                size: entry.size)
        })
    }
}
