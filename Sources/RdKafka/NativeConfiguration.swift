import CRdKafka

/// An `rd_kafka_conf_t` filled from a ``KafkaConfiguration``. Ownership passes to
/// `rd_kafka_new` on success; otherwise call ``destroy()``.
struct NativeConfiguration {
    let pointer: OpaquePointer

    init(_ configuration: KafkaConfiguration) throws(KafkaError) {
        pointer = rd_kafka_conf_new()
        // Sorted so that the first bad key reported is the same on every run.
        for key in configuration.properties.keys.sorted() {
            let value = configuration.properties[key]!
            do {
                try Self.set(key, value, on: pointer)
            } catch {
                rd_kafka_conf_destroy(pointer)
                throw KafkaError.configuration(key: key, message: configuration.redactingSecrets(in: error.message))
            }
        }
    }

    func destroy() {
        rd_kafka_conf_destroy(pointer)
    }

    static func set(_ key: String, _ value: String, on pointer: OpaquePointer) throws(KafkaError) {
        var buffer = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, key, value, &buffer, buffer.count)
        guard result != RD_KAFKA_CONF_OK else { return }
        throw KafkaError(code: .invalidArgument, message: String(cStringBuffer: buffer), classification: .permanent)
    }
}
