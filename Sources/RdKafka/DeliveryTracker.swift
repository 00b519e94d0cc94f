import CRdKafka
import Logging
import Synchronization

/// A delivery outcome: where the record went, or why it did not get there.
public typealias DeliveryResult = Result<RecordMetadata, KafkaError>

/// Holds the per-record callback passed through librdkafka's message opaque. The callback
/// runs once: from the delivery report, or from a close that gave up waiting for it.
final class DeliveryCallbackBox: Sendable {
    private let callback: @Sendable (DeliveryResult) -> Void
    private let delivered = Atomic<Bool>(false)

    init(_ callback: @escaping @Sendable (DeliveryResult) -> Void) { self.callback = callback }

    func deliver(_ result: DeliveryResult) {
        guard !delivered.exchange(true, ordering: .acquiringAndReleasing) else { return }
        callback(result)
    }
}

/// The async senders waiting for a delivery report, so that closing the producer can
/// resume those whose report librdkafka has not served by then.
final class AwaitingSenders: Sendable {
    private struct State {
        var boxes: [ObjectIdentifier: DeliveryCallbackBox] = [:]
        /// Set by ``failAll(_:)``: a sender arriving later would wait for a report nobody serves.
        var closed = false
    }

    private let state = Mutex(State())

    /// Registers a sender; `false` once the producer has closed.
    func add(_ box: DeliveryCallbackBox) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.boxes[ObjectIdentifier(box)] = box
            return true
        }
    }

    func remove(_ box: DeliveryCallbackBox) { state.withLock { _ = $0.boxes.removeValue(forKey: ObjectIdentifier(box)) } }

    /// Senders registered and not yet answered.
    var count: Int { state.withLock { $0.boxes.count } }

    /// Resumes every waiting sender with `error` and refuses later ones; a report that
    /// comes later is ignored.
    func failAll(_ error: KafkaError) {
        let waiting = state.withLock { state in
            defer { state.boxes = [:]; state.closed = true }
            return Array(state.boxes.values)
        }
        for box in waiting { box.deliver(.failure(error)) }
    }
}

/// Receives delivery reports of records produced without their own callback, and
/// counts failures so a caller can check, after a flush, that everything arrived.
final class DeliveryTracker: Sendable {
    let handler: (@Sendable (DeliveryResult) -> Void)?
    private let failures = Atomic<Int>(0)
    private let firstFailure = Mutex<KafkaError?>(nil)

    init(handler: (@Sendable (DeliveryResult) -> Void)?) { self.handler = handler }

    var failureCount: Int { failures.load(ordering: .acquiring) }

    func takeFirstFailure() -> KafkaError? { firstFailure.withLock { error in defer { error = nil }; return error } }

    /// Counts a failure of any record; hands the result to the producer-wide handler only
    /// for records that had no callback of their own.
    func record(_ result: DeliveryResult, hadOwnCallback: Bool, logger: Logger) {
        if case .failure(let error) = result {
            failures.add(1, ordering: .acquiringAndReleasing)
            firstFailure.withLock { if $0 == nil { $0 = error } }
            if handler == nil && !hadOwnCallback {
                // Purges are what an abort or a close asks for, not a fault.
                let purged = error.code == .purgedFromQueue || error.code == .purgedInFlight
                logger.log(level: purged ? .debug : .error, "delivery failed: \(error)")
            }
        }
        if !hadOwnCallback { handler?(result) }
    }
}

func topicName(of message: UnsafePointer<rd_kafka_message_t>) -> String {
    guard let topic = message.pointee.rkt else { return "" }
    return String(cString: rd_kafka_topic_name(topic))
}

let deliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, opaque in
    guard let message, let opaque else { return }
    let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    let (box, watermark) = message.pointee._private.map(DeliveryOpaque.take) ?? (nil, nil)
    let code = message.pointee.err
    // The hot paths: a successful fire-and-forget record nobody listens for, and a
    // successful record whose partition's watermark is all that is wanted.
    if box == nil && watermark == nil && code == RD_KAFKA_RESP_ERR_NO_ERROR && context.delivery?.handler == nil { return }
    if let watermark, code == RD_KAFKA_RESP_ERR_NO_ERROR {
        watermark.acknowledged(message.pointee.offset)
        return
    }

    let topic = topicName(of: message)
    let result: DeliveryResult
    if code == RD_KAFKA_RESP_ERR_NO_ERROR {
        let timestamp = rd_kafka_message_timestamp(message, nil)
        result = .success(RecordMetadata(
            topic: topic, partition: message.pointee.partition, offset: message.pointee.offset,
            timestamp: timestamp >= 0 ? timestamp : nil))
    } else {
        result = .failure(KafkaError(code: code, context: "delivery to \(topic) [\(message.pointee.partition)] failed"))
    }
    context.delivery?.record(result, hadOwnCallback: box != nil || watermark != nil, logger: context.logger)
    box?.deliver(result)
    if let watermark, case .failure(let error) = result { watermark.failed(error) }
}
