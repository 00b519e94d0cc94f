import CRdKafka
import Synchronization

/// The producer's `rd_kafka_topic_t` per topic name. Producing by name makes librdkafka
/// look the topic up under its client-wide write lock on every record; a cached handle
/// costs one uncontended lock of ours instead.
final class TopicHandleCache: Sendable {
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }
    private struct NamedHandle {
        let name: String
        let handle: Handle
    }
    private struct State {
        var handles: [String: Handle] = [:]
        /// Most records go to the topic of the record before: skip hashing for those.
        var last: NamedHandle?
    }
    private let state = Mutex(State())

    /// The handle for `topic`, created on first use (nil only if librdkafka refuses the name).
    func handle(for topic: String, client: OpaquePointer) -> OpaquePointer? {
        let handle: Handle? = state.withLock { state in
            if let last = state.last, last.name == topic { return last.handle }
            let handle: Handle
            if let cached = state.handles[topic] {
                handle = cached
            } else {
                guard let created = rd_kafka_topic_new(client, topic, nil) else { return nil }
                handle = Handle(pointer: created)
                state.handles[topic] = handle
            }
            state.last = NamedHandle(name: topic, handle: handle)
            return handle
        }
        return handle?.pointer
    }

    /// Releases every handle; call before the client is destroyed.
    func destroyAll() {
        state.withLock { state in
            for handle in state.handles.values { rd_kafka_topic_destroy(handle.pointer) }
            state = State()
        }
    }
}
