import CRdKafka

/// Owns one `rd_kafka_t` and the retained callback context behind its opaque pointer.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    let context: ClientContext
    private let retainedContext: Unmanaged<ClientContext>

    /// - Parameter configure: sets client-specific callbacks on the native configuration.
    init(
        kind: rd_kafka_type_t,
        configuration: KafkaConfiguration,
        context: ClientContext,
        configure: (OpaquePointer) throws(KafkaError) -> Void = { _ in }
    ) throws(KafkaError) {
        let native = try NativeConfiguration(configuration)
        let retained = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(native.pointer, retained.toOpaque())
        rd_kafka_conf_set_log_cb(native.pointer, logCallback)
        rd_kafka_conf_set_error_cb(native.pointer, errorCallback)
        do {
            try configure(native.pointer)
        } catch {
            native.destroy()
            retained.release()
            throw error
        }
        var buffer = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind, native.pointer, &buffer, buffer.count) else {
            native.destroy()
            retained.release()
            let message = configuration.redactingSecrets(in: String(cStringBuffer: buffer))
            throw KafkaError(code: .invalidArgument, message: "cannot create client: \(message)", classification: .permanent)
        }
        self.pointer = handle
        self.context = context
        self.retainedContext = retained
    }

    deinit {
        rd_kafka_destroy(pointer)
        retainedContext.release()
    }

    /// The client's name as librdkafka reports it, e.g. `rdkafka#producer-1`.
    var name: String { String(cString: rd_kafka_name(pointer)) }
}
