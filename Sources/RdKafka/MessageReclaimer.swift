import CRdKafka
import Foundation

/// Destroys a consumer's polled messages on a thread of its own, so the polling thread
/// never waits for them.
///
/// A fetched message is allocated by librdkafka's broker thread, in that thread's malloc
/// arena; freeing it from the polling thread takes that arena's lock, which the broker
/// thread holds while it allocates the next fetch's messages. Measured on a stream
/// thread: about 10,000 sleeps on that lock per million records while the consumer was
/// fetching. Here the waits fall on this thread, and the polling thread hands over a
/// whole poll's messages with one lock.
final class MessageReclaimer: @unchecked Sendable {
    // All state below is guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [UnsafeMutablePointer<rd_kafka_message_t>] = []
    private var destroying = false
    private var stopping = false
    private var finished = false
    /// Messages keep their fetch buffers alive: past this many waiting, the caller
    /// destroys its own, so a starved reclaimer cannot let memory grow without bound.
    static let maxPending = 16_384

    init(name: String) {
        startThread(named: name) { [self] in run() }
    }

    /// Hands messages over for destruction; they must not be used afterwards.
    func retire(_ messages: [UnsafeMutablePointer<rd_kafka_message_t>]) {
        guard !messages.isEmpty else { return }
        condition.lock()
        guard pending.count < Self.maxPending else {
            condition.unlock()
            for message in messages { rd_kafka_message_destroy(message) }
            return
        }
        pending.append(contentsOf: messages)
        condition.signal()
        condition.unlock()
    }

    /// Blocks until every message retired so far is destroyed: librdkafka must not close
    /// or destroy a consumer while messages of it are alive.
    func drain() {
        condition.lock()
        while !pending.isEmpty || destroying { condition.wait() }
        condition.unlock()
    }

    /// Destroys what is pending, then ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty { break }
            var batch: [UnsafeMutablePointer<rd_kafka_message_t>] = []
            swap(&batch, &pending)
            destroying = true
            condition.unlock()
            for message in batch { rd_kafka_message_destroy(message) }
            condition.lock()
            destroying = false
            condition.broadcast()
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
